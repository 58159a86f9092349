// Walks test/fixtures/<rule-id>/ and checks every fixture against its rule, alone:
//   pass.<case>.yaml     the rule finds nothing (and a mutating rule changes nothing);
//   fail.<case>.yaml     the rule finds something; an optional `# expect-containers: a, b` line
//                        names exactly the containers it flags (`(pod)` for a pod-level finding);
//   mutated.<case>.yaml  mutating fail.<case>.yaml gives exactly this, and this is itself pass.
// Dockerfiles (<kind>.<case>.Dockerfile, no-shell-entrypoint only) are judged on their final stage:
//   fail.<case>.Dockerfile     a `# expect-line: N` comment names the line of the finding;
//   mutated.<case>.Dockerfile  the rewrite `fix` makes of fail.<case>.Dockerfile, byte for byte, and it
//                              passes; a fail fixture without one is one `fix` must leave alone.
// Fixtures are checked with no namespace excluded, so that real manifests (some of them in
// kube-system) are tested as they were published.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import type { ShellJudge } from '../../src/core/shell.js';
import { describeWorkload, POD_BEARING_KINDS } from '../../src/core/workload.js';
import { cloneJson } from '../../src/core/clone.js';
import { evaluateObject, runRules } from '../../src/engine/evaluate.js';
import { mutateObject } from '../../src/engine/mutate.js';
import type { Policy } from '../../src/engine/policy.js';
import { applyRewrite, checkDockerfile } from '../../src/rules/dockerfile-pid1.js';
import { isMutatingRule, RULE_IDS, RULES } from '../../src/rules/index.js';
import { DOCKERFILE_NAME, FIXTURES_DIR as FIXTURES, fixtureFiles, loadFixture, type Fixture } from '../helpers/fixtures.js';
import { onlyRule } from './helpers.js';

/** Problems with one Dockerfile fixture of no-shell-entrypoint. */
function dockerfileProblems(
  directory: string,
  file: string,
  kind: 'pass' | 'fail' | 'mutated',
  caseName: string,
  judge: ShellJudge,
): string[] {
  const text = readFileSync(join(directory, file), 'utf8');
  const finding = checkDockerfile(text, judge).finding;
  if (kind === 'mutated' && !existsSync(join(directory, `fail.${caseName}.Dockerfile`))) return [`no fail.${caseName}.Dockerfile to fix`];
  if (kind === 'pass' || kind === 'mutated')
    return finding === undefined ? [] : [`expected no finding, got line ${finding.line}: ${finding.message}`];
  if (finding === undefined) return ['expected a finding, got none'];
  const problems: string[] = [];
  const expectLine = /^# expect-line: (\d+)\r?$/m.exec(text)?.[1];
  if (expectLine === undefined) problems.push('needs a `# expect-line: N` comment');
  else if (finding.line !== Number(expectLine)) problems.push(`expected the finding on line ${expectLine}, got line ${finding.line}`);
  const mutatedPath = join(directory, `mutated.${caseName}.Dockerfile`);
  const rewritten = finding.rewrite === undefined ? undefined : applyRewrite(text, finding.rewrite);
  if (!existsSync(mutatedPath)) {
    if (rewritten !== undefined) problems.push(`fix rewrites it, but there is no mutated.${caseName}.Dockerfile:\n${rewritten}`);
  } else if (rewritten !== readFileSync(mutatedPath, 'utf8')) {
    problems.push(`fix gives ${JSON.stringify(rewritten)}, not mutated.${caseName}.Dockerfile`);
  }
  return problems;
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
    const { files, dockerfiles, misnamed } = fixtureFiles(ruleId);
    for (const file of misnamed) problems.push(`${ruleId}/${file}: name must be pass|fail|mutated.<case>.yaml (or .Dockerfile)`);
    for (const file of dockerfiles) {
      const where = `${ruleId}/${file}`;
      const [, kind, caseName] = DOCKERFILE_NAME.exec(file) as unknown as [string, 'pass' | 'fail' | 'mutated', string];
      if (ruleId !== 'no-shell-entrypoint') problems.push(`${where}: Dockerfile fixtures are for no-shell-entrypoint`);
      else {
        const judge = onlyRule(ruleId).rules[ruleId] as unknown as ShellJudge;
        problems.push(...dockerfileProblems(join(FIXTURES, ruleId), file, kind, caseName, judge).map((problem) => `${where}: ${problem}`));
      }
      checked += 1;
    }
    const count = (prefix: string) => files.filter((file) => file.startsWith(`${prefix}.`)).length;
    if (count('pass') === 0 || count('fail') === 0) problems.push(`${ruleId}/: needs at least one pass and one fail fixture`);

    for (const file of files) {
      const where = `${ruleId}/${file}`;
      let fixture: Fixture;
      try {
        fixture = loadFixture(ruleId, file);
      } catch (error) {
        problems.push(`${where}: ${(error as Error).message}`);
        continue;
      }
      const { kind, caseName } = fixture;
      let policy: Policy;
      try {
        policy = onlyRule(ruleId, fixture.params, { exclude: { namespaces: [] } });
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
            // What mutateObject relies on to skip the diff: a rule that reports nothing changed nothing.
            const copy = cloneJson(object);
            const workload = describeWorkload(copy);
            const run = workload === undefined ? undefined : runRules([{ rule, mode: 'enforce' }], workload, policy, {});
            if (run?.findings.length === 0 && !isDeepStrictEqual(copy, object))
              problems.push(`${where}: ${label} the rule changed the object without reporting a finding`);
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
        const input = loadFixture(ruleId, failPath.slice(failPath.lastIndexOf('/') + 1)).objects;
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
