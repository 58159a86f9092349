import { createClients, type KubeClients } from '../kube/client.js';
import { loadApiServerAccess, NoKubeConfigError } from '../kube/kubeconfig.js';
import { InputError } from './input-error.js';

/** API clients from --kubeconfig or the default places; a kubeconfig that is missing or broken is bad input. */
export function kubeClients(kubeconfig: string | undefined, why = ''): KubeClients {
  try {
    return createClients(loadApiServerAccess(kubeconfig));
  } catch (error) {
    if (error instanceof NoKubeConfigError) throw new InputError(`${error.message}${why}`);
    throw new InputError(`cannot load kubeconfig${kubeconfig ? ` ${kubeconfig}` : ''}: ${(error as Error).message}`);
  }
}
