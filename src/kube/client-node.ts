/**
 * The one runtime import of `@kubernetes/client-node`: every value src/ uses from it, named here (types
 * may be imported from the package directly). The build (scripts/bundle-kube-client.mjs) replaces
 * dist/kube/client-node.js with a bundle of just these, tree-shaken from the package's public entry:
 * `KubeConfig` alone imports every generated API and model (936 modules, 21 MB of source kept in the
 * heap), which cost a replica in cluster mode ~28 MB of RSS. From src/ (tests, tsx) it is the package.
 */
export {
  AdmissionregistrationV1Api,
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  ListWatch,
  PatchStrategy,
  VersionApi,
  Watch,
  setHeaderOptions,
} from '@kubernetes/client-node';
