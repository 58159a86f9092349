// The build (scripts/build.mjs) as the package ships it: dist/ alone, outside the repository, with no
// node_modules to resolve from. Every entry a module starts by name must be there and run: the CLI, the
// audit's worker, the admission decision worker and the certificate child process.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
// @ts-expect-error: a build script in plain JavaScript, without declarations.
import { buildDist, entryPoints } from '../../scripts/build.mjs';
import { OFF_THREAD_BYTES } from '../../src/server/admission/off-thread.js';
import { badContainer, pod, review } from '../server/helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SRC = join(ROOT, 'src');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

// The package's files (package.json, dist, docs/rules) in a directory of their own.
const dir = mkdtempSync(join(tmpdir(), 'lg-build-'));
after(() => rmSync(dir, { recursive: true, force: true }));
cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
cpSync(join(ROOT, 'docs', 'rules'), join(dir, 'docs', 'rules'), { recursive: true });
const bundled = (await buildDist(SRC, join(dir, 'dist'))) as string[];
const MAIN = join(dir, 'dist', 'cli', 'main.js');

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [MAIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env } });
}

test('the entries are the CLI and each module started by name, all built into the one directory', () => {
  const entries = (entryPoints(SRC) as string[]).map((file) => relative(SRC, file)).sort();
  assert.deepEqual(entries, ['cli/audit-worker.ts', 'cli/main.ts', 'server/admission/decision-worker.ts', 'tls/generate-process.ts']);
  assert.deepEqual(readdirSync(join(dir, 'dist')).sort(), ['THIRD-PARTY-LICENSES.txt', 'cli']);
  const outputs = readdirSync(join(dir, 'dist', 'cli'));
  for (const entry of ['main.js', 'audit-worker.js', 'decision-worker.js', 'generate-process.js'])
    assert.ok(outputs.includes(entry), entry);
  assert.deepEqual(
    outputs.filter((name) => !name.endsWith('.js') && !name.endsWith('.js.map')),
    ['html-report'],
    'one flat directory, and the report assets',
  );
});

test('the built CLI reads its version and docs, and checks, from outside the repository', () => {
  const version = run(['--version']);
  assert.equal(version.stdout.trim(), VERSION, version.stderr);
  const explain = run(['explain', 'no-shell-entrypoint']);
  assert.equal(explain.status, 0, explain.stderr);
  assert.match(explain.stdout, /no-shell-entrypoint/);
  writeFileSync(join(dir, 'pod.json'), JSON.stringify(pod([badContainer('app')])));
  const check = run(['check', join(dir, 'pod.json'), '-o', 'json']);
  assert.equal(check.status, 1, check.stderr);
  assert.ok((JSON.parse(check.stdout) as { findings: { rule: string }[] }).findings.some(({ rule }) => rule === 'no-shell-entrypoint'));
});

/** The module a chunk of the build was made from, loaded from the build. */
async function builtChunk(name: string): Promise<Record<string, unknown>> {
  const chunk = readdirSync(join(dir, 'dist', 'cli')).find((file) => new RegExp(`^${name}-\\w+\\.js$`).test(file));
  assert.ok(chunk !== undefined, `no chunk for ${name}`);
  return (await import(pathToFileURL(join(dir, 'dist', 'cli', chunk)).href)) as Record<string, unknown>;
}

test("the audit's report chunks: HTML with the stylesheet and script it reads, YAML with the CommonJS writer's named exports", async () => {
  assert.equal(typeof (await builtChunk('html-report')).renderHtmlReport, 'function');
  const { renderYamlReports } = (await builtChunk('report-yaml')) as { renderYamlReports: (report: unknown, format: string) => string };
  const scan = { generatedAt: new Date().toISOString(), namespaces: ['team-a'], findings: [], objectsByNamespace: { 'team-a': 2 } };
  assert.match(
    renderYamlReports(scan, 'PolicyReport'),
    /^kind: List\nitems:\n {2}- apiVersion: wgpolicyk8s\.io\/v1alpha2\n {4}kind: PolicyReport/m,
  );
});

