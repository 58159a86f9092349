/**
 * The one runtime import of `@kubernetes/client-node`: its KubeConfig, for the kubeconfigs the own
 * client leaves to it (exec plugins, auth providers, basic auth, proxies; src/kube/kubeconfig.ts),
 * imported only when one is used. Types may be imported from the package directly. The build
 * (scripts/build.mjs) makes this a chunk of its own, holding just what KubeConfig reaches of the
 * package's public entry, which re-exports every generated API and model.
 */
export { KubeConfig } from '@kubernetes/client-node';
