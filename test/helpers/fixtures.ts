// Reads test/fixtures/<rule-id>/{pass,fail,mutated}.<case>.yaml, for the fixture test and the rule
// reference generator (scripts/generate-rule-docs.ts). A fixture's leading comment describes it; two
// comment lines are directives:
//   # expect-containers: a, b     the containers a fail fixture flags (`(pod)` for a pod-level finding)
//   # params: {key: value}        the rule's parameters for this fixture (YAML flow mapping)
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import type { JsonObject } from '../../src/core/types.js';
import { isObject } from '../../src/core/types.js';

export const FIXTURES_DIR = join(import.meta.dirname, '..', 'fixtures');
const NAME = /^(pass|fail|mutated)\.([a-z0-9][a-z0-9-]*)\.ya?ml$/;
/** Dockerfile fixtures of no-shell-entrypoint, checked by the fixture test on their own terms. */
export const DOCKERFILE_NAME = /^(pass|fail|mutated)\.([a-z0-9][a-z0-9-]*)\.Dockerfile$/;

export type FixtureKind = 'pass' | 'fail' | 'mutated';

export interface Fixture {
  file: string;
  kind: FixtureKind;
  caseName: string;
  text: string;
  /** The leading comment, without the directives. */
  description: string;
  objects: unknown[];
  expectContainers?: string[];
  params: JsonObject;
}

/** The fixture files of a rule, sorted: manifests, Dockerfiles, and names that follow neither pattern. */
export function fixtureFiles(ruleId: string): { files: string[]; dockerfiles: string[]; misnamed: string[] } {
  const dir = join(FIXTURES_DIR, ruleId);
  const all = existsSync(dir) ? readdirSync(dir).sort() : [];
  return {
    files: all.filter((file) => NAME.test(file)),
    dockerfiles: all.filter((file) => DOCKERFILE_NAME.test(file)),
    misnamed: all.filter((file) => !NAME.test(file) && !DOCKERFILE_NAME.test(file)),
  };
}

export function loadFixture(ruleId: string, file: string): Fixture {
  const [, kind, caseName] = NAME.exec(file) as unknown as [string, FixtureKind, string];
  const text = readFileSync(join(FIXTURES_DIR, ruleId, file), 'utf8');
  const objects: unknown[] = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) throw new Error(`unparseable YAML: ${document.errors[0]?.message}`);
    const value: unknown = document.toJS();
    if (value === null || value === undefined) continue;
    const items = (value as { kind?: unknown; items?: unknown }).kind === 'List' ? (value as { items: unknown[] }).items : [value];
    objects.push(...items);
  }
  const expect = /^# expect-containers:(.*)$/m.exec(text)?.[1];
  const paramsText = /^# params:(.*)$/m.exec(text)?.[1];
  const params: unknown = paramsText === undefined ? {} : parse(paramsText);
  if (!isObject(params)) throw new Error(`# params: must be a mapping, got ${paramsText}`);
  const leading = /^(#.*\n)*/.exec(text)?.[0] ?? '';
  const description = leading
    .split('\n')
    .filter((line) => line.startsWith('#') && !/^# (expect-containers|params):/.test(line))
    .map((line) => line.replace(/^# ?/, ''))
    .join(' ');
  return {
    file,
    kind,
    caseName,
    text,
    description,
    objects,
    params,
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
