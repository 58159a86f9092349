import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeWorkload, longRunningContainers, POD_BEARING_KINDS } from '../../src/core/workload.js';
import { podSpecOf, WORKLOAD_KINDS, wrap } from '../rules/helpers.js';

const podSpec = () => ({
  initContainers: [
    { name: 'migrate', image: 'migrate' },
    { name: 'proxy', image: 'envoy', restartPolicy: 'Always' },
  ],
  containers: [
    { name: 'app', image: 'app' },
    { name: 'metrics', image: 'exporter' },
  ],
});

describe('describeWorkload: every pod-bearing kind, pod template at its usual path', () => {
  test('POD_BEARING_KINDS are exactly the kinds of the spec', () => {
    assert.deepEqual([...POD_BEARING_KINDS].sort(), [...WORKLOAD_KINDS].sort());
  });

  const runToCompletion: Record<string, boolean> = {
    Pod: false,
    Deployment: false,
    StatefulSet: false,
    DaemonSet: false,
    ReplicaSet: false,
    ReplicationController: false,
    Job: true,
    CronJob: true,
  };
  for (const kind of WORKLOAD_KINDS) {
    test(kind, () => {
      const object = wrap(kind, podSpec(), { name: `my-${kind.toLowerCase()}`, namespace: 'shop' });
      const workload = describeWorkload(object);
      assert.ok(workload);
      assert.equal(workload.kind, kind);
      assert.equal(workload.name, `my-${kind.toLowerCase()}`);
      assert.equal(workload.namespace, 'shop');
      // The same reference: a rule's change lands in the object.
      assert.equal(workload.podSpec, podSpecOf(object));
      assert.deepEqual(
        workload.containers.map(({ name, role }) => [name, role]),
        [
          ['migrate', 'init'],
          ['proxy', 'sidecar'],
          ['app', 'container'],
          ['metrics', 'container'],
        ],
      );
      assert.equal(workload.containers[2]?.spec, (podSpecOf(object).containers as unknown[])[0]);
      assert.deepEqual(
        longRunningContainers(workload).map(({ name }) => name),
        ['proxy', 'app', 'metrics'],
      );
      assert.equal(workload.runToCompletion, runToCompletion[kind]);
    });
  }

  test('CronJob: the pod spec is spec.jobTemplate.spec.template.spec', () => {
    const workload = describeWorkload({
      kind: 'CronJob',
      metadata: { name: 'c' },
      spec: {
        template: { spec: { containers: [{ name: 'wrong-place' }] } },
        jobTemplate: { spec: { template: { spec: { containers: [{ name: 'right' }] } } } },
      },
    });
    assert.deepEqual(
      workload?.containers.map(({ name }) => name),
      ['right'],
    );
  });

  test('Pod: the pod spec is spec', () => {
    const workload = describeWorkload({
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'c' }], template: { spec: { containers: [{ name: 'no' }] } } },
    });
    assert.deepEqual(
      workload?.containers.map(({ name }) => name),
      ['c'],
    );
  });
});

describe('describeWorkload: restartPolicy of Pods', () => {
  const cases: [string | undefined, boolean][] = [
    [undefined, false],
    ['Always', false],
    ['Never', true],
    ['OnFailure', true],
  ];
  for (const [restartPolicy, expected] of cases) {
    test(`Pod restartPolicy ${restartPolicy ?? '(unset)'} → runToCompletion ${expected}`, () => {
      const spec = restartPolicy === undefined ? { containers: [{ name: 'c' }] } : { restartPolicy, containers: [{ name: 'c' }] };
      assert.equal(describeWorkload(wrap('Pod', spec))?.runToCompletion, expected);
    });
  }

  test('a Deployment template saying OnFailure is still long-running (only Pods, Jobs and CronJobs finish)', () => {
    assert.equal(describeWorkload(wrap('Deployment', { restartPolicy: 'OnFailure', containers: [{ name: 'c' }] }))?.runToCompletion, false);
  });
});

describe('describeWorkload: objects without a pod spec', () => {
  const none: [string, unknown][] = [
    ['Service', { kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80 }] } }],
    ['ConfigMap', { kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } }],
    ['PodTemplate', { kind: 'PodTemplate', metadata: { name: 't' }, template: { spec: { containers: [{ name: 'c' }] } } }],
    ['custom resource with a pod template', { kind: 'Rollout', spec: { template: { spec: { containers: [{ name: 'c' }] } } } }],
    ['lower-case kind', { kind: 'pod', spec: { containers: [{ name: 'c' }] } }],
    ['no kind', { spec: { containers: [{ name: 'c' }] } }],
    ['kind not a string', { kind: ['Pod'], spec: { containers: [] } }],
    ['Pod without spec', { kind: 'Pod', metadata: { name: 'p' } }],
    ['Pod with a string spec', { kind: 'Pod', spec: 'containers' }],
    ['Deployment without template', { kind: 'Deployment', spec: { replicas: 1 } }],
    ['Deployment with a list template spec', { kind: 'Deployment', spec: { template: { spec: [] } } }],
    ['CronJob with a pod template in the wrong place', { kind: 'CronJob', spec: { template: { spec: { containers: [] } } } }],
    ['null', null],
    ['string', 'kind: Pod'],
    ['number', 7],
    ['array', [{ kind: 'Pod', spec: {} }]],
  ];
  for (const [name, object] of none) {
    test(name, () => {
      assert.equal(describeWorkload(object), undefined);
    });
  }
});

