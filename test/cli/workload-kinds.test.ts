import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runCli, tempDir, writeFiles } from './run.js';

describe('check and fix: kinds the policy adds, built-in Rollouts and DeploymentConfigs', () => {
  const dir = tempDir('kinds-');
  writeFiles(dir, {
    'policy.yaml':
      'workloadKinds:\n- {kind: CloneSet, group: apps.kruise.io, version: v1alpha1, resource: clonesets, podSpecPath: spec.template.spec}\n',
    'cloneset.yaml': `apiVersion: apps.kruise.io/v1alpha1
kind: CloneSet
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers:
      - name: web
        image: nginx
        command: [sh, -c, "envsubst < /t > /c; nginx"]
`,
    'rollout.yaml': `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: api, namespace: shop}
spec:
  template:
    spec:
      containers:
      - {name: api, image: api, readinessProbe: {tcpSocket: {port: 80}}}
`,
  });

  test('check finds the CloneSet only with the policy; a Rollout is known without it', () => {
    const without = runCli(['check', 'cloneset.yaml', '-o', 'json'], { cwd: dir });
    assert.equal(without.status, 0, without.stderr);
    assert.equal(JSON.parse(without.stdout).summary.objects, 1);
    assert.deepEqual(JSON.parse(without.stdout).findings, []);

    const withPolicy = runCli(['check', 'cloneset.yaml', '--policy', 'policy.yaml', '-o', 'json'], { cwd: dir });
    assert.equal(withPolicy.status, 1, withPolicy.stderr);
    const findings = JSON.parse(withPolicy.stdout).findings as { kind: string; rule: string }[];
    assert.ok(findings.some((finding) => finding.kind === 'CloneSet' && finding.rule === 'no-shell-entrypoint'));

    const rollout = runCli(['check', 'rollout.yaml', '-o', 'json'], { cwd: dir });
    assert.equal(rollout.status, 0, rollout.stderr);
    assert.deepEqual([...new Set((JSON.parse(rollout.stdout).findings as { rule: string }[]).map((finding) => finding.rule))].sort(), [
      'inject-prestop-delay',
      'termination-message-fallback',
    ]);
  });

  test("fix adds the preStop delay inside the added kind's pod template", () => {
    const fixed = runCli(['fix', 'cloneset.yaml', '--policy', 'policy.yaml'], { cwd: dir });
    assert.equal(fixed.status, 0, fixed.stderr);
    assert.match(fixed.stdout, /preStop:\n\s+sleep:\n\s+seconds: 5/);
    assert.doesNotMatch(runCli(['fix', 'cloneset.yaml'], { cwd: dir }).stdout, /preStop/);
  });

  test('a malformed or duplicate kind is bad input (exit 2) naming the key', () => {
    writeFiles(dir, {
      'bad.yaml':
        'workloadKinds:\n- {kind: Rollout, group: argoproj.io, version: v1alpha1, resource: rollouts, podSpecPath: spec.template.spec}\n- {kind: x, group: g, version: v1, resource: r, podSpecPath: spec}\n',
    });
    const result = runCli(['check', 'cloneset.yaml', '--policy', 'bad.yaml'], { cwd: dir });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /workloadKinds\.0\.kind: Rollout \(argoproj\.io\) is already known/);
    assert.match(result.stderr, /workloadKinds\.1\.kind: a kind such as CloneSet/);
  });
});
