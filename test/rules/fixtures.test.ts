// Walks test/fixtures/<rule-id>/ and checks every fixture against its rule, alone:
//   pass.<case>.yaml     the rule finds nothing (and a mutating rule changes nothing);
//   fail.<case>.yaml     the rule finds something; an optional `# expect-containers: a, b` line
//                        names exactly the containers it flags (`(pod)` for a pod-level finding);
//   mutated.<case>.yaml  mutating fail.<case>.yaml gives exactly this, and this is itself pass.
// Fixtures are checked with no namespace excluded, so that real manifests (some of them in
// kube-system) are tested as they were published.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { describeWorkload, POD_BEARING_KINDS } from '../../src/core/workload.js';
import { evaluateObject } from '../../src/engine/evaluate.js';
import { mutateObject } from '../../src/engine/mutate.js';
import type { Policy } from '../../src/engine/policy.js';
import { isMutatingRule, RULE_IDS, RULES } from '../../src/rules/index.js';
import { onlyRule } from './helpers.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const NAME = /^(pass|fail|mutated)\.([a-z0-9][a-z0-9-]*)\.ya?ml$/;

interface Fixture {
  objects: unknown[];
  expectContainers?: string[];
}

function loadFixture(path: string): Fixture {
  const text = readFileSync(path, 'utf8');
  const objects: unknown[] = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) throw new Error(`unparseable YAML: ${document.errors[0]?.message}`);
    const value: unknown = document.toJS();
    if (value === null || value === undefined) continue;
    const items = (value as { kind?: unknown; items?: unknown }).kind === 'List' ? (value as { items: unknown[] }).items : [value];
    objects.push(...items);
  }
  const expect = /^# expect-containers:(.*)$/m.exec(text)?.[1];
  return {
    objects,
    ...(expect === undefined
      ? {}
      : {
          expectContainers: expect
            .split(',')
            .map((name) => name.trim())
            .filter((name) => name !== '')
            .sort(),
        }),
  };
}

