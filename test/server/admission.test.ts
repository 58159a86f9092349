// The admission endpoints in-process (supertest against createApp): every case as an AdmissionReview,
// checking the exact shape of each answer.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { RULES } from '../../src/rules/index.js';
import { PolicyHolder } from '../../src/server/policy-holder.js';
import type { WebhookHandler } from '../../src/server/app.js';
import { withBrokenRule } from '../helpers/broken-rule.js';
import {
  ADMISSION_API_VERSION,
  WORKLOAD_KINDS,
  applyPatch,
  badContainer,
  compliantContainer,
  containersOf,
  decodePatch,
  makeApp,
  makePolicy,
  pod,
  podSpecOf,
  review,
  unmutatedContainer,
  workload,
  type Json,
} from './helpers.js';

type Endpoint = 'validate' | 'mutate';

interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason?: string; message: string };
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
  patchType?: string;
  patch?: string;
}

const RESPONSE_KEYS = new Set(['uid', 'allowed', 'status', 'warnings', 'auditAnnotations', 'patchType', 'patch']);

/** Checks what every admission answer must satisfy, and returns its `response`. */
function checkEnvelope(res: request.Response, uid: string): AdmissionResponse {
  assert.equal(res.status, 200, `expected 200, got ${res.status}: ${res.text}`);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = res.body as Json;
  assert.deepEqual(Object.keys(body).sort(), ['apiVersion', 'kind', 'response']);
  assert.equal(body.apiVersion, ADMISSION_API_VERSION);
  assert.equal(body.kind, 'AdmissionReview');
  const response = body.response as AdmissionResponse;
  for (const key of Object.keys(response)) assert.ok(RESPONSE_KEYS.has(key), `unexpected response field ${key}`);
  assert.equal(response.uid, uid);
  assert.equal(typeof response.allowed, 'boolean');
  if (response.allowed) assert.equal(response.status, undefined, 'an allowed response carries no status');
  else {
    assert.ok(response.status, 'a refusal carries a status');
    assert.equal(typeof response.status.message, 'string');
  }
  if (response.warnings !== undefined) {
    assert.ok(Array.isArray(response.warnings) && response.warnings.length > 0, 'warnings, when present, are a non-empty list');
    let bytes = 0;
    for (const warning of response.warnings) {
      assert.equal(typeof warning, 'string');
      assert.doesNotMatch(warning, /^\s*warning:/i, 'kubectl adds "Warning:" itself');
      assert.ok(warning.length <= 256, `warning longer than 256 characters (${warning.length}): ${warning}`);
      bytes += Buffer.byteLength(warning);
    }
    assert.ok(bytes < 4096, `warnings total ${bytes} bytes, not under 4 KiB`);
  }
  assert.equal(response.patch === undefined, response.patchType === undefined, 'patch and patchType go together');
  if (response.patchType !== undefined) assert.equal(response.patchType, 'JSONPatch');
  return response;
}

async function admit(app: WebhookHandler, endpoint: Endpoint, body: ReturnType<typeof review>): Promise<AdmissionResponse> {
  const res = await request(app).post(`/${endpoint}`).set('content-type', 'application/json').send(body);
  return checkEnvelope(res, body.request.uid);
}

/** The lines of a denial message, one per violation. */
function violationLines(message: string): string[] {
  return message.split('\n').filter((line) => line.startsWith('['));
}

function assertDenied(response: AdmissionResponse, expected: readonly (readonly [rule: string, container: string])[]): void {
  assert.equal(response.allowed, false);
  assert.equal(response.status?.code, 403);
  assert.equal(response.status?.reason, 'Forbidden');
  const lines = violationLines(response.status?.message ?? '');
  assert.equal(lines.length, expected.length, `expected ${expected.length} violation line(s) in:\n${response.status?.message}`);
  for (const [rule, container] of expected) {
    const line = lines.find((candidate) => candidate.includes(`[${rule}]`) && candidate.includes(`container "${container}"`));
    assert.ok(line, `no line for ${rule} / ${container} in:\n${response.status?.message}`);
    const rule_ = RULES.find((candidate) => candidate.meta.id === rule)!;
    const lastOfRule = lines.filter((candidate) => candidate.startsWith(`[${rule}]`)).at(-1) ?? '';
    assert.ok(
      (response.status?.message ?? '').includes(`${lastOfRule}\n  Fix: ${rule_.meta.fix}`),
      `the fix of ${rule} does not follow its violations`,
    );
  }
  const rules = new Set(expected.map(([rule]) => rule));
  assert.match(response.status?.message ?? '', new RegExp(`violates ${rules.size} lifecycle rule`));
}

function assertAllowedUntouched(response: AdmissionResponse): void {
  assert.deepEqual(response, { uid: response.uid, allowed: true });
}

function warningFor(response: AdmissionResponse, rule: string, container?: string): string {
  const found = (response.warnings ?? []).find(
    (warning) => warning.startsWith(`[${rule}] `) && (container === undefined || warning.includes(`container "${container}"`)),
  );
  assert.ok(found, `no warning for ${rule}${container ? ` / ${container}` : ''} in ${JSON.stringify(response.warnings)}`);
  return found;
}

const EXCLUDED = ['kube-system', 'kube-public', 'kube-node-lease', 'lifecycle-guard'];

