// `npm prepare`: builds dist/ when the package is installed from git (`npm install -g git+https://…`)
// or packed (`npm pack`). npm installs a git dependency by running `npm install` in a clone and then
// this script; for a global install that inner install runs in global mode, so the dev dependencies
// (TypeScript, @types) never arrive (https://github.com/npm/cli/issues/8440). Then the build runs in
// a scratch copy with its own `npm ci`, and dist/ is copied back. In a clone where `npm ci` ran, tsc
// is there and the build runs in place.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const tscIn = (directory) => join(directory, 'node_modules', 'typescript', 'bin', 'tsc');

function run(command, args, cwd, env = process.env) {
  const result = spawnSync(command, args, { cwd, stdio: 'inherit', env });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const build = (directory) => run(process.execPath, [tscIn(directory), '-p', 'tsconfig.build.json'], directory);

if (existsSync(tscIn(root))) {
  build(root);
} else {
  const scratch = mkdtempSync(join(tmpdir(), 'lifecycle-guard-build-'));
  try {
    for (const entry of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src']) cpSync(join(root, entry), join(scratch, entry), { recursive: true });
    // The outer global install's settings (global mode, its prefix) must not reach this local install.
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_config_(global|location|prefix)$/i.test(name)));
    run('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], scratch, env);
    build(scratch);
    cpSync(join(scratch, 'dist'), join(root, 'dist'), { recursive: true });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
