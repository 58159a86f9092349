import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { JsonObject } from '../../src/core/types.js';
import { findingsOf, flagged, LONG_RUNNING_KINDS, mutateWith, pod, podSpecOf, wrap } from './helpers.js';

const RULE = 'inject-prestop-delay';
const SLEEP_5 = { preStop: { sleep: { seconds: 5 } } };
const EXEC_5 = { preStop: { exec: { command: ['sleep', '5'] } } };

/** The pod spec after the rule alone mutated the object. */
function mutatedSpec(object: JsonObject, params: JsonObject = {}, cluster?: { version?: { major: number; minor: number } }): JsonObject {
  const mutation = mutateWith(RULE, object, params, cluster);
  assert.deepEqual(mutation.errors, []);
  return podSpecOf(mutation.object);
}

function lifecycles(spec: JsonObject): Record<string, unknown> {
  const all = [...((spec.initContainers as JsonObject[] | undefined) ?? []), ...((spec.containers as JsonObject[] | undefined) ?? [])];
  return Object.fromEntries(all.map((container) => [container.name as string, container.lifecycle]));
}

describe('inject-prestop-delay: which containers', () => {
  test('a container without lifecycle gets the native sleep of 5 seconds (default)', () => {
    const spec = mutatedSpec(pod([{ name: 'app', image: 'nginx' }]));
    assert.deepEqual(spec.containers, [{ name: 'app', image: 'nginx', lifecycle: SLEEP_5 }]);
  });

  test('native sidecars get it, run-to-completion init containers never get a lifecycle', () => {
    const object = wrap('Deployment', {
      initContainers: [{ name: 'migrate' }, { name: 'proxy', restartPolicy: 'Always' }],
      containers: [{ name: 'app' }],
    });
    assert.deepEqual(lifecycles(mutatedSpec(object)), { migrate: undefined, proxy: SLEEP_5, app: SLEEP_5 });
    assert.deepEqual(flagged(RULE, object), ['app', 'proxy']);
  });

  test('an existing preStop is never touched, whatever its handler', () => {
    const hooks = [
      { preStop: { exec: { command: ['/drain'] } } },
      { preStop: { httpGet: { path: '/drain', port: 8080 } } },
      { preStop: { sleep: { seconds: 1 } } },
      { preStop: { exec: { command: ['sleep', '60'] } }, postStart: { exec: { command: ['/warm'] } } },
    ];
    const object = pod(hooks.map((lifecycle, index) => ({ name: `c${index}`, lifecycle })));
    assert.deepEqual(mutateWith(RULE, object).patch, []);
    assert.deepEqual(flagged(RULE, object), []);
  });

  test('an existing postStart is kept and preStop added beside it', () => {
    const postStart = { exec: { command: ['/warm'] } };
    const spec = mutatedSpec(pod([{ name: 'app', lifecycle: { postStart } }]));
    assert.deepEqual(lifecycles(spec), { app: { postStart, ...SLEEP_5 } });
  });

  test('an empty lifecycle gets a preStop', () => {
    assert.deepEqual(lifecycles(mutatedSpec(pod([{ name: 'app', lifecycle: {} }]))), { app: SLEEP_5 });
  });

  test('only the containers without preStop are changed, by name', () => {
    const object = pod([
      { name: 'has', lifecycle: { preStop: { sleep: { seconds: 3 } } } },
      { name: 'lacks' },
      { name: 'also-lacks', lifecycle: {} },
    ]);
    assert.deepEqual(flagged(RULE, object), ['also-lacks', 'lacks']);
    const spec = mutatedSpec(object);
    assert.deepEqual(lifecycles(spec), { has: { preStop: { sleep: { seconds: 3 } } }, lacks: SLEEP_5, 'also-lacks': SLEEP_5 });
  });

  test('messages', () => {
    const findings = findingsOf(RULE, pod([{ name: 'app' }], { terminationGracePeriodSeconds: 10 }));
    assert.deepEqual(
      findings.map(({ container, message, type, mode }) => ({ container, message, type, mode })),
      [
        { container: 'app', message: 'adds a preStop sleep of 5s (lifecycle.preStop.sleep.seconds)', type: 'mutating', mode: 'enforce' },
        {
          container: undefined,
          message: 'raises terminationGracePeriodSeconds from 10 to 15 (5s delay + 10s to shut down)',
          type: 'mutating',
          mode: 'enforce',
        },
      ],
    );
    assert.equal(findingsOf(RULE, pod([{ name: 'app' }]), { action: 'exec' })[0]?.message, 'adds a preStop exec `sleep 5`');
  });
});

