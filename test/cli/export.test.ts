import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { runCli, tempDir, writeFiles } from './run.js';

test('export writes YAML documents to stdout and the differences from the webhook to stderr', () => {
  const cwd = tempDir('export');
  const result = runCli(['export'], { cwd });
  assert.equal(result.status, 0, result.stderr);
  const kinds = parseAllDocuments(result.stdout).map((document) => (document.toJS() as { kind: string }).kind);
  assert.equal(kinds.filter((kind) => kind === 'ValidatingAdmissionPolicy').length, 2);
  assert.equal(kinds.filter((kind) => kind === 'MutatingAdmissionPolicyBinding').length, 2);
  assert.match(result.stderr, /Differences from the webhook/);
  assert.match(result.stderr, /Pods created by a controller are not checked/);
});

test('export -o json is one List that kubectl apply takes', () => {
  const result = runCli(['export', '-o', 'json', '--kube-version', 'v1.35.2'], { cwd: tempDir('export') });
  assert.equal(result.status, 0, result.stderr);
  const list = JSON.parse(result.stdout) as { kind: string; items: Array<{ kind: string; apiVersion: string }> };
  assert.equal(list.kind, 'List');
  assert.equal(list.items.find((item) => item.kind === 'MutatingAdmissionPolicy')?.apiVersion, 'admissionregistration.k8s.io/v1beta1');
});

test('export refuses clusters too old for the policy, and bad policies, with exit 2 and a reason', () => {
  const cwd = tempDir('export');
  const old = runCli(['export', '--kube-version', '1.31'], { cwd });
  assert.equal(old.status, 2);
  assert.match(old.stderr, /MutatingAdmissionPolicy needs Kubernetes 1\.34\+/);
  assert.equal(old.stdout, '');
  writeFiles(cwd, { 'policy.yaml': 'rules: {no-shell-entrypoint: {mode: sometimes}}\n' });
  const bad = runCli(['export', '--policy', 'policy.yaml'], { cwd });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /no-shell-entrypoint\.mode/);
});
