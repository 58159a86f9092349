// The build's last step: dist/kube/client-node.js (src/kube/client-node.ts, the values src/ uses from
// @kubernetes/client-node) becomes one file holding only what those values reach. The package's
// public entry re-exports every generated API and model, and an ES module graph cannot be pruned at
// run time; esbuild prunes it here. Identifiers are kept, so stack traces still name the client's
// functions. The licenses of the bundled packages go next to it, in client-node.LICENSES.txt.
import { build } from 'esbuild';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const outfile = 'dist/kube/client-node.js';
const { metafile } = await build({
  entryPoints: [outfile],
  outfile,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  // Some bundled packages are CommonJS and require Node's built-in modules.
  banner: {
    js: "import { createRequire as createBundleRequire } from 'node:module'; const require = createBundleRequire(import.meta.url);",
  },
});
// tsc's source map described the file before bundling.
rmSync(`${outfile}.map`, { force: true });

/** Each bundled package once: its name, version and license text, found from the files esbuild read. */
const packages = new Map();
for (const input of Object.keys(metafile.inputs)) {
  const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (match === null || packages.has(match[1])) continue;
  const manifest = JSON.parse(readFileSync(join(match[1], 'package.json'), 'utf8'));
  const licenseFile = readdirSync(match[1]).find((name) => /^(licen[cs]e|copying)(\.|$)/i.test(name));
  packages.set(match[1], {
    title: `${manifest.name}@${manifest.version} (${manifest.license ?? 'license not stated'})`,
    text: licenseFile === undefined ? '' : readFileSync(join(match[1], licenseFile), 'utf8').trim(),
  });
}
const notices = [...packages.values()].sort((a, b) => a.title.localeCompare(b.title));
writeFileSync(
  join(dirname(outfile), 'client-node.LICENSES.txt'),
  `${outfile} bundles these packages:\n\n${notices.map(({ title, text }) => `== ${title}\n\n${text}\n`).join('\n')}`,
);