describe('inject-prestop-delay: which workloads', () => {
  for (const kind of LONG_RUNNING_KINDS) {
    test(`${kind} is mutated`, () => {
      assert.deepEqual(lifecycles(mutatedSpec(wrap(kind, { containers: [{ name: 'app' }] }))), { app: SLEEP_5 });
    });
  }

  const runToCompletion: [string, JsonObject][] = [
    ['Job', wrap('Job', { restartPolicy: 'Never', containers: [{ name: 'app' }] })],
    [
      'Job with a native sidecar',
      wrap('Job', { restartPolicy: 'Never', initContainers: [{ name: 'proxy', restartPolicy: 'Always' }], containers: [{ name: 'app' }] }),
    ],
    ['CronJob', wrap('CronJob', { restartPolicy: 'OnFailure', containers: [{ name: 'app' }], terminationGracePeriodSeconds: 1 })],
    ['Pod with restartPolicy Never', wrap('Pod', { restartPolicy: 'Never', containers: [{ name: 'app' }] })],
    [
      'Pod with restartPolicy OnFailure',
      wrap('Pod', { restartPolicy: 'OnFailure', containers: [{ name: 'app' }], terminationGracePeriodSeconds: 1 }),
    ],
  ];
  for (const [name, object] of runToCompletion) {
    test(`${name} is not mutated`, () => {
      assert.deepEqual(mutateWith(RULE, object).patch, []);
      assert.deepEqual(flagged(RULE, object), []);
    });
  }
});

describe('inject-prestop-delay: parameters and cluster version', () => {
  test('seconds', () => {
    assert.deepEqual(lifecycles(mutatedSpec(pod([{ name: 'app' }]), { seconds: 12 })), { app: { preStop: { sleep: { seconds: 12 } } } });
  });

  test('action: exec runs `sleep N`', () => {
    assert.deepEqual(lifecycles(mutatedSpec(pod([{ name: 'app' }]), { action: 'exec' })), { app: EXEC_5 });
    assert.deepEqual(lifecycles(mutatedSpec(pod([{ name: 'app' }]), { action: 'exec', seconds: 7 })), {
      app: { preStop: { exec: { command: ['sleep', '7'] } } },
    });
  });

  test('action: sleep is native sleep even on an old cluster', () => {
    assert.deepEqual(lifecycles(mutatedSpec(pod([{ name: 'app' }]), { action: 'sleep' }, { version: { major: 1, minor: 28 } })), {
      app: SLEEP_5,
    });
  });

  test('action: exec even on a new cluster', () => {
    assert.deepEqual(lifecycles(mutatedSpec(pod([{ name: 'app' }]), { action: 'exec' }, { version: { major: 1, minor: 33 } })), {
      app: EXEC_5,
    });
  });

  const auto: [string, { version?: { major: number; minor: number } } | undefined, object][] = [
    ['unknown version (no cluster info)', undefined, SLEEP_5],
    ['empty cluster info', {}, SLEEP_5],
    ['1.29', { version: { major: 1, minor: 29 } }, EXEC_5],
    ['1.25', { version: { major: 1, minor: 25 } }, EXEC_5],
    ['1.30', { version: { major: 1, minor: 30 } }, SLEEP_5],
    ['1.34', { version: { major: 1, minor: 34 } }, SLEEP_5],
    ['2.0', { version: { major: 2, minor: 0 } }, SLEEP_5],
  ];
  for (const [name, cluster, expected] of auto) {
    test(`action: auto on ${name}`, () => {
      assert.deepEqual(lifecycles(mutatedSpec(pod([{ name: 'app' }]), { action: 'auto' }, cluster)), { app: expected });
      assert.deepEqual(lifecycles(mutatedSpec(pod([{ name: 'app' }]), {}, cluster)), { app: expected });
    });
  }
});

