import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { CLEAN_DEPLOYMENT, DENIED_POD, MUTATE_ONLY_DEPLOYMENT, runCli, tempDir, writeFiles, type CliResult } from './run.js';

const dir = tempDir('fix');

function fix(args: string[], input?: string): CliResult {
  const result = runCli(['fix', ...args], { cwd: dir, ...(input === undefined ? {} : { input }) });
  assert.equal(result.status, 0, `fix ${args.join(' ')}: ${result.stderr}`);
  return result;
}

/** Number of changes `check` still reports on a text (written to a file first). */
function mutationsLeft(name: string, text: string): number {
  writeFiles(dir, { [name]: text });
  const result = runCli(['check', '-o', 'json', name], { cwd: dir });
  assert.notEqual(result.status, 2, result.stderr);
  return (JSON.parse(result.stdout) as { summary: { mutations: number } }).summary.mutations;
}

const commentLines = (text: string) =>
  text
    .split('\n')
    .filter((line) => line.includes('#'))
    .map((line) => line.slice(line.indexOf('#')).trim());

describe('fix: YAML', () => {
  let first = '';
  before(() => {
    writeFiles(dir, { 'web.yaml': MUTATE_ONLY_DEPLOYMENT });
    first = fix(['web.yaml']).stdout;
  });

  test('applies the mutating rules', () => {
    const fixed = parse(first) as {
      spec: { template: { spec: { terminationGracePeriodSeconds: number; containers: Record<string, unknown>[] } } };
    };
    const spec = fixed.spec.template.spec;
    assert.equal(spec.terminationGracePeriodSeconds, 15);
    assert.deepEqual(spec.containers[0]?.lifecycle, { preStop: { sleep: { seconds: 5 } } });
    assert.equal(spec.containers[0]?.terminationMessagePolicy, 'FallbackToLogsOnError');
  });

  test('changes nothing else: the rest of the object is as it was', () => {
    const original = parse(MUTATE_ONLY_DEPLOYMENT) as { spec: { template: { spec: Record<string, unknown> } } };
    const fixed = parse(first) as typeof original;
    const container = (fixed.spec.template.spec.containers as Record<string, unknown>[])[0];
    delete container?.lifecycle;
    delete container?.terminationMessagePolicy;
    fixed.spec.template.spec.terminationGracePeriodSeconds = 10;
    assert.deepEqual(fixed, original);
  });

  test('keeps every comment, in order', () => {
    assert.deepEqual(commentLines(first), commentLines(MUTATE_ONLY_DEPLOYMENT));
    assert.match(first, /^# Only mutating rules have something to say about this one\.\n/);
    assert.match(first, /terminationGracePeriodSeconds: 15 # too short for the delay/);
  });

  test('keeps key order (labels zeta before alpha, new keys after the existing ones)', () => {
    const fixed = parse(first) as {
      metadata: { labels: Record<string, string> };
      spec: { template: { spec: { containers: Record<string, unknown>[] } } };
    };
    assert.deepEqual(Object.keys(fixed), ['apiVersion', 'kind', 'metadata', 'spec']);
    assert.deepEqual(Object.keys(fixed.metadata.labels), ['zeta', 'alpha']);
    assert.deepEqual(Object.keys(fixed.spec.template.spec.containers[0] ?? {}), [
      'name',
      'image',
      'command',
      'readinessProbe',
      'ports',
      'lifecycle',
      'terminationMessagePolicy',
    ]);
  });

  test('keeps the flow-style collections of the input', () => {
    assert.match(first, /matchLabels: \{app: web\}/);
    assert.match(first, /command: \["\/app\/server", "--port", "8080"\]/);
  });

  test('does not write without --write', () => {
    assert.equal(readFileSync(join(dir, 'web.yaml'), 'utf8'), MUTATE_ONLY_DEPLOYMENT);
  });

  test('the result checks clean of mutating findings', () => {
    assert.equal(mutationsLeft('web.fixed.yaml', first), 0);
  });

  test('idempotent: fixing the result gives the same text', () => {
    writeFiles(dir, { 'web.again.yaml': first });
    assert.equal(fix(['web.again.yaml']).stdout, first);
  });

  test('--write writes the same text back and says so', () => {
    writeFiles(dir, { 'write.yaml': MUTATE_ONLY_DEPLOYMENT });
    const result = fix(['--write', 'write.yaml']);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /write\.yaml: 3 change\(s\) written/);
    assert.equal(readFileSync(join(dir, 'write.yaml'), 'utf8'), first);
    const again = fix(['-w', 'write.yaml']);
    assert.match(again.stderr, /write\.yaml: unchanged/);
    assert.equal(readFileSync(join(dir, 'write.yaml'), 'utf8'), first);
  });

  test('a manifest that needs no change is printed as it is, and left alone by --write', () => {
    writeFiles(dir, { 'clean.yaml': CLEAN_DEPLOYMENT });
    assert.equal(fix(['clean.yaml']).stdout, CLEAN_DEPLOYMENT);
    assert.match(fix(['--write', 'clean.yaml']).stderr, /clean\.yaml: unchanged/);
    assert.equal(readFileSync(join(dir, 'clean.yaml'), 'utf8'), CLEAN_DEPLOYMENT);
  });

  test('validating violations do not stop fix (exit 0) and are not "fixed"', () => {
    writeFiles(dir, { 'denied.yaml': DENIED_POD });
    const fixed = parse(fix(['denied.yaml']).stdout) as { spec: { containers: Record<string, unknown>[] } };
    assert.deepEqual(fixed.spec.containers[0]?.command, ['sh', '-c', './server']);
    assert.equal(fixed.spec.containers[0]?.readinessProbe, undefined);
    assert.equal(fixed.spec.containers[0]?.terminationMessagePolicy, 'FallbackToLogsOnError');
  });
});

describe('fix: other inputs', () => {
  test('multi-document YAML with comments, a List and a Service', () => {
    const text = `# head comment
${DENIED_POD}---
# a list
apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: DaemonSet
  metadata: {name: agent}
  spec:
    template:
      spec:
        containers:
        - name: agent # the agent
          image: example/agent
        - name: done
          image: example/agent
          lifecycle: {preStop: {exec: {command: [/drain]}}}
          terminationMessagePolicy: FallbackToLogsOnError
- apiVersion: v1
  kind: Service
  metadata: {name: svc}
`;
    writeFiles(dir, { 'multi.yaml': text });
    const out = fix(['multi.yaml']).stdout;
    assert.deepEqual(commentLines(out), commentLines(text));
    const documents = parseAllDocuments(out).map((document) => document.toJS() as Record<string, any>);
    assert.equal(documents.length, 2);
    assert.equal(documents[0]?.spec.containers[0].terminationMessagePolicy, 'FallbackToLogsOnError');
    const [daemonSet, service] = documents[1]?.items as Record<string, any>[];
    assert.deepEqual(daemonSet?.spec.template.spec.containers[0].lifecycle, { preStop: { sleep: { seconds: 5 } } });
    assert.deepEqual(daemonSet?.spec.template.spec.containers[1].lifecycle, { preStop: { exec: { command: ['/drain'] } } });
    assert.deepEqual(service, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc' } });
    assert.equal(mutationsLeft('multi.fixed.yaml', out), 0);
    writeFiles(dir, { 'multi.again.yaml': out });
    assert.equal(fix(['multi.again.yaml']).stdout, out);
  });

  test('JSON in, JSON out, key order kept', () => {
    const object = {
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: { name: 'j' },
      spec: { containers: [{ name: 'c', image: 'x', readinessProbe: { tcpSocket: { port: 1 } } }], terminationGracePeriodSeconds: 3 },
    };
    writeFiles(dir, { 'pod.json': JSON.stringify(object) });
    const out = fix(['pod.json']).stdout;
    const fixed = JSON.parse(out) as typeof object & { spec: { containers: Record<string, unknown>[] } };
    assert.deepEqual(Object.keys(fixed), ['kind', 'apiVersion', 'metadata', 'spec']);
    assert.deepEqual(Object.keys(fixed.spec), ['containers', 'terminationGracePeriodSeconds']);
    assert.equal(fixed.spec.terminationGracePeriodSeconds, 15);
    assert.deepEqual(fixed.spec.containers[0], {
      name: 'c',
      image: 'x',
      readinessProbe: { tcpSocket: { port: 1 } },
      lifecycle: { preStop: { sleep: { seconds: 5 } } },
      terminationMessagePolicy: 'FallbackToLogsOnError',
    });
    assert.equal(mutationsLeft('pod.fixed.json', out), 0);
    writeFiles(dir, { 'pod.again.json': out });
    assert.equal(fix(['pod.again.json']).stdout, out);
  });

  test('flow style YAML', () => {
    const text = '{apiVersion: v1, kind: Pod, metadata: {name: flow}, spec: {containers: [{name: c, image: x}]}} # one line\n';
    writeFiles(dir, { 'flow.yaml': text });
    const out = fix(['flow.yaml']).stdout;
    assert.match(out, /# one line/);
    assert.deepEqual((parse(out) as { spec: unknown }).spec, {
      containers: [
        { name: 'c', image: 'x', lifecycle: { preStop: { sleep: { seconds: 5 } } }, terminationMessagePolicy: 'FallbackToLogsOnError' },
      ],
    });
    assert.equal(mutationsLeft('flow.fixed.yaml', out), 0);
  });

  test('stdin as -', () => {
    const out = fix(['-'], MUTATE_ONLY_DEPLOYMENT).stdout;
    writeFiles(dir, { 'stdin-reference.yaml': MUTATE_ONLY_DEPLOYMENT });
    assert.equal(out, fix(['stdin-reference.yaml']).stdout);
  });

  test('YAML anchors and aliases are expanded, not crashed on', () => {
    const text = `apiVersion: v1
kind: Pod
metadata: {name: aliased}
spec:
  containers:
  - &app
    name: app
    image: x
    readinessProbe: {tcpSocket: {port: 1}}
  - *app
`;
    writeFiles(dir, { 'alias.yaml': text });
    const result = runCli(['fix', 'alias.yaml'], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    const containers = (parse(result.stdout) as { spec: { containers: Record<string, unknown>[] } }).spec.containers;
    assert.equal(containers.length, 2);
    for (const container of containers) {
      assert.deepEqual(container.lifecycle, { preStop: { sleep: { seconds: 5 } } });
      assert.equal(container.terminationMessagePolicy, 'FallbackToLogsOnError');
    }
    assert.equal(mutationsLeft('alias.fixed.yaml', result.stdout), 0);
  });

  test('--policy: parameters and modes of the policy', () => {
    writeFiles(dir, {
      'exec-policy.yaml': 'rules:\n  inject-prestop-delay: {action: exec, seconds: 7}\n  termination-message-fallback: {mode: off}\n',
      'audit-policy.yaml': 'mode: audit\n',
      'plain.yaml': 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: x\n',
    });
    const fixed = parse(fix(['--policy', 'exec-policy.yaml', 'plain.yaml']).stdout) as { spec: { containers: Record<string, unknown>[] } };
    assert.deepEqual(fixed.spec.containers[0], { name: 'c', image: 'x', lifecycle: { preStop: { exec: { command: ['sleep', '7'] } } } });
    assert.equal(fix(['--policy', 'audit-policy.yaml', 'plain.yaml']).stdout, readFileSync(join(dir, 'plain.yaml'), 'utf8'));
  });
});

describe('fix: errors exit 2', () => {
  test('bad YAML, missing file, invalid policy, --write to stdin, unknown option', () => {
    writeFiles(dir, { 'bad.yaml': 'kind: Pod\nspec:\n\tcontainers: []\n', 'bad-policy.yaml': 'mode: sometimes\n', 'ok.yaml': DENIED_POD });
    const cases: [string[], RegExp, string?][] = [
      [['bad.yaml'], /bad\.yaml:3\b/],
      [['missing.yaml'], /missing\.yaml/],
      [['--policy', 'bad-policy.yaml', 'ok.yaml'], /mode:/],
      [['--write', '-'], /stdin/, DENIED_POD],
      [['--frobnicate', 'ok.yaml'], /frobnicate/],
    ];
    for (const [args, stderr, input] of cases) {
      const result = runCli(['fix', ...args], { cwd: dir, ...(input === undefined ? {} : { input }) });
      assert.equal(result.status, 2, `fix ${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, stderr);
    }
    assert.equal(readFileSync(join(dir, 'ok.yaml'), 'utf8'), DENIED_POD);
  });
});

describe('fix --kube-version', () => {
  test('a cluster older than 1.30 gets an exec `sleep` preStop; 1.30 and newer the native sleep action', () => {
    const preStopOf = (output: string) => parse(output).spec.template.spec.containers[0].lifecycle.preStop;
    assert.deepEqual(preStopOf(fix(['--kube-version', '1.29', '-'], MUTATE_ONLY_DEPLOYMENT).stdout), { exec: { command: ['sleep', '5'] } });
    assert.deepEqual(preStopOf(fix(['--kube-version', 'v1.30.2', '-'], MUTATE_ONLY_DEPLOYMENT).stdout), { sleep: { seconds: 5 } });
    assert.deepEqual(preStopOf(fix(['-'], MUTATE_ONLY_DEPLOYMENT).stdout), { sleep: { seconds: 5 } });
    const bad = runCli(['fix', '--kube-version', 'latest', '-'], { cwd: dir, input: MUTATE_ONLY_DEPLOYMENT });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /Kubernetes version/);
  });
});
