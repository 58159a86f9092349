// Bodies that are not proper AdmissionReviews: each gets a 4xx JSON error or a proper answer, never a 5xx,
// and the app keeps serving.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import request from 'supertest';
import {
  ADMISSION_API_VERSION,
  applyPatch,
  badContainer,
  compliantContainer,
  decodePatch,
  makeApp,
  pod,
  review,
  unmutatedContainer,
  type Json,
} from './helpers.js';

const MIB = 1024 * 1024;

function listen(app: ReturnType<typeof makeApp>['app']): Promise<Server> {
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

function assertJsonError(res: request.Response, status: number): void {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text.slice(0, 300)}`);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  assert.equal(typeof res.body.error, 'string');
  assert.ok(res.body.error.length > 0);
}

async function assertStillServing(server: Server): Promise<void> {
  assert.equal((await request(server).get('/healthz')).status, 200);
  const body = review(pod([badContainer('app')]));
  const res = await request(server).post('/validate').send(body);
  assert.equal(res.status, 200);
  assert.equal(res.body.response.uid, body.request.uid);
  assert.equal(typeof res.body.response.allowed, 'boolean');
}

describe('bodies that are not AdmissionReviews', () => {
  let server: Server;
  before(async () => {
    server = await listen(makeApp().app);
  });
  after(() => close(server));

  for (const endpoint of ['validate', 'mutate']) {
    test(`/${endpoint}: malformed JSON is 400 with a JSON error`, async () => {
      for (const text of ['{', '{"apiVersion": "admission.k8s.io/v1",', 'not json at all', '{"a":1}}', "{'single': 'quotes'}", '\u0000']) {
        assertJsonError(await request(server).post(`/${endpoint}`).set('content-type', 'application/json').send(text), 400);
      }
    });

    test(`/${endpoint}: JSON that is not an object is 400`, async () => {
      for (const text of [
        'null',
        '123',
        '"AdmissionReview"',
        'true',
        '[]',
        '[{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}]',
      ]) {
        assertJsonError(await request(server).post(`/${endpoint}`).set('content-type', 'application/json').send(text), 400);
      }
    });

    test(`/${endpoint}: an empty body is 400`, async () => {
      assertJsonError(await request(server).post(`/${endpoint}`).set('content-type', 'application/json').send(''), 400);
      assertJsonError(await request(server).post(`/${endpoint}`), 400);
    });

    test(`/${endpoint}: a review without a request, or a request without a uid, is 400`, async () => {
      const good = review(pod([compliantContainer('app')]));
      const cases: unknown[] = [
        { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview' },
        { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', request: null },
        { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', request: 'CREATE' },
        { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', request: [good.request] },
        { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response: { uid: 'x', allowed: true } },
        { ...good, request: { ...good.request, uid: undefined } },
        { ...good, request: { ...good.request, uid: '' } },
        { ...good, request: { ...good.request, uid: 42 } },
        { ...good, request: { ...good.request, uid: { id: 'x' } } },
        { ...good, request: { ...good.request, uid: null } },
      ];
      for (const body of cases)
        assertJsonError(
          await request(server)
            .post(`/${endpoint}`)
            .send(body as object),
          400,
        );
    });

    test(`/${endpoint}: a wrong apiVersion or kind is 400`, async () => {
      const good = review(pod([compliantContainer('app')]));
      const cases: Json[] = [
        { ...good, apiVersion: 'admission.k8s.io/v1beta1' },
        { ...good, apiVersion: 'v1' },
        { ...good, apiVersion: undefined },
        { ...good, apiVersion: 1 },
        { ...good, kind: 'Pod' },
        { ...good, kind: undefined },
        { ...good, kind: ['AdmissionReview'] },
      ];
      for (const body of cases) assertJsonError(await request(server).post(`/${endpoint}`).send(body), 400);
    });
  }

  test('the body is parsed as JSON whatever its content type says', async () => {
    const body = review(pod([compliantContainer('app')]));
    for (const type of ['text/plain', 'application/octet-stream', 'application/json; charset=utf-8']) {
      const res = await request(server)
        .post('/validate')
        .set('content-type', type)
        .send(JSON.stringify(body).replace(`"${DEEP}"`, deep(100_000)));
      assert.equal(res.status, 200, type);
      assert.equal(res.body.response.uid, body.request.uid);
    }
  });

  test('a body up to 7 MiB is answered; above it is 413', async () => {
    const sized = (bytes: number) => {
      const body = review(pod([unmutatedContainer('app')]));
      const base = Buffer.byteLength(JSON.stringify(body));
      ((body.request.object as Json).metadata as Json).annotations = { big: 'x'.repeat(bytes - base - 20) };
      const text = JSON.stringify(body);
      return { text, uid: body.request.uid, size: Buffer.byteLength(text) };
    };
    const under = sized(7 * MIB - 1024);
    assert.ok(under.size <= 7 * MIB);
    const ok = await request(server).post('/mutate').set('content-type', 'application/json').send(under.text);
    assert.equal(ok.status, 200);
    assert.equal(ok.body.response.uid, under.uid);
    assert.equal(ok.body.response.patchType, 'JSONPatch');

    const over = sized(7 * MIB + 1024);
    assert.ok(over.size > 7 * MIB);
    assertJsonError(await request(server).post('/mutate').set('content-type', 'application/json').send(over.text), 413);
    await assertStillServing(server);
  });

  test('a 12 MiB body is 413, with a Content-Length or chunked', async () => {
    const big = JSON.stringify({ ...review(pod([])), padding: 'x'.repeat(12 * MIB) });
    assertJsonError(await request(server).post('/validate').set('content-type', 'application/json').send(big), 413);

    // Chunked: the limit is enforced while reading, without a Content-Length to go by.
    const { port } = server.address() as AddressInfo;
    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/validate',
          headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      const chunk = Buffer.from(big.slice(0, MIB));
      let written = 0;
      const writeMore = () => {
        while (written < 12) {
          written += 1;
          if (!req.write(chunk)) {
            req.once('drain', writeMore);
            return;
          }
        }
        req.end();
      };
      writeMore();
    });
    assert.equal(chunked.status, 413);
    assert.equal(typeof JSON.parse(chunked.body).error, 'string');
    await assertStillServing(server);
  });
});

describe('wrong types in every field', () => {
  const apps = [
    makeApp(),
    makeApp({ mode: 'audit', mutateTemplates: true, failureMode: 'deny', rules: { 'distinct-liveness-readiness': { mode: 'enforce' } } }),
    makeApp({ failureMode: 'deny', allowSkipAnnotation: false }),
  ];
  const servers: Server[] = [];
  before(async () => {
    for (const { app } of apps) servers.push(await listen(app));
  });
  after(async () => {
    for (const server of servers) await close(server);
  });

  const isPlainObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

  // Keys the code looks for, and keys that are dangerous in JavaScript objects.
  const key = fc.oneof(
    fc.string({ maxLength: 8 }),
    fc.constantFrom(
      'kind',
      'spec',
      'containers',
      'command',
      'args',
      'name',
      'metadata',
      'annotations',
      'template',
      'readinessProbe',
      'lifecycle',
      'preStop',
    ),
    fc.constantFrom('__proto__', 'constructor', 'toString', 'valueOf', 'toJSON', 'hasOwnProperty'),
  );
  const garbage = fc.anything({ maxDepth: 3, maxKeys: 5, key, withObjectString: true });
  /** Mostly the right type, sometimes anything at all, sometimes missing (undefined is left out of the JSON). */
  function field<T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
    return fc.oneof({ arbitrary: valid, weight: 12 }, { arbitrary: garbage, weight: 1 }, { arbitrary: fc.constant(undefined), weight: 1 });
  }
  /** A field that is usually absent (its presence makes the webhook lenient or changes nothing). */
  function optional<T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
    return fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, { arbitrary: valid, weight: 2 }, { arbitrary: garbage, weight: 1 });
  }
  const shellish = fc.constantFrom(
    ['sh', '-c', 'sleep 1; app'],
    ['/bin/bash', '-c', 'exec app'],
    ['/app/server'],
    ['tini', '--', 'sh', '-c', 'x'],
    [],
  );
  const argv = fc.oneof(
    { arbitrary: shellish, weight: 3 },
    { arbitrary: fc.array(fc.oneof(fc.string(), garbage), { maxLength: 4 }), weight: 1 },
  );
  const probe = fc.oneof(
    fc.constant({ httpGet: { path: '/healthz', port: 8080 } }),
    fc.record({ exec: field(fc.record({ command: field(argv) })) }),
  );
  const container = fc.record({
    name: field(fc.oneof(fc.constantFrom('app', 'sidecar', 'x'.repeat(300)), fc.string())),
    image: field(fc.string()),
    command: field(argv),
    args: optional(argv),
    readinessProbe: fc.oneof(probe, fc.constant(undefined), garbage),
    livenessProbe: optional(probe),
    lifecycle: optional(
      fc.record({ preStop: field(fc.record({ sleep: field(fc.record({ seconds: field(fc.integer()) })) })), postStart: garbage }),
    ),
    terminationMessagePolicy: optional(fc.constantFrom('File', 'FallbackToLogsOnError')),
    restartPolicy: optional(fc.constantFrom('Always', 'Never')),
  });
  const containers = fc.array(field(container), { minLength: 1, maxLength: 4 });
  const podSpec = fc.record({
    containers: field(containers),
    initContainers: optional(containers),
    restartPolicy: optional(fc.constantFrom('Always', 'OnFailure', 'Never')),
    terminationGracePeriodSeconds: optional(fc.integer({ min: -5, max: 100 })),
  });
  const metadata = fc.record({
    name: field(fc.string()),
    generateName: optional(fc.string()),
    namespace: optional(fc.constantFrom('default', 'kube-system', 'team-a', '')),
    annotations: optional(
      fc.dictionary(
        fc.constantFrom('lifecycle-guard.io/skip', 'other'),
        field(fc.constantFrom('all', 'no-shell-entrypoint', 'inject-prestop-delay, require-readiness-probe', '')),
      ),
    ),
    ownerReferences: optional(
      fc.array(
        fc.record({ kind: field(fc.constantFrom('ReplicaSet', 'Job')), name: field(fc.string()), controller: field(fc.boolean()) }),
        { maxLength: 2 },
      ),
    ),
  });
  const template = fc.record({ metadata: field(metadata), spec: field(podSpec) });
  const workloadKinds = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'Job'];
  const kindName = fc.constantFrom('Pod', ...workloadKinds, 'CronJob', 'ConfigMap', 'constructor');
  const cronJobSpec = fc.record({ jobTemplate: field(fc.record({ spec: field(fc.record({ template: field(template) })) })) });
  const object = fc.oneof(
    { arbitrary: fc.record({ kind: field(fc.constant('Pod')), metadata: field(metadata), spec: field(podSpec) }), weight: 4 },
    {
      arbitrary: fc.record({
        kind: field(fc.constantFrom(...workloadKinds)),
        metadata: field(metadata),
        spec: field(fc.record({ template: field(template) })),
      }),
      weight: 3,
    },
    { arbitrary: fc.record({ kind: field(fc.constant('CronJob')), metadata: field(metadata), spec: field(cronJobSpec) }), weight: 1 },
    {
      arbitrary: fc.record({
        kind: field(kindName),
        metadata: field(metadata),
        spec: field(fc.oneof(podSpec, fc.record({ template: field(template) }))),
      }),
      weight: 1,
    },
    { arbitrary: garbage, weight: 1 },
  );
  const admissionRequest = fc.record({
    uid: fc.oneof(
      { arbitrary: fc.uuid(), weight: 12 },
      { arbitrary: fc.string({ maxLength: 3 }), weight: 1 },
      { arbitrary: garbage, weight: 1 },
    ),
    kind: field(fc.record({ group: field(fc.string()), version: field(fc.string()), kind: field(kindName) })),
    operation: field(
      fc.oneof(
        { arbitrary: fc.constant('CREATE'), weight: 3 },
        { arbitrary: fc.constantFrom('UPDATE', 'DELETE', 'CONNECT', 'create', ''), weight: 2 },
      ),
    ),
    namespace: optional(fc.constantFrom('default', 'kube-system', 'lifecycle-guard', '')),
    name: field(fc.string()),
    object: field(object),
    oldObject: optional(object),
    dryRun: field(fc.boolean()),
  });
  /** The API server's request.kind matches the object's kind; mostly so here too. */
  const consistentRequest = fc.tuple(admissionRequest, fc.nat({ max: 3 })).map(([req, dice]) => {
    const object = req.object as Json | undefined;
    if (dice === 0 || !isPlainObject(req.kind) || !isPlainObject(object) || object.kind === undefined) return req;
    return { ...req, kind: { ...req.kind, kind: object.kind } };
  });
  /** The envelope is mostly right, so that most bodies reach the rules. */
  const mostly = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ arbitrary: valid, weight: 15 }, { arbitrary: garbage, weight: 1 });
  const body = fc.record({
    apiVersion: mostly(fc.constant(ADMISSION_API_VERSION)),
    kind: mostly(fc.constant('AdmissionReview')),
    request: mostly(consistentRequest),
  });

  /** What a correct webhook answers: 400 when no uid can be echoed, otherwise 200. */
  function expectedStatus(sent: unknown): number {
    if (!isPlainObject(sent) || sent.apiVersion !== ADMISSION_API_VERSION || sent.kind !== 'AdmissionReview') return 400;
    const req = sent.request;
    if (!isPlainObject(req) || typeof req.uid !== 'string' || req.uid === '') return 400;
    return 200;
  }

  test('every AdmissionReview-shaped body gets a 200 with its uid or a 4xx, never a 5xx', async () => {
    const seen = { answered: 0, total: 0 };
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom('validate', 'mutate'), fc.nat({ max: apps.length - 1 }), async (value, endpoint, appIndex) => {
        const text = JSON.stringify(value);
        const sent: unknown = JSON.parse(text);
        const res = await request(servers[appIndex]!).post(`/${endpoint}`).set('content-type', 'application/json').send(text);
        assert.ok(res.status < 500, `5xx (${res.status}): ${res.text}`);
        seen.total += 1;
        assert.equal(res.status, expectedStatus(sent), res.text);
        assert.match(String(res.headers['content-type']), /^application\/json/);
        if (res.status !== 200) {
          assert.equal(typeof res.body.error, 'string');
          return;
        }
        seen.answered += 1;
        const request_ = (sent as Json).request as Json;
        assert.equal(res.body.apiVersion, ADMISSION_API_VERSION);
        assert.equal(res.body.kind, 'AdmissionReview');
        const response = res.body.response as Json;
        assert.equal(response.uid, request_.uid);
        assert.equal(typeof response.allowed, 'boolean');
        if (response.allowed === false) assert.equal(typeof (response.status as Json | undefined)?.message, 'string');
        if (response.warnings !== undefined) {
          const warnings = response.warnings as string[];
          for (const warning of warnings) assert.ok(warning.length <= 256 && !/^warning:/i.test(warning));
          assert.ok(warnings.reduce((sum, warning) => sum + Buffer.byteLength(warning), 0) < 4096);
        }
        if (response.patch !== undefined) {
          assert.equal(endpoint, 'mutate');
          assert.equal(response.patchType, 'JSONPatch');
          // The patch applies cleanly to the object that was sent.
          applyPatch(request_.object, decodePatch(response.patch));
        }
      }),
      { numRuns: 200 },
    );
    // The generator mostly builds answerable reviews: the property is about answers, not only about 400s.
    assert.ok(seen.answered >= seen.total / 4, `only ${seen.answered} of ${seen.total} bodies were answerable`);
    for (const server of servers) await assertStillServing(server);
  });

  test('hand-picked wrong types answer 200 with the uid', async () => {
    const good = () => review(pod([badContainer('app')]));
    const mutations: [string, (body: ReturnType<typeof review>) => void][] = [
      ['object is a string', (b) => (b.request.object = 'a Pod')],
      ['object is a number', (b) => (b.request.object = 42)],
      ['object is an array', (b) => (b.request.object = [pod([badContainer('app')])])],
      ['object is null', (b) => (b.request.object = null)],
      ['object is missing', (b) => delete b.request.object],
      ['spec is a string', (b) => ((b.request.object as Json).spec = 'spec')],
      ['containers is an object', (b) => (((b.request.object as Json).spec as Json).containers = { app: badContainer('app') })],
      [
        'containers holds strings and nulls',
        (b) => (((b.request.object as Json).spec as Json).containers = ['app', null, 3, [badContainer('x')]]),
      ],
      ['command is a string', (b) => (containersOfBody(b)[0]!.command = 'sh -c "sleep 1; app"')],
      ['command holds objects and nulls', (b) => (containersOfBody(b)[0]!.command = ['sh', '-c', { script: 'x' }, null])],
      ['command holds an object with a non-callable toString', (b) => (containersOfBody(b)[0]!.command = ['sh', '-c', { toString: 'x' }])],
      ['args is a number', (b) => (containersOfBody(b)[0]!.args = 7)],
      ['name is a number', (b) => (containersOfBody(b)[0]!.name = 7)],
      ['readinessProbe is a string', (b) => (containersOfBody(b)[0]!.readinessProbe = 'yes')],
      ['lifecycle is an array', (b) => (containersOfBody(b)[0]!.lifecycle = ['preStop'])],
      ['lifecycle.preStop is null', (b) => (containersOfBody(b)[0]!.lifecycle = { preStop: null })],
      [
        'terminationGracePeriodSeconds is a string',
        (b) => (((b.request.object as Json).spec as Json).terminationGracePeriodSeconds = '30'),
      ],
      ['operation is a number', (b) => (b.request.operation = 1)],
      ['operation is missing', (b) => delete b.request.operation],
      ['kind is a string', (b) => (b.request.kind = 'Pod')],
      ['kind.kind is a number', (b) => (b.request.kind = { group: '', version: 'v1', kind: 5 })],
      ['object kind is an object', (b) => ((b.request.object as Json).kind = { kind: 'Pod' })],
      ['namespace is an object', (b) => (b.request.namespace = { name: 'default' })],
      ['metadata is an array', (b) => ((b.request.object as Json).metadata = ['web'])],
      ['annotations is an array', (b) => ((b.request.object as Json).metadata = { name: 'web', annotations: ['lifecycle-guard.io/skip'] })],
      [
        'skip annotation is a number',
        (b) => ((b.request.object as Json).metadata = { name: 'web', annotations: { 'lifecycle-guard.io/skip': 1 } }),
      ],
      [
        'ownerReferences is an object',
        (b) => ((b.request.object as Json).metadata = { name: 'web', ownerReferences: { kind: 'ReplicaSet', controller: true } }),
      ],
      ['dryRun is a string', (b) => (b.request.dryRun = 'true')],
      ['oldObject is a string on UPDATE', (b) => Object.assign(b.request, { operation: 'UPDATE', oldObject: 'old' })],
      ['deeply nested labels', (b) => ((b.request.object as Json).metadata = { name: 'web', labels: DEEP })],
    ];
    for (const endpoint of ['validate', 'mutate']) {
      for (const server of servers) {
        for (const [name, mutate] of mutations) {
          const body = good();
          mutate(body);
          const res = await request(server)
            .post(`/${endpoint}`)
            .set('content-type', 'application/json')
            .send(JSON.stringify(body).replace(`"${DEEP}"`, deep(100_000)));
          assert.equal(res.status, 200, `${endpoint} / ${name}: ${res.status} ${res.text.slice(0, 300)}`);
          assert.equal(res.body.response.uid, body.request.uid, `${endpoint} / ${name}`);
          assert.equal(typeof res.body.response.allowed, 'boolean', `${endpoint} / ${name}`);
        }
        await assertStillServing(server);
      }
    }
  });
});

function containersOfBody(body: ReturnType<typeof review>): Json[] {
  return ((body.request.object as Json).spec as Json).containers as Json[];
}

/** Stands for a deeply nested value, spliced into the JSON text (JSON.stringify itself cannot nest that deep). */
const DEEP = '<deeply nested>';

function deep(depth: number): string {
  return `${'{"next":'.repeat(depth)}{"leaf":"x"}${'}'.repeat(depth)}`;
}
