import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { RULES } from '../../src/rules/index.js';
import { CLEAN_DEPLOYMENT, DENIED_POD, MUTATE_ONLY_DEPLOYMENT, runCli, tempDir, writeFiles } from './run.js';

const fixOf = (id: string) => RULES.find((rule) => rule.meta.id === id)?.meta.fix ?? assert.fail(id);

interface JsonReport {
  findings: Record<string, unknown>[];
  summary: Record<string, unknown> & { objects: number; findings: number; denied: number; warnings: number; mutations: number };
}

function json(stdout: string): JsonReport {
  return JSON.parse(stdout) as JsonReport;
}

const dir = tempDir('check');
writeFiles(dir, {
  'clean.yaml': CLEAN_DEPLOYMENT,
  'denied.yaml': DENIED_POD,
  'mutate-only.yaml': MUTATE_ONLY_DEPLOYMENT,
  'audit.yaml': 'mode: audit\n',
  'shell-audit.yaml': 'rules:\n  no-shell-entrypoint:\n    mode: audit\n  require-readiness-probe: {mode: audit}\n',
  'invalid-policy.yaml': 'mode: enforce\nrules:\n  inject-prestop-delay:\n    action: later\n',
  'unknown-key-policy.yaml': 'modes: audit\n',
  'broken-policy.yaml': 'mode: [audit\n',
  'empty.yaml': '',
  'service.yaml': 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports: [{port: 80}]\n',
  'tabs.yaml': 'kind: Pod\nspec:\n\tcontainers: []\n',
  'dup.yaml': 'apiVersion: v1\nkind: ConfigMap\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  name: y\n',
  'system.yaml': DENIED_POD.replace('namespace: shop', 'namespace: kube-system'),
});

