/**
 * The one runtime import of `@kubernetes/client-node`: its KubeConfig, for the kubeconfigs the own
 * client leaves to it (exec plugins, auth providers, basic auth, proxies; src/kube/kubeconfig.ts),
 * imported only when one is used. Types may be imported from the package directly. The build
 * (scripts/bundle-kube-client.mjs) replaces dist/kube/client-node.js with a bundle of just this,
 * tree-shaken from the package's public entry, which re-exports every generated API and model.
 * From src/ (tests, tsx) it is the package.
 */
export { KubeConfig } from '@kubernetes/client-node';
