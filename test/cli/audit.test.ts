// `audit` runs in a worker thread (src/cli/audit-thread.ts): its errors must still reach the user as
// they did from the main thread, with exit code 2 (a CI pipeline reads 1 as "would deny"). The scan
// itself, its output and exit codes 0/1 against a real API server: test/e2e/audit.test.ts.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runCli, tempDir, writeFiles } from './run.js';

const cwd = tempDir('audit');
/** An API server nobody listens on (port 1 is reserved). */
writeFiles(cwd, {
  'unreachable.kubeconfig': `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`,
  'bad-policy.yaml': 'rules:\n  no-such-rule: {}\n',
});

describe('audit errors, from its worker thread', () => {
  test('an API server that cannot be reached: exit 2 with the reason', () => {
    const result = runCli(['audit', '-A', '--kubeconfig', join(cwd, 'unreachable.kubeconfig')], { cwd });
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /^error: cannot scan https:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/m);
    assert.equal(result.stdout, '');
  });

  test('a missing kubeconfig: exit 2, an InputError message without a stack trace', () => {
    const result = runCli(['audit', '--kubeconfig', join(cwd, 'missing.kubeconfig')], { cwd });
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /^error: cannot load kubeconfig .*missing\.kubeconfig: /m);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });

  test('an invalid policy: exit 2 with the PolicyError message', () => {
    const result = runCli(['audit', '--policy', join(cwd, 'bad-policy.yaml'), '--kubeconfig', join(cwd, 'unreachable.kubeconfig')], {
      cwd,
    });
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /^error: invalid policy .*bad-policy\.yaml/m);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });

  test('options that exclude each other: exit 2', () => {
    const result = runCli(['audit', '-n', 'shop', '-A'], { cwd });
    assert.equal(result.status, 2, result.stderr);
    assert.equal(result.stderr, 'error: --namespace and --all-namespaces exclude each other\n');
  });
});
