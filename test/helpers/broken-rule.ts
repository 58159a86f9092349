import { isMutatingRule, RULES } from '../../src/rules/index.js';

/** Makes one rule's check (or mutate) throw `failure` until the returned function restores it. */
export function breakRule(id: string, failure: unknown = new Error(`rule ${id} is broken`)): () => void {
  const rule = RULES.find((candidate) => candidate.meta.id === id);
  if (rule === undefined) throw new Error(`no rule ${id}`);
  const key = isMutatingRule(rule) ? 'mutate' : 'check';
  const target = rule as unknown as Record<typeof key, unknown>;
  const original = target[key];
  target[key] = () => {
    throw failure;
  };
  return () => {
    target[key] = original;
  };
}

/** Runs `body` while one rule throws `failure`; the rule is restored afterwards, whatever happens. */
export async function withBrokenRule<T>(id: string, body: () => T | Promise<T>, failure?: unknown): Promise<T> {
  const restore = breakRule(id, failure);
  try {
    return await body();
  } finally {
    restore();
  }
}
