import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { parsePolicy } from '../../src/engine/policy-text.js';
import { DEFAULT_POLICY, effectiveMode, policyFromObject, SKIP_ANNOTATION, type Policy } from '../../src/engine/policy.js';
import { PolicyError } from '../../src/engine/policy-error.js';
import { RULE_IDS, RULES, type Rule } from '../../src/rules/index.js';

const DEFAULT_YAML = join(import.meta.dirname, '..', '..', 'policies', 'default.yaml');

function rule(id: string): Rule {
  const found = RULES.find((candidate) => candidate.meta.id === id);
  assert.ok(found, id);
  return found;
}

/** The PolicyError message for a policy value, or fails. */
function errorOf(value: unknown): string {
  try {
    policyFromObject(value, 'policy.yaml');
  } catch (error) {
    assert.ok(error instanceof PolicyError, `expected a PolicyError, got ${String(error)}`);
    return error.message;
  }
  assert.fail(`policy ${JSON.stringify(value)} was accepted`);
}

function parseErrorOf(text: string): string {
  try {
    parsePolicy(text, 'policy.yaml');
  } catch (error) {
    assert.ok(error instanceof PolicyError, `expected a PolicyError, got ${String(error)}`);
    return error.message;
  }
  assert.fail(`policy text ${JSON.stringify(text)} was accepted`);
}

/** The defaults as policies/default.yaml and the README document them, written out independently of the code. */
const DOCUMENTED_DEFAULTS: Policy = {
  mode: 'enforce',
  failureMode: 'allow',
  mutateTemplates: false,
  allowSkipAnnotation: true,
  exclude: { namespaces: ['kube-system', 'kube-public', 'kube-node-lease', 'lifecycle-guard'] },
  scan: { interval: 600_000, reportFormat: 'PolicyReport', pageSize: 500 },
  docsBaseURL: 'https://github.com/lifecycle-guard/lifecycle-guard/blob/main/docs/rules',
  workloadKinds: [],
  exceptions: [],
  rules: {
    'no-shell-entrypoint': {
      shells: ['sh', 'bash', 'ash', 'dash', 'zsh', 'ksh'],
      loneCommandShells: ['bash', 'zsh', 'mksh', 'ksh', 'ksh93', 'ash', 'busybox'],
      includeRunToCompletion: false,
      images: {
        inspect: true,
        timeout: 2000,
        cacheTTL: 300_000,
        platforms: [],
        registries: { mirrors: {}, insecure: [] },
        warnUninspected: false,
        pullSecrets: false,
      },
    },
    'require-readiness-probe': {},
    'distinct-liveness-readiness': {},
    'inject-prestop-delay': { seconds: 5, action: 'auto', shutdownWindowSeconds: 10 },
    'termination-message-fallback': {},
  },
};

describe('policy defaults', () => {
  test('DEFAULT_POLICY holds every documented default', () => {
    assert.deepEqual(DEFAULT_POLICY, DOCUMENTED_DEFAULTS);
    assert.equal(SKIP_ANNOTATION, 'lifecycle-guard.io/skip');
  });

  test('an empty policy, an empty file and a comment-only file are the defaults', () => {
    assert.deepEqual(policyFromObject({}, 'x'), DOCUMENTED_DEFAULTS);
    assert.deepEqual(policyFromObject(null, 'x'), DOCUMENTED_DEFAULTS);
    assert.deepEqual(policyFromObject(undefined, 'x'), DOCUMENTED_DEFAULTS);
    assert.deepEqual(parsePolicy('', 'x'), DOCUMENTED_DEFAULTS);
    assert.deepEqual(parsePolicy('# nothing set\n', 'x'), DOCUMENTED_DEFAULTS);
  });

  test('a rule listed without a value (`require-readiness-probe:`) takes its defaults', () => {
    assert.deepEqual(parsePolicy('rules:\n  require-readiness-probe:\n  inject-prestop-delay:\n', 'x'), DOCUMENTED_DEFAULTS);
  });

  test('policies/default.yaml parses to exactly DEFAULT_POLICY', () => {
    assert.deepEqual(parsePolicy(readFileSync(DEFAULT_YAML, 'utf8'), 'default.yaml'), DEFAULT_POLICY);
  });

  test('policies/default.yaml writes out every key, every rule and every parameter', () => {
    const raw = parse(readFileSync(DEFAULT_YAML, 'utf8')) as Policy;
    assert.deepEqual(Object.keys(raw).sort(), Object.keys(DEFAULT_POLICY).sort());
    // Every rule on by default is written out; an opt-in rule may be documented only in docs/rules/<id>.md.
    const listed = Object.keys(raw.rules);
    assert.deepEqual(
      listed,
      RULE_IDS.filter((id) => listed.includes(id)),
      'in registry order',
    );
    for (const rule of RULES.filter((candidate) => candidate.meta.defaultMode !== 'off'))
      assert.ok(listed.includes(rule.meta.id), rule.meta.id);
    // Durations are text in the file and milliseconds once loaded: compare which keys are written.
    const keysOf = (value: unknown): unknown =>
      typeof value === 'object' && value !== null && !Array.isArray(value)
        ? Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, keysOf(inner)]))
        : true;
    for (const id of listed) assert.deepEqual(keysOf(raw.rules[id]), keysOf(DEFAULT_POLICY.rules[id]), id);
  });
});

