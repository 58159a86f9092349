// `npm run build`: dist/ as esbuild bundles of src/, not one file per module as tsc emits them
// (`npm run typecheck` checks the types). A replica loads one file, minified, instead of some 300
// modules: Node keeps every loaded module's source text and runs its module loader for each, which
// cost an idle `serve` about 8 MB of RSS (docs/performance.md, eighth round). Identifiers are kept, so
// stack traces still name the functions.
//
// Every output goes to dist/cli/: the CLI, the worker and child-process entries, and the chunks they
// share (modules loaded on demand, such as the cluster client, stay chunks of their own). A module
// finds its worker entry beside its own import.meta.url (src/threads/worker.ts), and the CLI's files
// (package.json, docs/rules, the HTML report's assets) relative to dist/cli/: both hold in any output
// file of one flat directory, as they do in src/ under tsx.
import { build } from 'esbuild';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** What the bundles are built from: the CLI, and each module started by name through src/threads/worker.ts. */
export function entryPoints(src) {
  const entries = [join(src, 'cli', 'main.ts')];
  for (const file of readdirSync(src, { recursive: true })) {
    if (!file.endsWith('.ts')) continue;
    const text = readFileSync(join(src, file), 'utf8');
    for (const [, name] of text.matchAll(/\bstart(?:Worker|ChildProcess)\('([\w-]+)'/g))
      entries.push(join(src, dirname(file), `${name}.ts`));
  }
  return entries;
}

/** Builds `src` into `outdir` (emptied first); returns the bundled packages' names. */
export async function buildDist(src, outdir) {
  rmSync(outdir, { recursive: true, force: true });
  const { metafile } = await build({
    entryPoints: entryPoints(src),
    outdir: join(outdir, 'cli'),
    entryNames: '[name]',
    chunkNames: '[name]-[hash]',
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
    logLevel: 'warning',
    // Some bundled packages are CommonJS and require Node's built-in modules.
    banner: {
      js: "import { createRequire as createBundleRequire } from 'node:module'; const require = createBundleRequire(import.meta.url);",
    },
    plugins: [nodeUrlForWhatwgUrl],
  });
  const commonJsImportedDynamically = dynamicImportsOfCommonJs(metafile);
  if (commonJsImportedDynamically.length > 0)
    throw new Error(
      `import() of CommonJS modules, which the bundles would give a default export only (Node gives named ones too): ${commonJsImportedDynamically.join('; ')}. Import the package statically in a module of our own, and import() that module.`,
    );
  // Files the modules read at run time (the HTML report's stylesheet and script), where they were in src/cli/.
  cpSync(join(src, 'cli'), join(outdir, 'cli'), { recursive: true, filter: (source) => !source.endsWith('.ts') });
  const notices = bundledPackages(metafile);
  writeFileSync(
    join(outdir, 'THIRD-PARTY-LICENSES.txt'),
    `The files under dist/ bundle these packages:\n\n${notices.map(({ title, text }) => `== ${title}\n\n${text}\n`).join('\n')}`,
  );
  return notices.map(({ name }) => name);
}

/**
 * node-fetch (under @kubernetes/client-node) takes `URL` from Node's `url` module and only falls back
 * to the `whatwg-url` package, which it requires anyway; that package's tr46 parses a 300 KB mapping
 * table at load (3 MB of RSS) and requires the `punycode` built-in, which Node 21+ deprecates with a
 * warning for code outside node_modules, as the bundle is. On Node the fallback is never taken, so the
 * package is replaced by Node's own URL.
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

/** `file imports module` for each import() whose target is CommonJS: esbuild then exports its module.exports as default only. */
function dynamicImportsOfCommonJs(metafile) {
  return Object.entries(metafile.inputs).flatMap(([file, { imports }]) =>
    imports
      .filter(({ kind, path }) => kind === 'dynamic-import' && metafile.inputs[path]?.format === 'cjs')
      .map(({ path, original }) => `${file} imports ${original ?? path}`),
  );
}

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
  const packages = await buildDist('src', 'dist');
  console.log(`dist/cli/: the CLI, its workers and their chunks, with ${packages.length} packages bundled`);
}