describe('check: exit codes', () => {
  test('0: a clean manifest', () => {
    const result = runCli(['check', 'clean.yaml'], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, '');
    assert.match(result.stdout, /1 object\(s\) checked: 0 denied, 0 warning\(s\), 0 change\(s\)/);
  });

  test('1: a validating rule in enforce mode is violated', () => {
    const result = runCli(['check', 'denied.yaml'], { cwd: dir });
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stdout, /✗ no-shell-entrypoint \[enforce\] container app: runs `sh -c` as PID 1/);
    assert.match(result.stdout, /✗ require-readiness-probe \[enforce\] container app: has no readinessProbe/);
    assert.match(result.stdout, /fix: Run the program in exec form/);
    assert.match(result.stdout, /1 object\(s\) checked: 2 denied, 0 warning\(s\), 2 change\(s\)/);
  });

  test('1: one denied object among clean ones', () => {
    assert.equal(runCli(['check', 'clean.yaml', 'denied.yaml', 'mutate-only.yaml'], { cwd: dir }).status, 1);
  });

  test('0: the same violations under a policy in audit mode', () => {
    const result = runCli(['check', '--policy', 'audit.yaml', 'denied.yaml'], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /! no-shell-entrypoint \[audit\]/);
    assert.match(result.stdout, /0 denied, 2 warning\(s\)/);
  });

  test("0: the violated rules' own mode is audit", () => {
    const result = runCli(['check', 'denied.yaml', '--policy', 'shell-audit.yaml'], { cwd: dir });
    assert.equal(result.status, 0, result.stdout);
  });

  test('0: mutating findings never change the exit code', () => {
    const result = runCli(['check', 'mutate-only.yaml'], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /\+ inject-prestop-delay \[enforce\] container app: adds a preStop sleep of 5s/);
    assert.match(result.stdout, /\+ inject-prestop-delay \[enforce\] raises terminationGracePeriodSeconds from 10 to 15/);
    assert.match(result.stdout, /\+ termination-message-fallback \[enforce\] container app/);
    assert.match(result.stdout, /0 denied, 0 warning\(s\), 3 change\(s\)/);
  });

  test('0: nothing to check (empty file, kinds without a pod spec, excluded namespace)', () => {
    for (const file of ['empty.yaml', 'service.yaml', 'system.yaml']) {
      const result = runCli(['check', file], { cwd: dir });
      assert.equal(result.status, 0, `${file}: ${result.stdout}${result.stderr}`);
    }
  });

  test('2: unparseable YAML, with file and line', () => {
    const tabs = runCli(['check', 'tabs.yaml'], { cwd: dir });
    assert.equal(tabs.status, 2);
    assert.match(tabs.stderr, /tabs\.yaml:3\b/);
    assert.equal(tabs.stdout, '');
    const dup = runCli(['check', 'clean.yaml', 'dup.yaml'], { cwd: dir });
    assert.equal(dup.status, 2);
    assert.match(dup.stderr, /dup\.yaml:8\b/);
  });

  test('2: a YAML alias bomb is refused, not expanded', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let level = 1; level < 8; level += 1)
      lines.push(
        `l${level}: &l${level} [${Array(10)
          .fill(`*${level === 1 ? 'a' : `l${level - 1}`}`)
          .join(', ')}]`,
      );
    writeFiles(dir, { 'bomb.yaml': `${lines.join('\n')}\n` });
    const result = runCli(['check', 'bomb.yaml'], { cwd: dir });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /bomb\.yaml: invalid YAML: Excessive alias count/);
  });

  test('2, not 1, when the command fails for any other reason (serve on an address that does not exist)', () => {
    const result = runCli(['serve', '--host', '256.0.0.1', '--port', '0', '--cert-dir', join(dir, 'serve-certs')], { cwd: dir });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /^error: .*256\.0\.0\.1/m);
  });

  test('2: a file that does not exist', () => {
    const result = runCli(['check', 'clean.yaml', 'missing.yaml'], { cwd: dir });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /missing\.yaml/);
  });

  test('2: a path that cannot be read as a file', () => {
    const result = runCli(['check', join(dir, 'clean.yaml', 'child.yaml')], { cwd: dir });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /child\.yaml/);
  });

  test('2: an invalid policy, named with its key and allowed values', () => {
    const bad = runCli(['check', '--policy', 'invalid-policy.yaml', 'clean.yaml'], { cwd: dir });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /invalid-policy\.yaml/);
    assert.match(bad.stderr, /rules\.inject-prestop-delay\.action/);
    assert.match(bad.stderr, /"auto"\|"sleep"\|"exec"/);
    const unknown = runCli(['check', '--policy', 'unknown-key-policy.yaml', 'clean.yaml'], { cwd: dir });
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /modes: unknown key \(allowed: mode,/);
    const broken = runCli(['check', '--policy', 'broken-policy.yaml', 'clean.yaml'], { cwd: dir });
    assert.equal(broken.status, 2);
    assert.match(broken.stderr, /broken-policy\.yaml line \d+/);
    const missing = runCli(['check', '--policy', 'no-such-policy.yaml', 'clean.yaml'], { cwd: dir });
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /no-such-policy\.yaml/);
  });

  test('2: usage errors', () => {
    for (const args of [
      ['check', '--bogus', 'clean.yaml'],
      ['check'],
      ['check', '-o', 'xml', 'clean.yaml'],
      ['check', '--policy'],
      ['no-such-command'],
    ]) {
      const result = runCli(args, { cwd: dir });
      assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.notEqual(result.stderr, '', args.join(' '));
    }
  });
});

