/** Kubernetes label selectors (matchLabels and matchExpressions) and `*`/`?` name patterns. */

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: readonly string[];
}

export interface LabelSelector {
  matchLabels?: Readonly<Record<string, string>>;
  matchExpressions?: readonly LabelSelectorRequirement[];
}

/** True when the labels satisfy every term of the selector (an empty selector matches everything). */
export function matchesSelector(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  const has = (key: string) => Object.hasOwn(labels, key);
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (!has(key) || labels[key] !== value) return false;
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const present = has(key);
    const matched =
      operator === 'Exists'
        ? present
        : operator === 'DoesNotExist'
          ? !present
          : operator === 'In'
            ? present && values.includes(labels[key] ?? '')
            : !present || !values.includes(labels[key] ?? '');
    if (!matched) return false;
  }
  return true;
}

/** `*` matches any run of characters, `?` one character; everything else is literal. */
export function matchesPattern(pattern: string, value: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 's').test(value);
}
