// The CLI comparison: a generated repository of Deployments, checked by lifecycle-guard and its peers.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { workload } from './reviews.js';

export const CLI_OBJECTS = 10_000;
export const CLI_FILES = 100;

/** Writes CLI_OBJECTS Deployments (a quarter violating) into CLI_FILES multi-document YAML files; returns the file paths. */
export function writeRepository(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const perFile = CLI_OBJECTS / CLI_FILES;
  const files: string[] = [];
  for (let file = 0; file < CLI_FILES; file += 1) {
    const documents: string[] = [];
    for (let index = 0; index < perFile; index += 1) {
      const number = file * perFile + index;
      documents.push(stringify(workload('Deployment', number % 4 !== 0, number), { aliasDuplicateObjects: false }));
    }
    const path = join(dir, `app-${String(file).padStart(3, '0')}.yaml`);
    writeFileSync(path, documents.join('---\n'));
    files.push(path);
  }
  return files;
}
