import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClients, type KubeClients } from '../../src/kube/client.js';
import { apiServerAccess } from '../../src/kube/kubeconfig.js';

/** The clients of an API server played by a plain-HTTP loopback server in the test, without credentials. */
export function loopbackClients(server: Server): KubeClients {
  const { port } = server.address() as AddressInfo;
  return createClients(apiServerAccess({ cluster: { server: `http://127.0.0.1:${port}` }, user: {} }));
}
