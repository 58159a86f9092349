// The project follows its own rules: its Deployment passes every rule even where it is not excluded.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { parsePolicy } from '../../src/engine/policy-text.js';
import { cliArgv } from './run.js';

const ROOT = join(import.meta.dirname, '..', '..');

test('lifecycle-guard check manifests/ is clean, with no namespace excluded and every opt-in rule enforced', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lg-own-'));
  try {
    const policy = join(dir, 'strict.yaml');
    writeFileSync(
      policy,
      'exclude:\n  namespaces: []\nallowSkipAnnotation: false\nrules:\n  distinct-liveness-readiness: {mode: enforce}\n',
    );
    const result = spawnSync(process.execPath, cliArgv(['check', join(ROOT, 'manifests'), '--policy', policy, '-o', 'json']), {
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stdout + result.stderr);
    const report = JSON.parse(result.stdout);
    assert.deepEqual(report.findings, [], 'no violation and nothing the mutating webhook would change');
    assert.ok(report.summary.objects > 10);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('one version everywhere: package.json, the kustomize image tag, the chart, and the kind quickstart', () => {
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
  const kustomization = parse(readFileSync(join(ROOT, 'manifests', 'base', 'kustomization.yaml'), 'utf8'));
  assert.deepEqual(kustomization.images, [{ name: 'lifecycle-guard', newName: 'lifecycle-guard', newTag: version }]);
  const chart = parse(readFileSync(join(ROOT, 'charts', 'lifecycle-guard', 'Chart.yaml'), 'utf8'));
  assert.equal(chart.appVersion, version);
  assert.equal(chart.version, version);
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  assert.ok(
    readme.includes(`docker build -t lifecycle-guard:${version} .`) && readme.includes(`kind load docker-image lifecycle-guard:${version}`),
  );
});

test("the shipped manifests exclude the same namespaces in the webhooks' namespaceSelector and in the policy", () => {
  const policyText = parse(readFileSync(join(ROOT, 'manifests', 'base', 'policy-configmap.yaml'), 'utf8')).data['policy.yaml'];
  const excluded = parsePolicy(policyText, 'manifests/base/policy-configmap.yaml').exclude.namespaces;
  const configurations = parseAllDocuments(readFileSync(join(ROOT, 'manifests', 'base', 'webhooks.yaml'), 'utf8')).map((document) =>
    document.toJS(),
  );
  assert.equal(configurations.length, 2);
  for (const configuration of configurations) {
    for (const webhook of configuration.webhooks) {
      const [expression] = webhook.namespaceSelector.matchExpressions;
      assert.deepEqual({ key: expression.key, operator: expression.operator }, { key: 'kubernetes.io/metadata.name', operator: 'NotIn' });
      assert.deepEqual([...expression.values].sort(), [...excluded].sort(), webhook.name);
    }
  }
});
