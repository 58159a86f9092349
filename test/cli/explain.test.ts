import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { RULE_IDS } from '../../src/rules/index.js';
import { runCli, tempDir } from './run.js';

describe('lifecycle-guard explain', () => {
  const cwd = tempDir('explain-');

  test("prints the rule's reference page, from any working directory", () => {
    for (const id of RULE_IDS) {
      const result = runCli(['explain', id], { cwd });
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout, readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'rules', `${id}.md`), 'utf8'));
      assert.match(result.stdout, new RegExp(`^# \`${id}\``, 'm'));
    }
  });

  test('an unknown rule id is bad input (exit 2) that lists the rules', () => {
    const result = runCli(['explain', 'no-such-rule'], { cwd });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /unknown rule "no-such-rule" \(rules: no-shell-entrypoint, /);
    assert.equal(result.stdout, '');
  });
});