test('the build refuses import() of a CommonJS package, which a bundle would give a default export only', async () => {
  mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
  // Inside the repository, so that the packages resolve from its node_modules.
  const src = mkdtempSync(join(ROOT, 'test-artifacts', 'build-src-'));
  after(() => rmSync(src, { recursive: true, force: true }));
  mkdirSync(join(src, 'cli'));
  const main = join(src, 'cli', 'main.ts');
  writeFileSync(main, "const { z } = await import('zod');\nconsole.log(z.string().parse('esm'));\n");
  await buildDist(src, join(src, 'esm-only'));
  writeFileSync(main, "const { stringify } = await import('yaml');\nconsole.log(stringify({}));\n");
  await assert.rejects(buildDist(src, join(src, 'with-commonjs')), /import\(\) of CommonJS modules[^]*cli\/main\.ts imports yaml/);
});

test("audit runs in its worker and hands basic auth to client-node's KubeConfig, bundled as a chunk", () => {
  const kubeconfig = join(dir, 'basic-auth.kubeconfig');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1' } }],
      users: [{ name: 'u', user: { username: 'u', password: 'p' } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    }),
  );
  const audit = run(['audit'], { KUBECONFIG: kubeconfig });
  // Connecting is as far as it gets: the chunk loaded, applied the kubeconfig, and nothing warned.
  assert.equal(audit.status, 2, audit.stderr);
  assert.match(audit.stderr, /cannot scan https:\/\/127\.0\.0\.1:1: connect ECONNREFUSED/);
  assert.doesNotMatch(audit.stderr, /Warning/);
});

test('serve makes its certificates in the child process and decides a large review in the worker thread', async () => {
  const certDir = join(dir, 'certs');
  const child = spawn(
    process.execPath,
    [MAIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0', '--cert-dir', certDir],
    {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  after(() => child.kill('SIGKILL'));
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      output += text;
      const listening = /"port":(\d+)[^\n]*"msg":"listening"/.exec(output);
      if (listening !== null) resolve(Number(listening[1]));
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => (output += text));
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${output}`)));
  });
  assert.ok(readdirSync(certDir).includes('tls.key'));
  const body = JSON.stringify(review(pod([badContainer('app')], { annotations: { padding: 'x'.repeat(OFF_THREAD_BYTES) } })));
  const answer = await new Promise<{ response: { allowed: boolean } }>((resolve, reject) => {
    const call = request(
      {
        host: '127.0.0.1',
        port,
        path: '/validate',
        method: 'POST',
        ca: readFileSync(join(certDir, 'ca.crt')),
        headers: { 'content-type': 'application/json' },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve(JSON.parse(text) as { response: { allowed: boolean } }));
      },
    );
    call.on('error', reject);
    call.end(body);
  });
  assert.equal(answer.response.allowed, false);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGINT');
  assert.equal(await exited, 0, output);
  assert.doesNotMatch(output, /"level":50|decision worker/, 'no error, and the review was not refused by a lost worker');
});

test("the licenses of the bundled packages ship beside them, without node-fetch's fallback URL library", () => {
  for (const name of ['@kubernetes/client-node', 'express', 'zod']) assert.ok(bundled.includes(name), name);
  // node-fetch's fallback URL library (its 300 KB table, the deprecated punycode) is replaced by Node's URL.
  assert.ok(!bundled.includes('whatwg-url') && !bundled.includes('tr46'), bundled.join(', '));
  const licenses = readFileSync(join(dir, 'dist', 'THIRD-PARTY-LICENSES.txt'), 'utf8');
  assert.match(licenses, /^== @kubernetes\/client-node@\d+\.\d+\.\d+ \(Apache-2\.0\)\n\n\s*Apache License/m);
  assert.match(licenses, /^== express@5\.\d+\.\d+ \(MIT\)\n\n/m);
});