describe('check -o json', () => {
  test('exact shape', () => {
    const result = runCli(['check', 'denied.yaml', '-o', 'json'], { cwd: dir });
    assert.equal(result.status, 1);
    const report = json(result.stdout);
    assert.deepEqual(Object.keys(report), ['findings', 'summary']);
    const common = { file: 'denied.yaml', line: 1, kind: 'Pod', namespace: 'shop', name: 'denied', container: 'app' };
    assert.deepEqual(report.findings, [
      {
        ...common,
        rule: 'no-shell-entrypoint',
        type: 'validating',
        mode: 'enforce',
        message: 'runs `sh -c` as PID 1: the shell swallows SIGTERM and the app is SIGKILLed after the grace period',
        fix: fixOf('no-shell-entrypoint'),
      },
      {
        ...common,
        rule: 'require-readiness-probe',
        type: 'validating',
        mode: 'enforce',
        message: 'has no readinessProbe',
        fix: fixOf('require-readiness-probe'),
      },
      {
        ...common,
        rule: 'inject-prestop-delay',
        type: 'mutating',
        mode: 'enforce',
        message: 'adds a preStop sleep of 5s (lifecycle.preStop.sleep.seconds)',
        fix: fixOf('inject-prestop-delay'),
      },
      {
        ...common,
        rule: 'termination-message-fallback',
        type: 'mutating',
        mode: 'enforce',
        message: 'sets terminationMessagePolicy to FallbackToLogsOnError',
        fix: fixOf('termination-message-fallback'),
      },
    ]);
    assert.deepEqual(report.summary, {
      files: 1,
      objects: 1,
      findings: 4,
      denied: 2,
      warnings: 0,
      mutations: 2,
      byRule: { 'no-shell-entrypoint': 1, 'require-readiness-probe': 1, 'inject-prestop-delay': 1, 'termination-message-fallback': 1 },
    });
  });

  test('a pod-level finding has an empty container; audit mode is reported', () => {
    const report = json(runCli(['check', '-o', 'json', '--policy', 'audit.yaml', 'mutate-only.yaml'], { cwd: dir }).stdout);
    const grace = report.findings.find((finding) => String(finding.message).startsWith('raises terminationGracePeriodSeconds'));
    assert.equal(grace?.container, '');
    assert.equal(grace?.mode, 'audit');
    assert.equal(grace?.line, 2);
  });

  test('clean: no findings, summary with zeros', () => {
    const result = runCli(['check', '-o', 'json', 'clean.yaml', 'service.yaml'], { cwd: dir });
    assert.equal(result.status, 0);
    assert.deepEqual(json(result.stdout), {
      findings: [],
      summary: { files: 2, objects: 2, findings: 0, denied: 0, warnings: 0, mutations: 0, byRule: {} },
    });
  });
});