describe('inject-prestop-delay: terminationGracePeriodSeconds', () => {
  const cases: [string, number | undefined, JsonObject, number | undefined][] = [
    ['unset (30) covers 5 + 10: left unset', undefined, {}, undefined],
    ['10 is raised to 15', 10, {}, 15],
    ['0 is raised to 15', 0, {}, 15],
    ['14 is raised to 15', 14, {}, 15],
    ['15 is kept', 15, {}, 15],
    ['300 is kept', 300, {}, 300],
    ['unset (30) is below 25 + 10: set to 35', undefined, { seconds: 25 }, 35],
    ['unset (30) is below 5 + 30: set to 35', undefined, { shutdownWindowSeconds: 30 }, 35],
    ['unset (30) equals 20 + 10: left unset', undefined, { seconds: 20 }, undefined],
    ['40 is below 10 + 60: set to 70', 40, { seconds: 10, shutdownWindowSeconds: 60 }, 70],
  ];
  for (const [name, current, params, expected] of cases) {
    test(name, () => {
      const extra = current === undefined ? {} : { terminationGracePeriodSeconds: current };
      const spec = mutatedSpec(pod([{ name: 'app' }], extra), params);
      assert.equal(spec.terminationGracePeriodSeconds, expected);
      assert.equal('terminationGracePeriodSeconds' in spec, expected !== undefined);
    });
  }

  test('a grace period that is not a number counts as 30', () => {
    assert.equal(mutatedSpec(pod([{ name: 'app' }], { terminationGracePeriodSeconds: '5' })).terminationGracePeriodSeconds, '5');
    assert.equal(
      mutatedSpec(pod([{ name: 'app' }], { terminationGracePeriodSeconds: '5' }), { seconds: 25 }).terminationGracePeriodSeconds,
      35,
    );
  });

  test('not raised when no container needed a preStop', () => {
    const object = pod([{ name: 'app', lifecycle: { preStop: { sleep: { seconds: 1 } } } }], { terminationGracePeriodSeconds: 2 });
    assert.deepEqual(mutateWith(RULE, object).patch, []);
  });

  test('the grace-period finding concerns the pod, not a container', () => {
    assert.deepEqual(flagged(RULE, pod([{ name: 'app' }], { terminationGracePeriodSeconds: 3 })), ['(pod)', 'app']);
  });
});

describe('inject-prestop-delay: idempotent', () => {
  test('a second mutation changes nothing', () => {
    const object = wrap('StatefulSet', {
      terminationGracePeriodSeconds: 1,
      initContainers: [{ name: 'init' }, { name: 'proxy', restartPolicy: 'Always' }],
      containers: [{ name: 'app', lifecycle: { postStart: { exec: { command: ['/x'] } } } }, { name: 'other' }],
    });
    const first = mutateWith(RULE, object);
    assert.ok(first.patch.length > 0);
    const second = mutateWith(RULE, first.object);
    assert.deepEqual(second.patch, []);
    assert.deepEqual(second.findings, []);
  });

  test('a lifecycle that is not an object is replaced by one with the preStop', () => {
    const spec = mutatedSpec(
      pod([
        { name: 'a', lifecycle: 'x' },
        { name: 'b', lifecycle: null },
        { name: 'c', lifecycle: [] },
      ]),
    );
    assert.deepEqual(lifecycles(spec), { a: SLEEP_5, b: SLEEP_5, c: SLEEP_5 });
  });
});
