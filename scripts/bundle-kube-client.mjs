// The build's last step: dist/kube/client-node.js (src/kube/client-node.ts, the values src/ uses from
// @kubernetes/client-node) becomes one file holding only what those values reach. The package's
// public entry re-exports every generated API and model, and an ES module graph cannot be pruned at
// run time; esbuild prunes it here. Identifiers are kept, so stack traces still name the client's
// functions. The licenses of the bundled packages go next to it, in client-node.LICENSES.txt.
import { build } from 'esbuild';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Bundles `entry` (a module re-exporting values of the client) into `outfile`, with the licenses beside it.
 * Returns the bundled packages' names.
 */
export async function bundleKubeClient(entry, outfile) {
  const { metafile } = await build({
    entryPoints: [entry],
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
    plugins: [nodeUrlForWhatwgUrl],
  });
  // A source map from tsc described the file before bundling.
  rmSync(`${outfile}.map`, { force: true });
  const notices = bundledPackages(metafile);
  writeFileSync(
    join(dirname(outfile), 'client-node.LICENSES.txt'),
    `${outfile} bundles these packages:\n\n${notices.map(({ title, text }) => `== ${title}\n\n${text}\n`).join('\n')}`,
  );
  return notices.map(({ name }) => name);
}

/**
 * node-fetch takes `URL` from Node's `url` module and only falls back to the `whatwg-url` package, which
 * it requires anyway; that package's tr46 parses a 300 KB mapping table at load (3 MB of an idle
 * replica's RSS) and requires the `punycode` built-in, which Node 21+ deprecates with a warning for
 * code outside node_modules, as the bundle is. On Node the fallback is never taken, so the package is
 * replaced by Node's own URL.
 */
const nodeUrlForWhatwgUrl = {
  name: 'node-url-for-whatwg-url',
  setup(builder) {
    builder.onResolve({ filter: /^whatwg-url$/ }, () => ({ path: 'whatwg-url', namespace: 'node-url' }));
    builder.onLoad({ filter: /.*/, namespace: 'node-url' }, () => ({
      contents: 'module.exports = { URL: globalThis.URL };',
      loader: 'js',
    }));
  },
};

/** Each bundled package once: its name, a title with version and license, and its license text. */
function bundledPackages(metafile) {
  const packages = new Map();
  for (const input of Object.keys(metafile.inputs)) {
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match === null || packages.has(match[1])) continue;
    const manifest = JSON.parse(readFileSync(join(match[1], 'package.json'), 'utf8'));
    const licenseFile = readdirSync(match[1]).find((name) => /^(licen[cs]e|copying)(\.|$)/i.test(name));
    packages.set(match[1], {
      name: manifest.name,
      title: `${manifest.name}@${manifest.version} (${manifest.license ?? 'license not stated'})`,
      text: licenseFile === undefined ? '' : readFileSync(join(match[1], licenseFile), 'utf8').trim(),
    });
  }
  return [...packages.values()].sort((a, b) => a.title.localeCompare(b.title));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await bundleKubeClient('dist/kube/client-node.js', 'dist/kube/client-node.js');
}
