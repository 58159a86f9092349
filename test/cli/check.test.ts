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
    assert.match(result.stdout, /1 object\(s\) checked: 0 denied \(0 findings\), 0 admitted with warnings \(0 findings\), 0 change\(s\)/);
  });

  test('1: a validating rule in enforce mode is violated', () => {
    const result = runCli(['check', 'denied.yaml'], { cwd: dir });
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stdout, /✗ no-shell-entrypoint \[enforce\] container app: runs `sh -c` as PID 1/);
    assert.match(result.stdout, /✗ require-readiness-probe \[enforce\] container app: has no readinessProbe/);
    assert.match(result.stdout, /no-shell-entrypoint: Run the program in exec form/);
    assert.match(result.stdout, /1 object\(s\) checked: 1 denied \(2 findings\), 0 admitted with warnings \(0 findings\), 2 change\(s\)/);
  });

  test('1: one denied object among clean ones', () => {
    assert.equal(runCli(['check', 'clean.yaml', 'denied.yaml', 'mutate-only.yaml'], { cwd: dir }).status, 1);
  });

  test('0: the same violations under a policy in audit mode', () => {
    const result = runCli(['check', '--policy', 'audit.yaml', 'denied.yaml'], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /! no-shell-entrypoint \[audit\]/);
    assert.match(result.stdout, /0 denied \(0 findings\), 1 admitted with warnings \(2 findings\)/);
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
    assert.match(result.stdout, /0 denied \(0 findings\), 0 admitted with warnings \(0 findings\), 3 change\(s\)/);
  });

  test('0: nothing to check (empty file, kinds without a pod spec, excluded namespace)', () => {
    for (const file of ['empty.yaml', 'service.yaml', 'system.yaml']) {
      const result = runCli(['check', file], { cwd: dir });
      assert.equal(result.status, 0, `${file}: ${result.stdout}${result.stderr}`);
    }
  });

  test('0, with a note: a file with no Kubernetes objects (empty, comments only, plain data)', () => {
    writeFiles(dir, { 'comments.yaml': '# nothing here yet\n---\n', 'data.yaml': 'replicas: 2\nimage: x\n' });
    for (const file of ['empty.yaml', 'comments.yaml', 'data.yaml']) {
      const result = runCli(['check', file], { cwd: dir });
      assert.equal(result.status, 0, file);
      assert.equal(result.stderr, `note: no Kubernetes objects found in ${file}\n`);
    }
    const report = json(runCli(['check', '-o', 'json', 'empty.yaml', 'service.yaml', 'data.yaml'], { cwd: dir }).stdout);
    assert.deepEqual((report as unknown as { filesWithoutObjects: string[] }).filesWithoutObjects, ['empty.yaml', 'data.yaml']);
    assert.equal(runCli(['check', '-'], { cwd: dir, input: '' }).stderr, 'note: no Kubernetes objects found in stdin\n');
  });

  test('skipped objects (excluded namespace, skip annotation) are listed with the reason, not passed silently', () => {
    writeFiles(dir, {
      'annotated.yaml': DENIED_POD.replace('  namespace: shop\n', '  namespace: shop\n  annotations:\n    lifecycle-guard.io/skip: all\n'),
    });
    const table = runCli(['check', 'system.yaml', 'annotated.yaml', 'clean.yaml'], { cwd: dir });
    assert.equal(table.status, 0);
    assert.match(
      table.stdout,
      /^ {2}system\.yaml: Pod kube-system\/denied \(line 1\): namespace kube-system is in the policy's exclude\.namespaces$/m,
    );
    assert.match(table.stdout, /^ {2}annotated\.yaml: Pod shop\/denied \(line 1\): annotation lifecycle-guard\.io\/skip: all$/m);
    assert.match(table.stdout, /^1 object\(s\) checked, 2 skipped \(listed above\): /m);
    const report = json(runCli(['check', '-o', 'json', 'system.yaml'], { cwd: dir }).stdout) as JsonReport & { skipped: unknown[] };
    assert.deepEqual(report.skipped, [
      {
        file: 'system.yaml',
        line: 1,
        kind: 'Pod',
        namespace: 'kube-system',
        name: 'denied',
        reason: 'excluded-namespace',
        detail: "namespace kube-system is in the policy's exclude.namespaces",
      },
    ]);
    assert.equal(report.summary.skipped, 1);
  });

  test('audit mode: check says the mutating rules are not applied, and fix under the same policy changes nothing (as the webhook)', () => {
    const checked = runCli(['check', '--policy', 'audit.yaml', 'mutate-only.yaml'], { cwd: dir });
    assert.match(checked.stdout, /~ inject-prestop-delay \[audit: not applied\] container app: adds a preStop sleep/);
    assert.match(checked.stdout, /0 change\(s\) the mutating webhook makes, 3 more in audit mode \(not applied\)/);
    assert.doesNotMatch(checked.stdout, /lifecycle-guard fix` applies/);
    const fixed = runCli(['fix', '--policy', 'audit.yaml', 'mutate-only.yaml'], { cwd: dir });
    assert.equal(fixed.stdout, MUTATE_ONLY_DEPLOYMENT);
    assert.match(fixed.stderr, /^note: 3 change\(s\) of mutating rules in audit mode not applied, as the webhook does not apply them/m);
    const enforced = runCli(['check', 'mutate-only.yaml'], { cwd: dir });
    assert.match(enforced.stdout, /3 change\(s\) the mutating webhook makes \(`lifecycle-guard fix` applies them\)$/m);
  });

  test('2: unparseable YAML, with file and line; the other files are still checked', () => {
    const tabs = runCli(['check', 'tabs.yaml'], { cwd: dir });
    assert.equal(tabs.status, 2);
    assert.match(tabs.stderr, /tabs\.yaml:3\b/);
    const dup = runCli(['check', 'dup.yaml', 'denied.yaml', 'tabs.yaml', '-o', 'json'], { cwd: dir });
    assert.equal(dup.status, 2, 'bad input wins over a denial');
    assert.match(dup.stderr, /^error: dup\.yaml:8:\d+: invalid YAML: /m);
    assert.match(dup.stderr, /^error: tabs\.yaml:3:\d+: invalid YAML: /m);
    assert.match(dup.stderr, /^error: 2 file\(s\) could not be checked; the others were$/m);
    const report = json(dup.stdout) as JsonReport & { invalidFiles: { file: string; line?: number; message: string }[] };
    assert.deepEqual(
      report.findings.map((finding) => finding.file),
      ['denied.yaml', 'denied.yaml', 'denied.yaml', 'denied.yaml'],
    );
    assert.deepEqual(
      report.invalidFiles.map(({ file, line }) => ({ file, line })),
      [
        { file: 'dup.yaml', line: 8 },
        { file: 'tabs.yaml', line: 3 },
      ],
    );
    assert.match(report.invalidFiles[0]?.message ?? '', /dup\.yaml:8:\d+: invalid YAML: Map keys must be unique/);
  });

  test('2: a folder with a Helm template: the template is named with a hint to render it, the rest is checked', () => {
    const chart = tempDir('check-chart');
    writeFiles(chart, {
      'templates/deployment.yaml':
        'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n{{- if .Values.labels }}\n  labels: {{ toYaml .Values.labels | nindent 4 }}\n{{- end }}\n',
      'templates/pod.yaml': DENIED_POD,
      'templates/service.yaml': 'apiVersion: v1\nkind: Service\nmetadata:\n  name: "{{ .Release.Name }}"\n',
      'values.yaml': 'replicas: 2\n',
    });
    const result = runCli(['check', '.'], { cwd: chart });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /^error: templates\/deployment\.yaml:5:\d+: invalid YAML: .*helm template/m);
    assert.match(result.stdout, /Pod shop\/denied/);
    assert.match(result.stderr, /^note: no Kubernetes objects found in values\.yaml$/m);
    assert.match(result.stderr, /^note: templates\/service\.yaml was checked as written \(it contains \{\{ \}\}: .*helm template/m);
  });

  test('2: a missing file among good ones: reported, the good ones checked', () => {
    const result = runCli(['check', 'missing.yaml', 'denied.yaml'], { cwd: dir });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /^error: missing\.yaml: no such file or directory$/m);
    assert.match(result.stdout, /Pod shop\/denied/);
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
  // The policy's docsBaseURL default: the repository's docs/rules folder.
  const DOCS = 'https://github.com/lifecycle-guard/lifecycle-guard/blob/main/docs/rules';
  test('exact shape', () => {
    const result = runCli(['check', 'denied.yaml', '-o', 'json'], { cwd: dir });
    assert.equal(result.status, 1);
    const report = json(result.stdout);
    assert.deepEqual(Object.keys(report), ['findings', 'summary', 'skipped', 'invalidFiles', 'filesWithoutObjects']);
    const common = { file: 'denied.yaml', line: 1, kind: 'Pod', namespace: 'shop', name: 'denied', container: 'app' };
    assert.deepEqual(report.findings, [
      {
        ...common,
        rule: 'no-shell-entrypoint',
        type: 'validating',
        mode: 'enforce',
        message: 'runs `sh -c` as PID 1: the shell swallows SIGTERM and the app is SIGKILLed after the grace period',
        fix: fixOf('no-shell-entrypoint'),
        docs: `${DOCS}/no-shell-entrypoint.md`,
      },
      {
        ...common,
        rule: 'require-readiness-probe',
        type: 'validating',
        mode: 'enforce',
        message: 'has no readinessProbe',
        fix: fixOf('require-readiness-probe'),
        docs: `${DOCS}/require-readiness-probe.md`,
      },
      {
        ...common,
        rule: 'inject-prestop-delay',
        type: 'mutating',
        mode: 'enforce',
        message: 'adds a preStop sleep of 5s (lifecycle.preStop.sleep.seconds)',
        fix: fixOf('inject-prestop-delay'),
        docs: `${DOCS}/inject-prestop-delay.md`,
      },
      {
        ...common,
        rule: 'termination-message-fallback',
        type: 'mutating',
        mode: 'enforce',
        message: 'sets terminationMessagePolicy to FallbackToLogsOnError',
        fix: fixOf('termination-message-fallback'),
        docs: `${DOCS}/termination-message-fallback.md`,
      },
    ]);
    assert.deepEqual(report.summary, {
      files: 1,
      objects: 1,
      findings: 4,
      denied: 2,
      warnings: 0,
      mutations: 2,
      deniedObjects: 1,
      warnedObjects: 0,
      appliedMutations: 2,
      auditMutations: 0,
      byRule: { 'no-shell-entrypoint': 1, 'require-readiness-probe': 1, 'inject-prestop-delay': 1, 'termination-message-fallback': 1 },
      skipped: 0,
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
    const zeros = { denied: 0, warnings: 0, mutations: 0, deniedObjects: 0, warnedObjects: 0, appliedMutations: 0, auditMutations: 0 };
    assert.deepEqual(json(result.stdout), {
      findings: [],
      summary: { files: 2, objects: 2, findings: 0, ...zeros, byRule: {}, skipped: 0 },
      skipped: [],
      invalidFiles: [],
      filesWithoutObjects: [],
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
    - {name: c, image: x, command: [/bin/bash, -lc, 'cd /; run']}
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
