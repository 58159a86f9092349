// `npm prepare`: builds dist/ when the package is installed from git (`npm install -g git+https://…`)
// or packed (`npm pack`). npm installs a git dependency by running `npm install` in a clone and then
// this script; for a global install that inner install runs in global mode too, so the dev
// dependencies (TypeScript) never arrive (https://github.com/npm/cli/issues/8440). They are installed
// here, locally, first. In a clone where `npm ci` ran, that step is skipped.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

function run(command, args, env = process.env) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

if (!existsSync(tsc)) {
  // Not the global prefix of the outer `npm install -g`: this directory.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_config_(global|location|prefix)$/i.test(name)));
  run('npm', ['install', '--global=false', '--include=dev', '--ignore-scripts', '--no-save', '--no-audit', '--no-fund', '--prefix', root], env);
}
run(process.execPath, [tsc, '-p', 'tsconfig.build.json']);