describe('POST /validate', () => {
  const { app } = makeApp();

  test('a compliant Pod is allowed with a bare response', async () => {
    const body = review(pod([compliantContainer('app'), compliantContainer('sidecar')]));
    assertAllowedUntouched(await admit(app, 'validate', body));
  });

  test('a violating Pod is denied with 403 and every violation, its container and fix listed', async () => {
    const body = review(pod([badContainer('app'), compliantContainer('ok'), badContainer('worker')], { name: 'web-1' }));
    const response = await admit(app, 'validate', body);
    assertDenied(response, [
      ['no-shell-entrypoint', 'app'],
      ['no-shell-entrypoint', 'worker'],
      ['require-readiness-probe', 'app'],
      ['require-readiness-probe', 'worker'],
    ]);
    assert.match(response.status!.message, /^lifecycle-guard: Pod default\/web-1 violates/);
    assert.doesNotMatch(response.status!.message, /"ok"/);
    assert.equal(response.warnings, undefined);
    assert.deepEqual(Object.keys(response.auditAnnotations ?? {}).sort(), ['no-shell-entrypoint', 'require-readiness-probe']);
    assert.match(response.auditAnnotations!['no-shell-entrypoint']!, /^enforce: container "app"/);
  });

  test('the kind comes from request.kind when the object lacks one', async () => {
    const object = pod([badContainer('app')]);
    delete object.kind;
    const body = review(object, { kind: 'Pod' });
    assertDenied(await admit(app, 'validate', body), [
      ['no-shell-entrypoint', 'app'],
      ['require-readiness-probe', 'app'],
    ]);
  });

  test('a shell that execs the program, and init containers, are not violations', async () => {
    const spec = {
      initContainers: [{ name: 'migrate', image: 'x', command: ['sh', '-c', 'sleep 1; migrate'] }],
    };
    const body = review(pod([compliantContainer('app', { command: ['/bin/sh', '-c', 'exec /app/server --port 8080'] })], { spec }));
    assertAllowedUntouched(await admit(app, 'validate', body));
  });

  for (const kind of WORKLOAD_KINDS) {
    test(`${kind}: a violating pod template is denied, a compliant one allowed`, async () => {
      const bad = workload(kind, [badContainer('main'), compliantContainer('helper')]);
      // Jobs and CronJobs run to completion: both rules exempt them unless the policy brings them back.
      const runToCompletion = kind === 'Job' || kind === 'CronJob';
      const checking = runToCompletion ? makeApp({ rules: { 'no-shell-entrypoint': { includeRunToCompletion: true } } }).app : app;
      const response = await admit(checking, 'validate', review(bad));
      assertDenied(response, [['no-shell-entrypoint', 'main'], ...(runToCompletion ? [] : [['require-readiness-probe', 'main'] as const])]);
      if (runToCompletion) assertAllowedUntouched(await admit(app, 'validate', review(bad)));
      assert.match(response.status!.message, new RegExp(`^lifecycle-guard: ${kind} default/${kind.toLowerCase()}-app violates`));

      assertAllowedUntouched(await admit(app, 'validate', review(workload(kind, [compliantContainer('main')]))));
    });
  }

  test('Jobs and CronJobs need no readinessProbe', async () => {
    for (const kind of ['Job', 'CronJob'] as const) {
      const object = workload(kind, [{ name: 'task', image: 'x', command: ['/bin/task'] }]);
      assertAllowedUntouched(await admit(app, 'validate', review(object)));
    }
    const oneShot = pod([{ name: 'task', image: 'x', command: ['/bin/task'] }], { spec: { restartPolicy: 'Never' } });
    assertAllowedUntouched(await admit(app, 'validate', review(oneShot)));
  });

  describe('UPDATE', () => {
    test('a violation already in oldObject is allowed, with a warning', async () => {
      const old = workload('Deployment', [badContainer('app')]);
      const updated = workload('Deployment', [badContainer('app', { image: 'registry.example/app:2.0' })]);
      const response = await admit(app, 'validate', review(updated, { operation: 'UPDATE', oldObject: old }));
      assert.equal(response.allowed, true);
      assert.equal(response.status, undefined);
      assert.equal(response.warnings?.length, 2);
      for (const rule of ['no-shell-entrypoint', 'require-readiness-probe']) {
        assert.match(warningFor(response, rule, 'app'), /already present before this update, not denied/);
      }
      assert.deepEqual(Object.keys(response.auditAnnotations ?? {}).sort(), ['no-shell-entrypoint', 'require-readiness-probe']);
    });

    test('a violation the update introduces is denied; the pre-existing one is only warned', async () => {
      const old = workload('StatefulSet', [unmutatedContainer('db', { readinessProbe: undefined })]);
      const updated = workload('StatefulSet', [
        unmutatedContainer('db', { readinessProbe: undefined }),
        compliantContainer('proxy', { command: ['sh', '-c', 'envoy -c /etc/envoy.yaml'] }),
      ]);
      const response = await admit(app, 'validate', review(updated, { operation: 'UPDATE', oldObject: old }));
      assertDenied(response, [['no-shell-entrypoint', 'proxy']]);
      assert.match(warningFor(response, 'require-readiness-probe', 'db'), /already present before this update/);
      assert.equal(response.warnings?.length, 1);
    });

    test('an update that fixes a violation is allowed', async () => {
      const old = workload('DaemonSet', [badContainer('agent')]);
      const updated = workload('DaemonSet', [compliantContainer('agent')]);
      assertAllowedUntouched(await admit(app, 'validate', review(updated, { operation: 'UPDATE', oldObject: old })));
    });

    test('a Pod UPDATE follows the same rule', async () => {
      const old = pod([badContainer('app')]);
      const updated = pod([badContainer('app')], { annotations: { touched: 'yes' } });
      const response = await admit(app, 'validate', review(updated, { operation: 'UPDATE', oldObject: old }));
      assert.equal(response.allowed, true);
      warningFor(response, 'no-shell-entrypoint', 'app');
    });
  });

  test('DELETE and CONNECT are always allowed', async () => {
    const bad = pod([badContainer('app')]);
    assertAllowedUntouched(await admit(app, 'validate', review(null, { operation: 'DELETE', oldObject: bad, kind: 'Pod' })));
    // CONNECT (pods/exec, pods/attach) carries the options object, not the Pod.
    const connect = review({ kind: 'PodExecOptions', apiVersion: 'v1', command: ['sh'] }, { operation: 'CONNECT', kind: 'Pod' });
    assertAllowedUntouched(await admit(app, 'validate', connect));
    // Even when the object sent along would be denied on CREATE.
    const connectWithPod = review(bad, { operation: 'CONNECT' });
    assertAllowedUntouched(await admit(app, 'validate', connectWithPod));
  });

  test('dryRun requests get the same verdict', async () => {
    const cases = [pod([badContainer('app')]), pod([compliantContainer('app')]), workload('Deployment', [badContainer('app')])];
    for (const object of cases) {
      const normal = await admit(app, 'validate', review(object, { uid: 'same-uid' }));
      const dryRun = await admit(app, 'validate', review(object, { uid: 'same-uid', dryRun: true }));
      assert.deepEqual(dryRun, normal);
    }
  });

  describe('controller-owned Pods', () => {
    const owner = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      name: 'web-7d9f8',
      uid: 'rs-uid',
      controller: true,
      blockOwnerDeletion: true,
    };

    test('are never denied, only warned, naming the controller', async () => {
      const object = pod([badContainer('app')], { name: 'web-7d9f8-abcde', ownerReferences: [owner] });
      const response = await admit(app, 'validate', review(object));
      assert.equal(response.allowed, true);
      assert.equal(response.status, undefined);
      for (const rule of ['no-shell-entrypoint', 'require-readiness-probe']) {
        assert.match(warningFor(response, rule, 'app'), /Pod created by ReplicaSet web-7d9f8, not denied \(fix the ReplicaSet\)/);
      }
      assert.ok(response.auditAnnotations?.['no-shell-entrypoint']);
    });

    test('an owner that is not the controller does not count', async () => {
      const object = pod([badContainer('app')], { ownerReferences: [{ ...owner, controller: false }] });
      assertDenied(await admit(app, 'validate', review(object)), [
        ['no-shell-entrypoint', 'app'],
        ['require-readiness-probe', 'app'],
      ]);
    });
  });

  describe('excluded namespaces', () => {
    for (const namespace of EXCLUDED) {
      test(`${namespace} is excluded by default`, async () => {
        const object = pod([badContainer('app')], { namespace });
        assertAllowedUntouched(await admit(app, 'validate', review(object)));
        // The object may not name its namespace: the request's namespace counts then.
        const unnamed = pod([badContainer('app')], { namespace: null });
        assertAllowedUntouched(await admit(app, 'validate', review(unnamed, { namespace })));
      });
    }

    test('a policy with its own list replaces the default', async () => {
      const custom = makeApp({ exclude: { namespaces: ['team-a'] } }).app;
      assertAllowedUntouched(await admit(custom, 'validate', review(pod([badContainer('app')], { namespace: 'team-a' }))));
      const inDefault = await admit(custom, 'validate', review(pod([badContainer('app')], { namespace: 'default' })));
      assert.equal(inDefault.allowed, false);
    });
  });

  describe('opt-out annotation lifecycle-guard.io/skip', () => {
    test('`all` skips every rule, on the object or on the pod template', async () => {
      const object = pod([badContainer('app')], { annotations: { 'lifecycle-guard.io/skip': 'all' } });
      assertAllowedUntouched(await admit(app, 'validate', review(object)));
      const deployment = workload('Deployment', [badContainer('app')], { templateAnnotations: { 'lifecycle-guard.io/skip': 'all' } });
      assertAllowedUntouched(await admit(app, 'validate', review(deployment)));
    });

    test('a single id skips that rule only; a list skips each', async () => {
      const one = pod([badContainer('app')], { annotations: { 'lifecycle-guard.io/skip': 'no-shell-entrypoint' } });
      assertDenied(await admit(app, 'validate', review(one)), [['require-readiness-probe', 'app']]);
      const both = pod([badContainer('app')], {
        annotations: { 'lifecycle-guard.io/skip': 'no-shell-entrypoint, require-readiness-probe' },
      });
      assertAllowedUntouched(await admit(app, 'validate', review(both)));
    });

    test('allowSkipAnnotation: false makes every rule binding', async () => {
      const strict = makeApp({ allowSkipAnnotation: false }).app;
      const object = pod([badContainer('app')], { annotations: { 'lifecycle-guard.io/skip': 'all' } });
      assertDenied(await admit(strict, 'validate', review(object)), [
        ['no-shell-entrypoint', 'app'],
        ['require-readiness-probe', 'app'],
      ]);
    });
  });

  describe('modes', () => {
    test('global audit: allowed, with a warning and an audit annotation per violation', async () => {
      const audit = makeApp({ mode: 'audit' }).app;
      const response = await admit(audit, 'validate', review(pod([badContainer('app'), badContainer('worker')])));
      assert.equal(response.allowed, true);
      assert.equal(response.status, undefined);
      assert.equal(response.warnings?.length, 4);
      for (const rule of ['no-shell-entrypoint', 'require-readiness-probe']) {
        for (const container of ['app', 'worker']) warningFor(response, rule, container);
      }
      assert.deepEqual(Object.keys(response.auditAnnotations ?? {}).sort(), ['no-shell-entrypoint', 'require-readiness-probe']);
      assert.match(
        response.auditAnnotations!['require-readiness-probe']!,
        /^audit: container "app" has no readinessProbe; audit: container "worker"/,
      );
    });

    test('per-rule audit: that rule warns, the others still deny', async () => {
      const mixed = makeApp({ rules: { 'no-shell-entrypoint': { mode: 'audit' } } }).app;
      const response = await admit(mixed, 'validate', review(pod([badContainer('app')])));
      assertDenied(response, [['require-readiness-probe', 'app']]);
      assert.equal(response.warnings?.length, 1);
      warningFor(response, 'no-shell-entrypoint', 'app');
      assert.match(response.auditAnnotations!['no-shell-entrypoint']!, /^audit: /);
      assert.match(response.auditAnnotations!['require-readiness-probe']!, /^enforce: /);

      const onlyAudited = await admit(
        mixed,
        'validate',
        review(pod([badContainer('app', { readinessProbe: { exec: { command: ['true'] } } })])),
      );
      assert.equal(onlyAudited.allowed, true);
      warningFor(onlyAudited, 'no-shell-entrypoint', 'app');
    });

    test('per-rule enforce wins over global audit', async () => {
      const mixed = makeApp({ mode: 'audit', rules: { 'require-readiness-probe': { mode: 'enforce' } } }).app;
      const response = await admit(mixed, 'validate', review(pod([badContainer('app')])));
      assertDenied(response, [['require-readiness-probe', 'app']]);
      warningFor(response, 'no-shell-entrypoint', 'app');
    });

    test('global off is silent', async () => {
      const off = makeApp({ mode: 'off' }).app;
      assertAllowedUntouched(await admit(off, 'validate', review(pod([badContainer('app')]))));
      assertAllowedUntouched(await admit(off, 'validate', review(workload('Deployment', [badContainer('app')]))));
    });

    test('per-rule off silences that rule only', async () => {
      const offOne = makeApp({ rules: { 'require-readiness-probe': { mode: 'off' } } }).app;
      const response = await admit(offOne, 'validate', review(pod([badContainer('app')])));
      assertDenied(response, [['no-shell-entrypoint', 'app']]);
      assert.deepEqual(Object.keys(response.auditAnnotations ?? {}), ['no-shell-entrypoint']);
    });

    test('distinct-liveness-readiness is opt-in: off under global enforce, denies once enabled', async () => {
      const same = { httpGet: { path: '/healthz', port: 8080 } };
      const object = pod([compliantContainer('app', { readinessProbe: same, livenessProbe: { ...same, periodSeconds: 5 } })]);
      assertAllowedUntouched(await admit(app, 'validate', review(object)));
      const enabled = makeApp({ rules: { 'distinct-liveness-readiness': { mode: 'enforce' } } }).app;
      assertDenied(await admit(enabled, 'validate', review(object)), [['distinct-liveness-readiness', 'app']]);
    });
  });

  describe('unknown kinds', () => {
    const unknown: Json[] = [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'default' }, data: { key: 'value' } },
      // Looks like a Pod, but the kind is not one the webhook knows.
      {
        apiVersion: 'example.com/v1',
        kind: 'Widget',
        metadata: { name: 'w', namespace: 'default' },
        spec: { containers: [badContainer('app')] },
      },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc', namespace: 'default' }, spec: { ports: [{ port: 80 }] } },
    ];
    for (const object of unknown) {
      test(`${String(object.kind)} is allowed untouched by both endpoints`, async () => {
        const templates = makeApp({ mutateTemplates: true }).app;
        for (const target of [app, templates]) {
          for (const endpoint of ['validate', 'mutate'] as const) {
            for (const operation of ['CREATE', 'UPDATE'] as const) {
              const body = review(object, { operation, ...(operation === 'UPDATE' ? { oldObject: object } : {}) });
              assertAllowedUntouched(await admit(target, endpoint, body));
            }
          }
        }
      });
    }

    // describeWorkload looks kinds up in a plain object (src/core/workload.ts), so kinds named
    // like Object.prototype members reach the failureMode path instead of being allowed untouched.
    test('kinds named like Object.prototype members are allowed untouched', async () => {
      const strict = makeApp({ failureMode: 'deny' }).app;
      for (const kind of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
        const object = { apiVersion: 'example.com/v1', kind, metadata: { name: 'x', namespace: 'default' }, spec: {} };
        for (const endpoint of ['validate', 'mutate'] as const) {
          assertAllowedUntouched(await admit(strict, endpoint, review(object, { kind })));
        }
      }
    });
  });
});