describe('partial policies take the defaults for the rest', () => {
  test('only mode', () => {
    assert.deepEqual(parsePolicy('mode: audit\n', 'p'), { ...DEFAULT_POLICY, mode: 'audit' });
  });

  test('one parameter of one rule', () => {
    const policy = parsePolicy('rules:\n  inject-prestop-delay:\n    seconds: 8\n', 'p');
    assert.deepEqual(policy.rules['inject-prestop-delay'], { seconds: 8, action: 'auto', shutdownWindowSeconds: 10 });
    assert.deepEqual(policy.rules['no-shell-entrypoint'], DEFAULT_POLICY.rules['no-shell-entrypoint']);
    assert.equal(policy.mode, 'enforce');
    assert.deepEqual(policy.exclude, DEFAULT_POLICY.exclude);
  });

  test('image durations are read in milliseconds', () => {
    const policy = policyFromObject({ rules: { 'no-shell-entrypoint': { images: { timeout: '500ms', cacheTTL: '1m' } } } }, 'p');
    const images = policy.rules['no-shell-entrypoint']?.images as { timeout: number; cacheTTL: number };
    assert.deepEqual([images.timeout, images.cacheTTL], [500, 60_000]);
  });

  test("a rule's mode only", () => {
    const policy = policyFromObject({ rules: { 'no-shell-entrypoint': { mode: 'audit' } } }, 'p');
    assert.deepEqual(policy.rules['no-shell-entrypoint'], { ...DEFAULT_POLICY.rules['no-shell-entrypoint'], mode: 'audit' });
  });

  test('exclude.namespaces replaces the default list', () => {
    assert.deepEqual(policyFromObject({ exclude: { namespaces: ['batch'] } }, 'p').exclude.namespaces, ['batch']);
    assert.deepEqual(policyFromObject({ exclude: { namespaces: [] } }, 'p').exclude.namespaces, []);
    assert.deepEqual(policyFromObject({ exclude: {} }, 'p').exclude.namespaces, DOCUMENTED_DEFAULTS.exclude.namespaces);
  });

  test('every top-level key can be set', () => {
    const policy = parsePolicy(
      [
        'mode: off',
        'failureMode: deny',
        'mutateTemplates: true',
        'allowSkipAnnotation: false',
        'exclude: {namespaces: [a]}',
        'rules: {}',
      ].join('\n'),
      'p',
    );
    const { mode, failureMode, mutateTemplates, allowSkipAnnotation, exclude, rules } = policy;
    assert.deepEqual(
      { mode, failureMode, mutateTemplates, allowSkipAnnotation, exclude, rules },
      {
        mode: 'off',
        failureMode: 'deny',
        mutateTemplates: true,
        allowSkipAnnotation: false,
        exclude: { namespaces: ['a'] },
        rules: DEFAULT_POLICY.rules,
      },
    );
  });

  test('JSON is YAML', () => {
    assert.equal(
      parsePolicy('{"mode": "audit", "rules": {"inject-prestop-delay": {"action": "exec"}}}', 'p.json').rules['inject-prestop-delay']
        ?.action,
      'exec',
    );
  });
});

