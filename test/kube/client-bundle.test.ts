import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as facade from '../../src/kube/client-node.js';
// @ts-expect-error: a build script in plain JavaScript, without declarations.
import { bundleKubeClient } from '../../scripts/bundle-kube-client.mjs';

// Outside the repository: nothing can resolve from its node_modules, and Node treats the bundle as
// application code (it warns about deprecated built-ins there, not inside node_modules).
const dir = mkdtempSync(join(tmpdir(), 'lg-client-bundle-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const outfile = join(dir, 'client-node.js');
const bundled = (await bundleKubeClient(fileURLToPath(new URL('../../src/kube/client-node.ts', import.meta.url)), outfile)) as string[];

test('the bundled client exports what src/kube/client-node.ts names, loads alone and quietly, and applies a kubeconfig', () => {
  // Basic auth is one of the kubeconfigs the own client leaves to client-node (src/kube/kubeconfig.ts).
  const script = `
    const client = await import(${JSON.stringify(outfile)});
    const config = new client.KubeConfig();
    config.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:6443' }],
      users: [{ name: 'u', username: 'ann', password: 'secret' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const options = {};
    await config.applyToHTTPSOptions(options);
    console.log(JSON.stringify({ exports: Object.keys(client).sort(), auth: options.auth }));`;
  const { stdout, stderr, status } = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, encoding: 'utf8' });
  assert.equal(stderr, '');
  assert.equal(status, 0);
  assert.deepEqual(JSON.parse(stdout), { exports: Object.keys(facade).sort(), auth: 'ann:secret' });
});

test("the bundle lists the client and what it pulled in, without node-fetch's fallback URL library", () => {
  assert.ok(bundled.includes('@kubernetes/client-node'));
  // node-fetch's fallback URL library (its 300 KB table, the deprecated punycode) is replaced by Node's URL.
  assert.ok(!bundled.includes('whatwg-url') && !bundled.includes('tr46'), bundled.join(', '));
  const licenses = readFileSync(join(dir, 'client-node.LICENSES.txt'), 'utf8');
  assert.match(licenses, /^== @kubernetes\/client-node@\d+\.\d+\.\d+ \(Apache-2\.0\)\n\n\s*Apache License/m);
});