test('fixtures: every pass/fail/mutated file under test/fixtures/<rule-id>/ holds for its rule alone', () => {
  const problems: string[] = [];
  const kindsSeen = new Set<string>();
  let checked = 0;

  const directories = readdirSync(FIXTURES).filter((name) => statSync(join(FIXTURES, name)).isDirectory());
  for (const ruleId of RULE_IDS) {
    if (!directories.includes(ruleId)) problems.push(`${ruleId}: no fixture directory`);
  }

  for (const ruleId of directories.sort()) {
    const rule = RULES.find((candidate) => candidate.meta.id === ruleId);
    if (rule === undefined) {
      problems.push(`${ruleId}/: not a rule id (${RULE_IDS.join(', ')})`);
      continue;
    }
    const mutating = isMutatingRule(rule);
    const policy: Policy = onlyRule(ruleId, {}, { exclude: { namespaces: [] } });
    const files = readdirSync(join(FIXTURES, ruleId)).sort();
    const count = (prefix: string) => files.filter((file) => file.startsWith(`${prefix}.`)).length;
    if (count('pass') === 0 || count('fail') === 0) problems.push(`${ruleId}/: needs at least one pass and one fail fixture`);

    for (const file of files) {
      const where = `${ruleId}/${file}`;
      const match = NAME.exec(file);
      if (match === null) {
        problems.push(`${where}: name must be pass|fail|mutated.<case>.yaml`);
        continue;
      }
      const [, kind, caseName] = match as unknown as [string, 'pass' | 'fail' | 'mutated', string];
      let fixture: Fixture;
      try {
        fixture = loadFixture(join(FIXTURES, ruleId, file));
      } catch (error) {
        problems.push(`${where}: ${(error as Error).message}`);
        continue;
      }
      if (fixture.objects.length === 0) problems.push(`${where}: no object`);
      for (const object of fixture.objects) {
        const workload = describeWorkload(object);
        if (workload !== undefined) kindsSeen.add(workload.kind);
      }
      checked += 1;

      /** Findings and rule errors of the rule alone on every object of a file. */
      const evaluateAll = (objects: unknown[]) => {
        const findings = [];
        for (const object of objects) {
          const evaluation = evaluateObject(object, policy);
          for (const error of evaluation.errors) problems.push(`${where}: rule error ${error.message}`);
          findings.push(...evaluation.findings);
        }
        return findings;
      };
      /** A pass file: no finding, and nothing a mutating rule would change. */
      const expectPass = (objects: unknown[], label: string) => {
        const findings = evaluateAll(objects);
        if (findings.length > 0) {
          problems.push(
            `${where}: ${label} expected no finding, got ${findings.map((f) => `${f.container ?? '(pod)'}: ${f.message}`).join(' | ')}`,
          );
        }
        if (mutating) {
          for (const object of objects) {
            const mutation = mutateObject(object, policy);
            if (mutation.patch.length > 0)
              problems.push(`${where}: ${label} expected no change, got patch ${JSON.stringify(mutation.patch)}`);
          }
        }
      };

      if (kind === 'pass') {
        expectPass(fixture.objects, 'pass:');
      } else if (kind === 'fail') {
        const findings = evaluateAll(fixture.objects);
        if (findings.length === 0) problems.push(`${where}: expected at least one ${ruleId} finding, got none`);
        if (findings.some((finding) => finding.rule !== ruleId)) problems.push(`${where}: finding of another rule`);
        if (fixture.expectContainers !== undefined) {
          const got = findings.map((finding) => finding.container ?? '(pod)').sort();
          if (!isDeepStrictEqual(got, fixture.expectContainers)) {
            problems.push(`${where}: expected findings for [${fixture.expectContainers.join(', ')}], got [${got.join(', ')}]`);
          }
        }
        if (mutating && !files.includes(`mutated.${caseName}.yaml`) && !files.includes(`mutated.${caseName}.yml`)) {
          problems.push(`${where}: a mutating rule's fail fixture needs mutated.${caseName}.yaml`);
        }
      } else {
        if (!mutating) {
          problems.push(`${where}: mutated fixtures only make sense for mutating rules`);
          continue;
        }
        const failPath = [`fail.${caseName}.yaml`, `fail.${caseName}.yml`]
          .map((name) => join(FIXTURES, ruleId, name))
          .find((path) => existsSync(path));
        if (failPath === undefined) {
          problems.push(`${where}: no fail.${caseName}.yaml to mutate`);
          continue;
        }
        const input = loadFixture(failPath).objects;
        if (input.length !== fixture.objects.length) {
          problems.push(`${where}: ${fixture.objects.length} object(s), fail.${caseName} has ${input.length}`);
          continue;
        }
        input.forEach((object, index) => {
          const before = structuredClone(object);
          const mutation = mutateObject(object, policy);
          for (const error of mutation.errors) problems.push(`${where}: rule error ${error.message}`);
          if (!isDeepStrictEqual(object, before)) problems.push(`${where}: mutateObject changed its input (object ${index})`);
          if (!isDeepStrictEqual(mutation.object, fixture.objects[index])) {
            problems.push(
              `${where}: object ${index} differs from the mutation of fail.${caseName}:\n` +
                `  expected ${JSON.stringify(fixture.objects[index])}\n  actual   ${JSON.stringify(mutation.object)}`,
            );
          }
        });
        expectPass(fixture.objects, 'mutated (must be pass):');
      }
    }
  }

  const missingKinds = POD_BEARING_KINDS.filter((kind) => !kindsSeen.has(kind));
  if (missingKinds.length > 0) problems.push(`no fixture of kind ${missingKinds.join(', ')}`);

  assert.deepEqual(problems, []);
  assert.ok(checked >= 40, `only ${checked} fixture files found`);
});