describe('invalid policies name the key and what is allowed', () => {
  const cases: [string, unknown, RegExp[]][] = [
    [
      'unknown top-level key',
      { bogus: 1 },
      [/bogus: unknown key \(allowed: [^)]*\bmode, failureMode, mutateTemplates, allowSkipAnnotation, exclude\b[^)]*\brules\b/],
    ],
    ['misspelt top-level key', { exclusions: {} }, [/exclusions: unknown key/]],
    ['bad global mode', { mode: 'block' }, [/mode:/, /"enforce"\|"audit"\|"off"/]],
    ['bad failureMode', { failureMode: 'ignore' }, [/failureMode:/, /"allow"\|"deny"/]],
    ['mutateTemplates not a boolean', { mutateTemplates: 'yes' }, [/mutateTemplates:/, /boolean/]],
    ['allowSkipAnnotation not a boolean', { allowSkipAnnotation: 'no' }, [/allowSkipAnnotation:/, /boolean/]],
    ['unknown rule id', { rules: { 'no-shell': {} } }, [/rules\.no-shell: unknown key/, new RegExp(`allowed: ${RULE_IDS.join(', ')}`)]],
    [
      'unknown rule parameter',
      { rules: { 'inject-prestop-delay': { delay: 5 } } },
      [/rules\.inject-prestop-delay\.delay: unknown key/, /allowed: seconds, action, shutdownWindowSeconds, mode/],
    ],
    [
      'parameter of a rule without parameters',
      { rules: { 'require-readiness-probe': { seconds: 1 } } },
      [/rules\.require-readiness-probe\.seconds: unknown key/, /allowed: mode/],
    ],
    [
      'bad rule mode',
      { rules: { 'require-readiness-probe': { mode: 'on' } } },
      [/rules\.require-readiness-probe\.mode:/, /"enforce"\|"audit"\|"off"/],
    ],
    [
      'bad action',
      { rules: { 'inject-prestop-delay': { action: 'wait' } } },
      [/rules\.inject-prestop-delay\.action:/, /"auto"\|"sleep"\|"exec"/],
    ],
    ['seconds too small', { rules: { 'inject-prestop-delay': { seconds: 0 } } }, [/rules\.inject-prestop-delay\.seconds:/, />=1/]],
    ['seconds too large', { rules: { 'inject-prestop-delay': { seconds: 301 } } }, [/rules\.inject-prestop-delay\.seconds:/, /<=300/]],
    ['seconds not an integer', { rules: { 'inject-prestop-delay': { seconds: 2.5 } } }, [/rules\.inject-prestop-delay\.seconds:/]],
    ['seconds a string', { rules: { 'inject-prestop-delay': { seconds: '5' } } }, [/rules\.inject-prestop-delay\.seconds:/, /number/]],
    [
      'shutdownWindowSeconds too large',
      { rules: { 'inject-prestop-delay': { shutdownWindowSeconds: 3601 } } },
      [/shutdownWindowSeconds:/, /<=3600/],
    ],
    [
      'shell given as a path',
      { rules: { 'no-shell-entrypoint': { shells: ['/bin/sh'] } } },
      [/rules\.no-shell-entrypoint\.shells\.0:/, /bare program name/],
    ],
    ['empty shells list', { rules: { 'no-shell-entrypoint': { shells: [] } } }, [/rules\.no-shell-entrypoint\.shells:/]],
    ['scan interval below a second', { scan: { interval: '500ms' } }, [/scan\.interval: a duration such as 30s/]],
    [
      'unknown key under images',
      { rules: { 'no-shell-entrypoint': { images: { budget: '1s' } } } },
      [
        /rules\.no-shell-entrypoint\.images\.budget: unknown key/,
        /allowed: inspect, timeout, cacheTTL, platforms, registries, warnUninspected, pullSecrets/,
      ],
    ],
    [
      'image timeout longer than a webhook may wait',
      { rules: { 'no-shell-entrypoint': { images: { timeout: '30s' } } } },
      [/images\.timeout: a duration from 100ms to 25s/],
    ],
    ['image timeout not a duration', { rules: { 'no-shell-entrypoint': { images: { timeout: 2 } } } }, [/images\.timeout:/]],
    [
      'platform not linux/arch',
      { rules: { 'no-shell-entrypoint': { images: { platforms: ['amd64'] } } } },
      [/images\.platforms\.0: a platform such as linux\/amd64/],
    ],
    [
      'unknown key under registries',
      { rules: { 'no-shell-entrypoint': { images: { registries: { mirror: {} } } } } },
      [/images\.registries\.mirror: unknown key \(allowed: mirrors, insecure, credentials\)/],
    ],
    [
      'insecure registry with a scheme',
      { rules: { 'no-shell-entrypoint': { images: { registries: { insecure: ['http://r:5000'] } } } } },
      [/images\.registries\.insecure\.0: a registry host/],
    ],
    ['unknown key under exclude', { exclude: { namespace: ['a'] } }, [/exclude\.namespace: unknown key/, /allowed: namespaces/]],
    ['namespaces not a list', { exclude: { namespaces: 'kube-system' } }, [/exclude\.namespaces:/, /array/]],
    ['empty namespace name', { exclude: { namespaces: [''] } }, [/exclude\.namespaces\.0:/]],
    ['a list instead of a mapping', [], [/\(top level\)/]],
  ];
  for (const [name, value, patterns] of cases) {
    test(name, () => {
      const message = errorOf(value);
      assert.match(message, /^invalid policy policy\.yaml: /);
      for (const pattern of patterns) assert.match(message, pattern);
    });
  }

  test('several errors are all reported', () => {
    const message = errorOf({ mode: 'x', bogus: 1, rules: { 'inject-prestop-delay': { action: 'y' } } });
    assert.match(message, /mode:/);
    assert.match(message, /bogus: unknown key/);
    assert.match(message, /rules\.inject-prestop-delay\.action:/);
  });

  test('YAML syntax errors name the line', () => {
    assert.match(parseErrorOf('mode: audit\nrules: [\n'), /^invalid policy policy\.yaml line \d+: /);
  });

  test("YAML 1.2's core schema: yes, no, on and off are strings, not booleans", () => {
    assert.deepEqual(parsePolicy('exclude:\n  namespaces: [yes, no, on, off]\n', 'policy.yaml').exclude.namespaces.slice(-4), [
      'yes',
      'no',
      'on',
      'off',
    ]);
  });

  test('duplicate keys are refused', () => {
    assert.match(parseErrorOf('mode: audit\nmode: off\n'), /^invalid policy policy\.yaml line 2: duplicated mapping key/);
  });

  test('a document that is not a mapping is refused', () => {
    assert.match(parseErrorOf('- mode: audit\n'), /expected a mapping of policy keys, got a list/);
    assert.match(parseErrorOf('audit\n'), /expected a mapping of policy keys, got string/);
    assert.match(parseErrorOf('5\n'), /expected a mapping of policy keys, got number/);
  });
});