describe('POST /mutate', () => {
  const { app } = makeApp();

  test('a Pod on CREATE gets a JSONPatch adding a preStop sleep and FallbackToLogsOnError', async () => {
    const object = pod([unmutatedContainer('app'), unmutatedContainer('metrics', { terminationMessagePolicy: 'File' })], {
      spec: { terminationGracePeriodSeconds: 5 },
    });
    const response = await admit(app, 'mutate', review(object));
    assert.deepEqual(Object.keys(response).sort(), ['allowed', 'patch', 'patchType', 'uid']);
    assert.equal(response.allowed, true);
    assert.equal(response.patchType, 'JSONPatch');
    const operations = decodePatch(response.patch);
    assert.ok(operations.length > 0);
    for (const operation of operations) assert.match(operation.path, /^\/spec\//, `patch reaches outside the pod spec: ${operation.path}`);
    const patched = applyPatch(object, operations);
    for (const container of containersOf(patched)) {
      assert.deepEqual(container.lifecycle, { preStop: { sleep: { seconds: 5 } } });
      assert.equal(container.terminationMessagePolicy, 'FallbackToLogsOnError');
    }
    assert.equal(podSpecOf(patched).terminationGracePeriodSeconds, 15);
    // Everything else is as it was.
    assert.deepEqual(patched.metadata, object.metadata);
    assert.deepEqual(
      containersOf(patched).map((c) => c.readinessProbe),
      containersOf(object).map((c) => c.readinessProbe),
    );

    // The patched Pod needs nothing more: no patch at all, not an empty one.
    assertAllowedUntouched(await admit(app, 'mutate', review(patched)));
  });

  test('a compliant, already-mutated Pod gets no patch and no patchType', async () => {
    const object = pod([compliantContainer('app')], { spec: { terminationGracePeriodSeconds: 30 } });
    assertAllowedUntouched(await admit(app, 'mutate', review(object)));
  });

  test('an existing preStop hook and grace period are kept; other lifecycle hooks survive', async () => {
    const preStop = { exec: { command: ['/app/drain'] } };
    const object = pod(
      [
        unmutatedContainer('has-hook', { lifecycle: { preStop } }),
        unmutatedContainer('post-start', { lifecycle: { postStart: { exec: { command: ['/init'] } } } }),
      ],
      { spec: { terminationGracePeriodSeconds: 120 } },
    );
    const patched = applyPatch(object, decodePatch((await admit(app, 'mutate', review(object))).patch));
    const [hooked, postStart] = containersOf(patched);
    assert.deepEqual(hooked!.lifecycle, { preStop });
    assert.deepEqual(postStart!.lifecycle, { postStart: { exec: { command: ['/init'] } }, preStop: { sleep: { seconds: 5 } } });
    assert.equal(podSpecOf(patched).terminationGracePeriodSeconds, 120);
  });

  test('init containers get FallbackToLogsOnError only; native sidecars a preStop too', async () => {
    const object = pod([unmutatedContainer('app')], {
      spec: {
        initContainers: [
          { name: 'migrate', image: 'x', command: ['/migrate'] },
          { name: 'proxy', image: 'x', command: ['/proxy'], restartPolicy: 'Always', readinessProbe: { tcpSocket: { port: 15000 } } },
        ],
      },
    });
    const patched = applyPatch(object, decodePatch((await admit(app, 'mutate', review(object))).patch));
    const [migrate, proxy] = podSpecOf(patched).initContainers as Json[];
    assert.equal(migrate!.terminationMessagePolicy, 'FallbackToLogsOnError');
    assert.equal(migrate!.lifecycle, undefined);
    assert.equal(proxy!.terminationMessagePolicy, 'FallbackToLogsOnError');
    assert.deepEqual(proxy!.lifecycle, { preStop: { sleep: { seconds: 5 } } });
  });

  test('a cluster older than 1.30 gets an exec sleep instead of the sleep action', async () => {
    const old = makeApp({}, { cluster: () => ({ version: { major: 1, minor: 29 } }) }).app;
    const object = pod([unmutatedContainer('app')]);
    const patched = applyPatch(object, decodePatch((await admit(old, 'mutate', review(object))).patch));
    assert.deepEqual(containersOf(patched)[0]!.lifecycle, { preStop: { exec: { command: ['sleep', '5'] } } });
  });

  test('run-to-completion Pods get no preStop', async () => {
    const object = pod([{ name: 'task', image: 'x', command: ['/task'] }], { spec: { restartPolicy: 'Never' } });
    const patched = applyPatch(object, decodePatch((await admit(app, 'mutate', review(object))).patch));
    assert.equal(containersOf(patched)[0]!.lifecycle, undefined);
    assert.equal(containersOf(patched)[0]!.terminationMessagePolicy, 'FallbackToLogsOnError');
  });

  test('controller-owned Pods are mutated on CREATE like any Pod', async () => {
    const owner = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d9f8', uid: 'rs', controller: true };
    const object = pod([unmutatedContainer('app')], { ownerReferences: [owner] });
    const response = await admit(app, 'mutate', review(object));
    assert.equal(response.patchType, 'JSONPatch');
  });

  test('the mutating endpoint never denies for validating rules', async () => {
    const response = await admit(app, 'mutate', review(pod([badContainer('app')])));
    assert.equal(response.allowed, true);
    assert.equal(response.warnings, undefined);
    assert.equal(response.patchType, 'JSONPatch');
  });

  test('Pods are not mutated on UPDATE, DELETE or CONNECT', async () => {
    const object = pod([unmutatedContainer('app')]);
    assertAllowedUntouched(await admit(app, 'mutate', review(object, { operation: 'UPDATE', oldObject: object })));
    assertAllowedUntouched(await admit(app, 'mutate', review(null, { operation: 'DELETE', oldObject: object, kind: 'Pod' })));
    assertAllowedUntouched(await admit(app, 'mutate', review(object, { operation: 'CONNECT' })));
  });

  test('dryRun requests get the same patch', async () => {
    const object = pod([unmutatedContainer('app')]);
    const normal = await admit(app, 'mutate', review(object, { uid: 'dry' }));
    const dryRun = await admit(app, 'mutate', review(object, { uid: 'dry', dryRun: true }));
    assert.deepEqual(dryRun, normal);
    assert.equal(dryRun.patchType, 'JSONPatch');
  });

  test('excluded namespaces and the opt-out annotation get no patch', async () => {
    for (const namespace of EXCLUDED) {
      assertAllowedUntouched(await admit(app, 'mutate', review(pod([unmutatedContainer('app')], { namespace }))));
    }
    const all = pod([unmutatedContainer('app')], { annotations: { 'lifecycle-guard.io/skip': 'all' } });
    assertAllowedUntouched(await admit(app, 'mutate', review(all)));

    const one = pod([unmutatedContainer('app')], { annotations: { 'lifecycle-guard.io/skip': 'inject-prestop-delay' } });
    const patched = applyPatch(one, decodePatch((await admit(app, 'mutate', review(one))).patch));
    assert.equal(containersOf(patched)[0]!.lifecycle, undefined);
    assert.equal(containersOf(patched)[0]!.terminationMessagePolicy, 'FallbackToLogsOnError');

    const strict = makeApp({ allowSkipAnnotation: false }).app;
    const forced = await admit(strict, 'mutate', review(all));
    assert.equal(forced.patchType, 'JSONPatch');
  });

  describe('workload kinds', () => {
    for (const kind of WORKLOAD_KINDS) {
      test(`${kind}: not mutated by default`, async () => {
        const object = workload(kind, [unmutatedContainer('app')]);
        assertAllowedUntouched(await admit(app, 'mutate', review(object)));
      });

      test(`${kind}: with mutateTemplates, its pod template is patched on CREATE and UPDATE`, async () => {
        const templates = makeApp({ mutateTemplates: true }).app;
        const object = workload(kind, [unmutatedContainer('app')]);
        const runToCompletion = kind === 'Job' || kind === 'CronJob';
        const prefix = kind === 'CronJob' ? '/spec/jobTemplate/spec/template/spec/' : '/spec/template/spec/';
        for (const operation of ['CREATE', 'UPDATE'] as const) {
          const body = review(object, { operation, ...(operation === 'UPDATE' ? { oldObject: object } : {}) });
          const response = await admit(templates, 'mutate', body);
          assert.equal(response.patchType, 'JSONPatch', `${operation}`);
          const operations = decodePatch(response.patch);
          for (const op of operations) assert.ok(op.path.startsWith(prefix), `${op.path} is outside the pod template`);
          const patched = applyPatch(object, operations);
          const [container] = containersOf(patched);
          assert.equal(container!.terminationMessagePolicy, 'FallbackToLogsOnError');
          if (runToCompletion) assert.equal(container!.lifecycle, undefined);
          else {
            assert.deepEqual(container!.lifecycle, { preStop: { sleep: { seconds: 5 } } });
            // The default grace period (30 s) is already longer than the 5 s delay plus 10 s to shut down.
            assert.equal(podSpecOf(patched).terminationGracePeriodSeconds, undefined);
          }
          assertAllowedUntouched(await admit(templates, 'mutate', review(patched, { operation })));
        }
        assertAllowedUntouched(await admit(templates, 'mutate', review(null, { operation: 'DELETE', oldObject: object, kind })));
      });
    }
  });

  describe('modes', () => {
    test('global audit: no patch; warnings and audit annotations say what would change', async () => {
      const audit = makeApp({ mode: 'audit' }).app;
      const object = pod([unmutatedContainer('app'), unmutatedContainer('worker')], { spec: { terminationGracePeriodSeconds: 5 } });
      const response = await admit(audit, 'mutate', review(object));
      assert.equal(response.allowed, true);
      assert.equal(response.patch, undefined);
      for (const rule of ['inject-prestop-delay', 'termination-message-fallback']) {
        for (const container of ['app', 'worker']) assert.match(warningFor(response, rule, container), /audit mode, not applied/);
      }
      assert.ok(
        response.warnings!.some((warning) =>
          /^\[inject-prestop-delay\] audit mode, not applied: raises terminationGracePeriodSeconds from 5 to 15/.test(warning),
        ),
      );
      assert.deepEqual(Object.keys(response.auditAnnotations ?? {}).sort(), ['inject-prestop-delay', 'termination-message-fallback']);
    });

    test('per-rule audit: that rule is reported, the other still patches', async () => {
      const mixed = makeApp({ rules: { 'inject-prestop-delay': { mode: 'audit' } } }).app;
      const object = pod([unmutatedContainer('app')]);
      const response = await admit(mixed, 'mutate', review(object));
      const patched = applyPatch(object, decodePatch(response.patch));
      assert.equal(containersOf(patched)[0]!.lifecycle, undefined);
      assert.equal(containersOf(patched)[0]!.terminationMessagePolicy, 'FallbackToLogsOnError');
      assert.match(warningFor(response, 'inject-prestop-delay', 'app'), /audit mode, not applied/);
      assert.deepEqual(Object.keys(response.auditAnnotations ?? {}), ['inject-prestop-delay']);
    });

    test('global off, and per-rule off for both mutating rules, are silent', async () => {
      for (const policy of [
        { mode: 'off' },
        { rules: { 'inject-prestop-delay': { mode: 'off' }, 'termination-message-fallback': { mode: 'off' } } },
      ]) {
        const off = makeApp(policy).app;
        assertAllowedUntouched(await admit(off, 'mutate', review(pod([unmutatedContainer('app')]))));
      }
    });
  });
});

describe('warning limits', () => {
  const owner = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d9f8', uid: 'rs', controller: true };
  const cases: { name: string; endpoint: Endpoint; policy: Json; object: (containers: Json[]) => Json }[] = [
    { name: 'validate, audit mode', endpoint: 'validate', policy: { mode: 'audit' }, object: (c) => pod(c) },
    { name: 'validate, controller-owned Pod', endpoint: 'validate', policy: {}, object: (c) => pod(c, { ownerReferences: [owner] }) },
    { name: 'mutate, audit mode', endpoint: 'mutate', policy: { mode: 'audit' }, object: (c) => pod(c) },
  ];
  for (const { name, endpoint, policy, object } of cases) {
    test(`a Pod with 60 containers stays within 256 characters per warning and 4 KiB in all (${name})`, async () => {
      const { app } = makeApp(policy);
      // Every container-name length a DNS label allows, and names in a multi-byte script.
      const names = [
        ...[1, 5, 9, 10, 17, 20, 25, 30, 33, 40, 45, 50, 55, 60, 63].map(
          (length) => (index: number) => `c${String(index).padStart(2, '0')}`.padEnd(length, 'x'),
        ),
        (index: number) => `контейнер-${index}`,
        (index: number) => `容器${index}`.padEnd(40, '器'),
      ];
      for (const nameOf of names) {
        const containers = Array.from({ length: 60 }, (_, index) => badContainer(nameOf(index)));
        const response = await admit(app, endpoint, review(object(containers)));
        assert.equal(response.allowed, true);
        const warnings = response.warnings ?? [];
        assert.ok(warnings.length > 1);
        const last = warnings[warnings.length - 1]!;
        assert.match(last, /^lifecycle-guard: \d+ more finding\(s\) not shown/);
        const shown = warnings.length - 1;
        const total = Number(/(\d+) more/.exec(last)![1]);
        assert.ok(shown + total >= 120, 'the "more" line counts what was left out');
      }
    });
  }

  test('one very long container name is cut to 256 characters', async () => {
    const { app } = makeApp({ mode: 'audit' });
    const response = await admit(app, 'validate', review(pod([badContainer('x'.repeat(1000))])));
    assert.equal(response.warnings?.length, 2);
    for (const warning of response.warnings) assert.equal(warning.length, 256);
  });
});

describe('a rule that throws', () => {
  test('failureMode allow: the request is allowed with a warning naming the rule, and the app keeps serving', async () => {
    const { app } = makeApp({ failureMode: 'allow' });
    await withBrokenRule('no-shell-entrypoint', async () => {
      const response = await admit(app, 'validate', review(pod([badContainer('app')])));
      assert.equal(response.allowed, true);
      assert.equal(response.warnings?.length, 1);
      assert.match(response.warnings[0]!, /internal error in rule\(s\) no-shell-entrypoint; admitted unchecked/);
    });
    await withBrokenRule('inject-prestop-delay', async () => {
      const response = await admit(app, 'mutate', review(pod([unmutatedContainer('app')])));
      assert.equal(response.allowed, true);
      assert.equal(response.patch, undefined, 'no half-applied mutation');
      assert.match(response.warnings?.[0] ?? '', /internal error in rule\(s\) inject-prestop-delay/);
    });
    // Restored: answers as usual.
    assertDenied(await admit(app, 'validate', review(pod([badContainer('app')]))), [
      ['no-shell-entrypoint', 'app'],
      ['require-readiness-probe', 'app'],
    ]);
    assert.equal((await admit(app, 'mutate', review(pod([unmutatedContainer('app')])))).patchType, 'JSONPatch');
  });

  test('failureMode deny: the request is refused, and the app keeps serving', async () => {
    const { app } = makeApp({ failureMode: 'deny' });
    await withBrokenRule('require-readiness-probe', async () => {
      const response = await admit(app, 'validate', review(pod([compliantContainer('app')])));
      assert.equal(response.allowed, false);
      assert.match(response.status!.message, /internal error in rule\(s\) require-readiness-probe; denied/);
    });
    await withBrokenRule('termination-message-fallback', async () => {
      const response = await admit(app, 'mutate', review(pod([unmutatedContainer('app')])));
      assert.equal(response.allowed, false);
      assert.equal(response.patch, undefined);
      assert.match(response.status!.message, /termination-message-fallback/);
    });
    assertAllowedUntouched(await admit(app, 'validate', review(pod([compliantContainer('app')]))));
  });

  test('a rule that is not in force cannot fail a request', async () => {
    const { app } = makeApp({ failureMode: 'deny', rules: { 'no-shell-entrypoint': { mode: 'off' } } });
    await withBrokenRule('no-shell-entrypoint', async () => {
      assertAllowedUntouched(await admit(app, 'validate', review(pod([compliantContainer('app')]))));
    });
  });

  test('an exception outside the rules is answered as failureMode says, not with a 5xx', async () => {
    for (const failureMode of ['allow', 'deny'] as const) {
      const good = makePolicy({ failureMode });
      const holder = new PolicyHolder(good);
      // A policy missing a part makes rule selection itself throw.
      Object.defineProperty(holder, 'current', { get: () => ({ ...good, exclude: undefined }) });
      const { app } = makeApp({}, { policy: holder });
      for (const endpoint of ['validate', 'mutate'] as const) {
        const response = await admit(app, endpoint, review(pod([unmutatedContainer('app')])));
        assert.equal(response.allowed, failureMode === 'allow');
        if (failureMode === 'allow') assert.match(response.warnings?.[0] ?? '', /internal error/);
        else assert.match(response.status?.message ?? '', /internal error/);
      }
      const health = await request(app).get('/healthz');
      assert.equal(health.status, 200);
    }
  });
});

/** Parses Prometheus text into samples keyed by name, with labels as objects. */
function samples(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const result: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    result.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return result;
}

function sampleValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples(text).find(
    (sample) =>
      sample.name === name &&
      Object.entries(labels).every(([key, value]) => sample.labels[key] === value) &&
      Object.keys(sample.labels).length === Object.keys(labels).length,
  );
  return found?.value;
}