describe('check: inputs', () => {
  test('stdin as -', () => {
    const result = runCli(['check', '-', '-o', 'json'], { cwd: dir, input: DENIED_POD });
    assert.equal(result.status, 1, result.stderr);
    const report = json(result.stdout);
    assert.ok(report.findings.length > 0);
    assert.ok(report.findings.every((finding) => finding.file === '-'));
    assert.equal(runCli(['check', '-'], { cwd: dir, input: CLEAN_DEPLOYMENT }).status, 0);
  });

  test('directories are searched recursively for .yaml, .yml and .json', () => {
    const tree = tempDir('check-tree');
    writeFiles(tree, {
      'a.yaml': CLEAN_DEPLOYMENT,
      'nested/deeper/b.yml': DENIED_POD.replace('name: denied', 'name: deep'),
      'nested/c.json': JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'json-pod' },
        spec: { containers: [{ name: 'c', image: 'x' }] },
      }),
      'nested/notes.txt': 'kind: Pod\nspec: {containers: [{name: ignored}]}\n',
      'README.md': '# not a manifest\n',
    });
    const result = runCli(['check', '-o', 'json', '.'], { cwd: tree });
    assert.equal(result.status, 1, result.stderr);
    const report = json(result.stdout);
    assert.equal(report.summary.files, 3);
    assert.equal(report.summary.objects, 3);
    assert.deepEqual([...new Set(report.findings.map((finding) => finding.name))].sort(), ['deep', 'json-pod']);
    assert.deepEqual([...new Set(report.findings.map((finding) => finding.file))].sort(), [
      join('nested', 'c.json'),
      join('nested', 'deeper', 'b.yml'),
    ]);
  });

  test('multi-document YAML with comments: every object, each with its line', () => {
    const text = `# first
${CLEAN_DEPLOYMENT}---
# second, denied
${DENIED_POD}---
${MUTATE_ONLY_DEPLOYMENT}`;
    writeFiles(dir, { 'multi.yaml': text });
    const result = runCli(['check', '-o', 'json', 'multi.yaml'], { cwd: dir });
    assert.equal(result.status, 1);
    const report = json(result.stdout);
    assert.equal(report.summary.objects, 3);
    const lines = Object.fromEntries(report.findings.map((finding) => [finding.name, finding.line]));
    const lineOf = (needle: string) => text.split('\n').indexOf(needle) + 1;
    assert.deepEqual(lines, {
      denied: lineOf('# second, denied') + 1,
      web: lineOf('# Only mutating rules have something to say about this one.') + 1,
    });
  });

  test('kind: List: its items are checked', () => {
    writeFiles(dir, {
      'list.yaml': `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: one}
  spec:
    containers:
    - {name: c, image: x, command: [/bin/bash, -lc, run]}
- apiVersion: v1
  kind: Service
  metadata: {name: svc}
- apiVersion: v1
  kind: Pod
  metadata: {name: two}
  spec:
    containers:
    - {name: c, image: x, readinessProbe: {tcpSocket: {port: 1}}}
`,
    });
    const result = runCli(['check', '-o', 'json', 'list.yaml'], { cwd: dir });
    assert.equal(result.status, 1);
    const report = json(result.stdout);
    assert.equal(report.summary.objects, 3);
    const shell = report.findings.filter((finding) => finding.rule === 'no-shell-entrypoint');
    assert.deepEqual(
      shell.map((finding) => [finding.name, finding.line]),
      [['one', 4]],
    );
    assert.deepEqual([...new Set(report.findings.map((finding) => finding.name))], ['one', 'two']);
  });

  test('JSON input, including a List', () => {
    const list = {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'apps/v1',
          kind: 'StatefulSet',
          metadata: { name: 'db' },
          spec: { template: { spec: { containers: [{ name: 'db', image: 'pg' }] } } },
        },
      ],
    };
    writeFiles(dir, { 'list.json': JSON.stringify(list, null, 2) });
    const result = runCli(['check', '-o', 'json', 'list.json'], { cwd: dir });
    assert.equal(result.status, 1);
    const report = json(result.stdout);
    assert.deepEqual(
      report.findings.map((finding) => [finding.kind, finding.name, finding.rule]),
      [
        ['StatefulSet', 'db', 'require-readiness-probe'],
        ['StatefulSet', 'db', 'inject-prestop-delay'],
        ['StatefulSet', 'db', 'termination-message-fallback'],
      ],
    );
  });

  test('flow style YAML', () => {
    writeFiles(dir, {
      'flow.yaml': '{apiVersion: v1, kind: Pod, metadata: {name: flow}, spec: {containers: [{name: c, image: x, args: [sh, -c, run]}]}}\n',
    });
    const report = json(runCli(['check', '-o', 'json', 'flow.yaml'], { cwd: dir }).stdout);
    assert.ok(
      report.findings.some((finding) => finding.rule === 'no-shell-entrypoint' && finding.name === 'flow' && finding.container === 'c'),
    );
  });
});

describe('check: table output', () => {
  test('no ANSI colour when stdout is not a terminal', () => {
    const result = runCli(['check', 'denied.yaml', 'mutate-only.yaml', '--policy', 'shell-audit.yaml'], { cwd: dir });
    assert.ok(!result.stdout.includes('\u001b['), 'no escape sequence');
    assert.match(result.stdout, /✗|!|\+/);
  });

  test('grouped by file, then by object with its line', () => {
    const result = runCli(['check', 'denied.yaml'], { cwd: dir });
    const lines = result.stdout.split('\n');
    assert.equal(lines[0], 'denied.yaml');
    assert.equal(lines[1], '  Pod shop/denied (line 1)');
  });
});