describe('effectiveMode', () => {
  /**
   * The modes of the rules named in `expected`, which must match; any other rule (one added later) must
   * be off when it is opt-in, so adding an opt-in rule needs no change here.
   */
  const assertModes = (policy: Policy, expected: Record<string, string>) => {
    const modes = Object.fromEntries(RULES.map((r) => [r.meta.id, effectiveMode(policy, r)]));
    assert.deepEqual(Object.fromEntries(Object.keys(expected).map((id) => [id, modes[id]])), expected);
    for (const other of RULES.filter((r) => !(r.meta.id in expected) && r.meta.defaultMode === 'off'))
      assert.equal(modes[other.meta.id], 'off', other.meta.id);
  };
  const modes = (policy: Policy) => Object.fromEntries(RULES.map((r) => [r.meta.id, effectiveMode(policy, r)]));

  test('default policy: each rule at its default, the opt-in rule off', () => {
    assertModes(DEFAULT_POLICY, {
      'no-shell-entrypoint': 'enforce',
      'require-readiness-probe': 'enforce',
      'distinct-liveness-readiness': 'off',
      'inject-prestop-delay': 'enforce',
      'termination-message-fallback': 'enforce',
    });
  });

  test('global audit lowers every rule to audit, never raises the opt-in rule', () => {
    assertModes(policyFromObject({ mode: 'audit' }, 'p'), {
      'no-shell-entrypoint': 'audit',
      'require-readiness-probe': 'audit',
      'distinct-liveness-readiness': 'off',
      'inject-prestop-delay': 'audit',
      'termination-message-fallback': 'audit',
    });
  });

  test('global off turns everything off', () => {
    assert.ok(Object.values(modes(policyFromObject({ mode: 'off' }, 'p'))).every((mode) => mode === 'off'));
  });

  test("a rule's own mode wins over the global mode, in both directions", () => {
    const policy = policyFromObject(
      {
        mode: 'off',
        rules: {
          'no-shell-entrypoint': { mode: 'enforce' },
          'distinct-liveness-readiness': { mode: 'audit' },
          'inject-prestop-delay': { mode: 'audit' },
        },
      },
      'p',
    );
    assert.equal(effectiveMode(policy, rule('no-shell-entrypoint')), 'enforce');
    assert.equal(effectiveMode(policy, rule('distinct-liveness-readiness')), 'audit');
    assert.equal(effectiveMode(policy, rule('inject-prestop-delay')), 'audit');
    assert.equal(effectiveMode(policy, rule('require-readiness-probe')), 'off');

    const lowered = policyFromObject({ mode: 'enforce', rules: { 'require-readiness-probe': { mode: 'off' } } }, 'p');
    assert.equal(effectiveMode(lowered, rule('require-readiness-probe')), 'off');
    assert.equal(effectiveMode(lowered, rule('no-shell-entrypoint')), 'enforce');
  });

  test('the opt-in rule is on once its own mode is set', () => {
    assert.equal(
      effectiveMode(
        policyFromObject({ rules: { 'distinct-liveness-readiness': { mode: 'enforce' } } }, 'p'),
        rule('distinct-liveness-readiness'),
      ),
      'enforce',
    );
  });
});