describe('GET /metrics', () => {
  test('counts requests, durations, violations and policy reloads', async () => {
    const { app, metricsApp, holder } = makeApp();
    const before = await request(metricsApp).get('/metrics');
    assert.equal(before.status, 200);
    assert.match(String(before.headers['content-type']), /^text\/plain/);
    assert.equal(sampleValue(before.text, 'lifecycle_guard_policy_reloads_total'), 0);
    assert.equal(sampleValue(before.text, 'lifecycle_guard_policy_reload_errors_total'), 0);
    assert.match(before.text, /# TYPE lifecycle_guard_admission_requests_total counter/);
    assert.match(before.text, /# TYPE lifecycle_guard_admission_duration_seconds histogram/);
    assert.match(before.text, /# TYPE lifecycle_guard_violations_total counter/);

    await admit(app, 'validate', review(pod([badContainer('app')])));
    await admit(app, 'validate', review(pod([badContainer('app')])));
    await admit(app, 'validate', review(pod([compliantContainer('app')])));
    await admit(
      app,
      'validate',
      review(pod([badContainer('app')], { ownerReferences: [{ kind: 'ReplicaSet', name: 'rs', controller: true }] })),
    );
    await admit(app, 'mutate', review(pod([unmutatedContainer('app')])));
    await admit(app, 'validate', review({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }));
    await admit(app, 'validate', review(null, { operation: 'DELETE', oldObject: workload('Deployment', []), kind: 'Deployment' }));
    holder.replace(makePolicy({ mode: 'audit' }));
    holder.refuse();

    const after = (await request(metricsApp).get('/metrics')).text;
    const requests = 'lifecycle_guard_admission_requests_total';
    assert.equal(sampleValue(after, requests, { endpoint: 'validate', operation: 'CREATE', kind: 'Pod', verdict: 'denied' }), 2);
    assert.equal(sampleValue(after, requests, { endpoint: 'validate', operation: 'CREATE', kind: 'Pod', verdict: 'allowed' }), 1);
    assert.equal(sampleValue(after, requests, { endpoint: 'validate', operation: 'CREATE', kind: 'Pod', verdict: 'warned' }), 1);
    assert.equal(sampleValue(after, requests, { endpoint: 'mutate', operation: 'CREATE', kind: 'Pod', verdict: 'mutated' }), 1);
    assert.equal(sampleValue(after, requests, { endpoint: 'validate', operation: 'CREATE', kind: 'other', verdict: 'allowed' }), 1);
    assert.equal(sampleValue(after, requests, { endpoint: 'validate', operation: 'DELETE', kind: 'Deployment', verdict: 'allowed' }), 1);

    const validateCount = sampleValue(after, 'lifecycle_guard_admission_duration_seconds_count', { endpoint: 'validate' });
    assert.ok(validateCount !== undefined && validateCount >= 6);
    assert.equal(
      sampleValue(after, 'lifecycle_guard_admission_duration_seconds_bucket', { endpoint: 'validate', le: '+Inf' }),
      validateCount,
    );
    assert.ok((sampleValue(after, 'lifecycle_guard_admission_duration_seconds_sum', { endpoint: 'mutate' }) ?? -1) >= 0);

    assert.equal(sampleValue(after, 'lifecycle_guard_violations_total', { rule: 'no-shell-entrypoint', mode: 'enforce' }), 3);
    assert.equal(sampleValue(after, 'lifecycle_guard_violations_total', { rule: 'require-readiness-probe', mode: 'enforce' }), 3);
    assert.ok((sampleValue(after, 'lifecycle_guard_violations_total', { rule: 'inject-prestop-delay', mode: 'enforce' }) ?? 0) >= 1);
    assert.equal(sampleValue(after, 'lifecycle_guard_policy_reloads_total'), 1);
    assert.equal(sampleValue(after, 'lifecycle_guard_policy_reload_errors_total'), 1);

    // The policy put in force by replace() is the one used from then on: audit mode now.
    const audited = await admit(app, 'validate', review(pod([badContainer('app')])));
    assert.equal(audited.allowed, true);
    const later = (await request(metricsApp).get('/metrics')).text;
    assert.equal(sampleValue(later, 'lifecycle_guard_violations_total', { rule: 'no-shell-entrypoint', mode: 'audit' }), 1);
    assert.equal(sampleValue(later, requests, { endpoint: 'validate', operation: 'CREATE', kind: 'Pod', verdict: 'warned' }), 2);
  });

  test('odd kinds and operations do not create new series; rule failures count as error', async () => {
    const { app, metricsApp } = makeApp();
    const odd = review(pod([compliantContainer('app')]));
    odd.request.operation = 'PATCH-ALL-THE-THINGS';
    odd.request.kind = { group: 'x', version: 'v1', kind: 'Gadget' };
    await admit(app, 'validate', odd);
    await withBrokenRule('no-shell-entrypoint', () => admit(app, 'validate', review(pod([compliantContainer('app')]))));
    const text = (await request(metricsApp).get('/metrics')).text;
    const requests = samples(text).filter((sample) => sample.name === 'lifecycle_guard_admission_requests_total');
    assert.ok(requests.some((sample) => sample.labels.operation === 'other' && sample.labels.kind === 'other'));
    assert.ok(!text.includes('PATCH-ALL-THE-THINGS') && !text.includes('Gadget'));
    assert.equal(
      sampleValue(text, 'lifecycle_guard_admission_requests_total', {
        endpoint: 'validate',
        operation: 'CREATE',
        kind: 'Pod',
        verdict: 'error',
      }),
      1,
    );
  });
});

describe('health and routing', () => {
  test('/healthz and /readyz answer ok by default', async () => {
    const { app } = makeApp();
    const health = await request(app).get('/healthz');
    assert.equal(health.status, 200);
    assert.equal(health.text, 'ok');
    const ready = await request(app).get('/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.text, 'ok');
  });

  test('/readyz follows isReady; admission and health are still served when not ready (draining)', async () => {
    let ready = false;
    const { app } = makeApp({}, { isReady: () => ready });
    assert.equal((await request(app).get('/readyz')).status, 503);
    ready = true;
    assert.equal((await request(app).get('/readyz')).status, 200);

    ready = false;
    const notReady = await request(app).get('/readyz');
    assert.equal(notReady.status, 503);
    assert.equal(notReady.text, 'not ready');
    // Still serving admission requests and health while draining.
    const body = review(pod([compliantContainer('app')]));
    const res = await request(app).post('/validate').send(body);
    assertAllowedUntouched(checkEnvelope(res, body.request.uid));
    assert.equal((await request(app).get('/healthz')).status, 200);
  });

  test('unknown paths and methods are 404 with a JSON error', async () => {
    const { app } = makeApp();
    const cases = [
      request(app).get('/nope'),
      request(app).post('/nope').send({}),
      request(app).get('/validate'),
      request(app)
        .put('/mutate')
        .send(review(pod([]))),
      request(app).post('/healthz').send({}),
      request(app)
        .post('/validate/extra')
        .send(review(pod([]))),
    ];
    for (const pending of cases) {
      const res = await pending;
      assert.equal(res.status, 404);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      assert.equal(typeof res.body.error, 'string');
    }
  });

  test('extra routes from the composition answer JSON beside /metrics, never on the webhook port', async () => {
    const { app, metricsApp } = makeApp({}, { routes: { '/reports': () => ({ findings: [] }) } });
    const res = await request(metricsApp).get('/reports');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { findings: [] });
    for (const path of ['/reports', '/metrics']) assert.equal((await request(app).get(path)).status, 404, path);
    for (const path of ['/validate', '/healthz']) assert.equal((await request(metricsApp).get(path)).status, 404, path);
  });
});
