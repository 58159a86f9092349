/** Image references as the container runtime resolves them, with Docker Hub's defaults. */

export const DOCKER_HUB = 'docker.io';
/** Where Docker Hub's registry API answers. */
const DOCKER_HUB_API = 'registry-1.docker.io';

export interface ImageReference {
  /** Registry host[:port] (`docker.io` for Docker Hub). */
  registry: string;
  /** Repository path, `library/` added for Docker Hub's official images. */
  repository: string;
  tag?: string;
  digest?: string;
}

export class ReferenceError extends Error {
  override name = 'ReferenceError';
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/;
const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::\d+)?$/;

/** Parses `name[:tag][@digest]`; a name without a registry is on Docker Hub, a reference without tag or digest means `latest`. */
export function parseReference(image: string): ImageReference {
  const at = image.indexOf('@');
  const digest = at === -1 ? undefined : image.slice(at + 1);
  let name = at === -1 ? image : image.slice(0, at);
  if (digest !== undefined && !DIGEST.test(digest)) throw new ReferenceError(`invalid digest in image "${image}"`);
  let tag: string | undefined;
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/')) {
    tag = name.slice(colon + 1);
    name = name.slice(0, colon);
    if (!TAG.test(tag)) throw new ReferenceError(`invalid tag in image "${image}"`);
  }
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  // The first component is a registry when it looks like a host: a dot, a port, or localhost.
  const hasRegistry = first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['));
  let registry = hasRegistry ? first : DOCKER_HUB;
  let repository = hasRegistry ? name.slice(slash + 1) : name;
  if (hasRegistry && !HOST.test(registry)) throw new ReferenceError(`invalid registry in image "${image}"`);
  if (registry === 'index.docker.io') registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  if (repository === '' || !repository.split('/').every((component) => COMPONENT.test(component))) {
    throw new ReferenceError(`invalid repository in image "${image}" (lowercase letters, digits and separators . _ - /)`);
  }
  return {
    registry,
    repository,
    ...(tag === undefined && digest === undefined ? { tag: 'latest' } : tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  };
}

/** The manifest to ask for: the digest when pinned (a tag beside it is ignored, as the runtime does), else the tag. */
export function manifestReference(reference: ImageReference): string {
  return reference.digest ?? reference.tag ?? 'latest';
}

export function formatReference(reference: ImageReference): string {
  return `${reference.registry}/${reference.repository}${reference.tag === undefined ? '' : `:${reference.tag}`}${reference.digest === undefined ? '' : `@${reference.digest}`}`;
}

/** The host that serves a registry's API. */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
}
