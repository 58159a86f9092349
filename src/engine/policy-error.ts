/** A policy that does not validate: the CLI exits 2 with this message. */
export class PolicyError extends Error {
  override name = 'PolicyError';
}
