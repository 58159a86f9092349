// The rule reference (docs/rules/<id>.md) and the README's rule table are generated from the rules'
// metadata and fixtures; this fails when someone changed a rule or a fixture and did not run `npm run docs`.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { RULE_IDS } from '../../src/rules/index.js';
import { generatedFiles, renderReadme, ROOT } from '../../scripts/generate-rule-docs.js';

test('docs/rules/*.md and the README rule table are up to date (npm run docs)', () => {
  const stale: string[] = [];
  for (const [path, text] of generatedFiles()) {
    let current: string | undefined;
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      current = undefined;
    }
    if (current !== text) stale.push(path.slice(ROOT.length + 1));
  }
  assert.deepEqual(stale, [], 'run `npm run docs` and commit the result');
});

test('every rule has a page with its parameters, its scope and at least one flagged and one passing example', () => {
  const pages = generatedFiles();
  for (const id of RULE_IDS) {
    const page = [...pages].find(([path]) => path.endsWith(`/docs/rules/${id}.md`))?.[1];
    assert.ok(page, id);
    for (const heading of ['## Why', '## Scope', '## How to fix', '## Parameters', '## Examples'])
      assert.ok(page.includes(`\n${heading}\n`), `${id}: ${heading}`);
    assert.match(page, /### (Flagged|Changed)\n\n#### /, id);
    assert.match(page, /### (Passing|Left as they are)\n\n#### /, id);
  }
});

test('the README rule table sits between its markers and refuses a README without them', () => {
  assert.throws(() => renderReadme('# no table here\n'), /markers are missing/);
  const readme = renderReadme(readFileSync(`${ROOT}/README.md`, 'utf8'));
  for (const id of RULE_IDS) assert.match(readme, new RegExp(`\\| \\[\`${id}\`\\]\\(docs/rules/${id}\\.md\\) \\|`));
});
