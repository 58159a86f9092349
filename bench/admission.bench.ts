// Speed targets for the admission path, which runs on every write to a cluster. Not a test: timing
// depends on the machine, so it runs on demand (`npm run bench`) and exits 1 when a target is missed.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import { pino } from 'pino';
import { evaluateObject } from '../src/engine/evaluate.js';
import { mutateObject } from '../src/engine/mutate.js';
import { DEFAULT_POLICY } from '../src/engine/policy.js';
import { createApp } from '../src/server/app.js';
import { createMetrics } from '../src/server/metrics.js';
import { PolicyHolder } from '../src/server/policy-holder.js';

// Set for the project's 2-core machines; the webhooks' timeoutSeconds is 5, so these leave a wide margin.
const TARGETS = {
  /** One object through every rule, evaluate + mutate. */
  evaluationMicros: 300,
  requestsPerSecond: 1500,
  p99Ms: 50,
};

/** A realistic Deployment: three containers, one native sidecar, probes, env, a shell command. */
const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        initContainers: [
          { name: 'migrate', image: 'app:1', command: ['/app/migrate'] },
          { name: 'proxy', image: 'envoy:1', restartPolicy: 'Always', readinessProbe: { httpGet: { path: '/ready', port: 9901 } } },
        ],
        containers: [
          {
            name: 'web',
            image: 'app:1',
            command: ['sh', '-c', 'exec /app/server --port 8080'],
            env: Array.from({ length: 20 }, (_, index) => ({ name: `VAR_${index}`, value: `value-${index}` })),
            readinessProbe: { httpGet: { path: '/healthz', port: 8080 } },
            livenessProbe: { httpGet: { path: '/livez', port: 8080 } },
          },
          { name: 'worker', image: 'app:1', command: ['/app/worker'] },
          { name: 'metrics', image: 'exporter:1', readinessProbe: { tcpSocket: { port: 9100 } } },
        ],
      },
    },
  },
};

function measureEvaluation(): number {
  const rounds = 20_000;
  for (let index = 0; index < 2000; index += 1) evaluateObject(deployment, DEFAULT_POLICY);
  const started = process.hrtime.bigint();
  for (let index = 0; index < rounds; index += 1) {
    evaluateObject(deployment, DEFAULT_POLICY);
    mutateObject(deployment, DEFAULT_POLICY);
  }
  return Number(process.hrtime.bigint() - started) / 1000 / rounds;
}

async function measureServer(): Promise<autocannon.Result> {
  const app = createApp({ policy: new PolicyHolder(DEFAULT_POLICY), metrics: createMetrics(), logger: pino({ level: 'silent' }) });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const pod = { ...deployment, kind: 'Pod', spec: deployment.spec.template.spec };
  const body = JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'bench',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      operation: 'CREATE',
      namespace: 'shop',
      name: 'web',
      object: pod,
    },
  });
  try {
    return await autocannon({
      url: `http://127.0.0.1:${port}`,
      connections: 16,
      duration: 10,
      requests: [
        { method: 'POST', path: '/validate', headers: { 'content-type': 'application/json' }, body },
        { method: 'POST', path: '/mutate', headers: { 'content-type': 'application/json' }, body },
      ],
    });
  } finally {
    server.close();
  }
}

const evaluationMicros = measureEvaluation();
const result = await measureServer();
const rows = [
  [
    'evaluate + mutate one Deployment',
    `${evaluationMicros.toFixed(1)} µs`,
    `< ${TARGETS.evaluationMicros} µs`,
    evaluationMicros < TARGETS.evaluationMicros,
  ],
  [
    'admission requests per second (16 connections)',
    result.requests.average.toFixed(0),
    `> ${TARGETS.requestsPerSecond}`,
    result.requests.average > TARGETS.requestsPerSecond,
  ],
  ['latency p99', `${result.latency.p99} ms`, `< ${TARGETS.p99Ms} ms`, result.latency.p99 < TARGETS.p99Ms],
  ['errors and non-2xx', String(result.errors + result.non2xx), '0', result.errors + result.non2xx === 0],
] as const;
for (const [name, value, target, met] of rows) console.log(`${met ? 'ok  ' : 'MISS'} ${name}: ${value} (target ${target})`);
process.exitCode = rows.every((row) => row[3]) ? 0 : 1;
