// check evaluates objects as they are read, one file at a time: a file that turns out invalid part
// way adds nothing to the report, and no file is too large to be counted in.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManifestChecker } from '../../src/cli/check.js';
import { manifestValues } from '../../src/cli/manifests.js';
import { DEFAULT_POLICY } from '../../src/engine/policy.js';
import { DENIED_POD } from './run.js';

describe('ManifestChecker', () => {
  test('evaluates each object before the next is read; a file invalid part way adds nothing', () => {
    const checker = new ManifestChecker(DEFAULT_POLICY);
    checker.checkFile('good.yaml', manifestValues('good.yaml', DENIED_POD));
    const before = checker.result();
    const evaluated: number[] = [];
    function* objects() {
      for (const [index, entry] of [...manifestValues('bad.yaml', `${DENIED_POD}---\n${DENIED_POD}`)].entries()) {
        yield entry;
        evaluated.push(index);
      }
      throw new Error('invalid YAML further on');
    }
    assert.throws(() => checker.checkFile('bad.yaml', objects()), /invalid YAML further on/);
    assert.deepEqual(evaluated, [0, 1]);
    assert.deepEqual(checker.result(), before);
    assert.ok(before.findings.length > 0 && before.findings.every((finding) => finding.file === 'good.yaml'));
  });

  test('a file with 200,000 findings is counted whole', () => {
    const containers = Array.from({ length: 1000 }, (_, index) => ({ name: `c${index}`, image: 'x', command: ['sh', '-c', 'x'] }));
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'shop' }, spec: { containers } };
    const checker = new ManifestChecker(DEFAULT_POLICY);
    checker.checkFile(
      'list.yaml',
      Array.from({ length: 50 }, (_, line) => ({ object: pod, line })),
    );
    assert.equal(checker.result().findings.length, 200_000);
  });
});
