/** The DNS names of a Service inside the cluster, shortest first: what its serving certificate must cover. */
export function serviceHosts(name: string, namespace: string): string[] {
  return [name, `${name}.${namespace}`, `${name}.${namespace}.svc`, `${name}.${namespace}.svc.cluster.local`];
}