describe('describeWorkload: metadata', () => {
  test('annotations of the object and of its pod template; the object wins', () => {
    const object = wrap('Deployment', { containers: [] }, { name: 'd', annotations: { shared: 'object', onObject: '1' } });
    (object.spec as { template: { metadata: object } }).template.metadata = { annotations: { shared: 'template', onTemplate: '2' } };
    assert.deepEqual(describeWorkload(object)?.annotations, { shared: 'object', onObject: '1', onTemplate: '2' });
  });

  test('CronJob pod template annotations are read from the job template’s pod template', () => {
    const object = {
      kind: 'CronJob',
      metadata: { name: 'c' },
      spec: { jobTemplate: { spec: { template: { metadata: { annotations: { a: 'b' } }, spec: { containers: [] } } } } },
    };
    assert.deepEqual(describeWorkload(object)?.annotations, { a: 'b' });
  });

  test('non-string annotation values are ignored, and a non-map annotations field is no annotation', () => {
    assert.deepEqual(describeWorkload({ kind: 'Pod', metadata: { annotations: { a: 1, b: 'x', c: null } }, spec: {} })?.annotations, {
      b: 'x',
    });
    assert.deepEqual(describeWorkload({ kind: 'Pod', metadata: { annotations: 'a=b' }, spec: {} })?.annotations, {});
  });

  test('name falls back to generateName, then to ""; namespace is absent when unset', () => {
    const generated = describeWorkload({ kind: 'Pod', metadata: { generateName: 'web-' }, spec: {} });
    assert.equal(generated?.name, 'web-');
    assert.equal(generated && 'namespace' in generated, false);
    assert.equal(describeWorkload({ kind: 'Pod', spec: {} })?.name, '');
    assert.equal(describeWorkload({ kind: 'Pod', metadata: 'x', spec: {} })?.name, '');
  });

  test('controlledBy: the ownerReference with controller: true, Pods only', () => {
    const owners = [
      { kind: 'ConfigMap', name: 'not-controller' },
      { kind: 'ReplicaSet', name: 'web-5d4f', controller: true },
    ];
    assert.deepEqual(describeWorkload({ kind: 'Pod', metadata: { ownerReferences: owners }, spec: {} })?.controlledBy, {
      kind: 'ReplicaSet',
      name: 'web-5d4f',
    });
    assert.equal(describeWorkload({ kind: 'Pod', metadata: { ownerReferences: [owners[0]] }, spec: {} })?.controlledBy, undefined);
    assert.equal(describeWorkload({ kind: 'Pod', metadata: { ownerReferences: 'x' }, spec: {} })?.controlledBy, undefined);
    const deployment = describeWorkload({ ...wrap('Deployment', {}), metadata: { ownerReferences: owners } });
    assert.equal(deployment?.controlledBy, undefined);
  });
});

describe('describeWorkload: containers', () => {
  test('a native sidecar is an init container with restartPolicy: Always, nothing else', () => {
    const workload = describeWorkload(
      wrap('Pod', {
        initContainers: [
          { name: 'always', restartPolicy: 'Always' },
          { name: 'never', restartPolicy: 'Never' },
          { name: 'lower', restartPolicy: 'always' },
          { name: 'unset' },
        ],
        containers: [{ name: 'regular', restartPolicy: 'Always' }],
      }),
    );
    assert.deepEqual(
      workload?.containers.map(({ name, role }) => `${name}:${role}`),
      ['always:sidecar', 'never:init', 'lower:init', 'unset:init', 'regular:container'],
    );
  });

  test('unnamed containers are named by index', () => {
    const workload = describeWorkload(wrap('Pod', { initContainers: [{}, { name: 5 }], containers: [{}, { name: 'b' }] }));
    assert.deepEqual(
      workload?.containers.map(({ name }) => name),
      ['#init-0', '#init-1', '#0', 'b'],
    );
  });

  test('containers that are not objects, and container lists that are not lists, are skipped', () => {
    assert.deepEqual(describeWorkload(wrap('Pod', { containers: 'app', initContainers: { name: 'x' } }))?.containers, []);
    const workload = describeWorkload(wrap('Pod', { containers: [1, 'x', null, [], { name: 'real' }] }));
    assert.deepEqual(
      workload?.containers.map(({ name }) => name),
      ['real'],
    );
  });
});
