/*
 * Builds dist/ for every entry of package.json's `exports` ("." is src/index.ts, "./nestjs" is
 * src/nestjs/index.ts, …):
 *
 *   dist/esm/   tsc's output, one file per module, and the .d.ts. The `module` condition: bundlers, which
 *               tree-shake per module (`retry` alone stays small) and do not care how many files there are.
 *   dist/cjs/   one CommonJS file per entry, bundled by esbuild from dist/esm, and the same .d.ts read as
 *               CommonJS. The `require` condition. An integration requires the core's file, not a copy.
 *   dist/node/  one ESM file per entry that loads the entry's CommonJS file and re-exports its names. Node's
 *               `import` condition: so a process that both imports and requires dspu gets one registry and
 *               one set of error classes, and `import('dspu')` reads one file instead of dozens.
 *
 * A module `x.ts` with a sibling `x.node.ts` is replaced by the sibling in the CommonJS bundles: that is how
 * the Node build loads reflect-metadata on first use instead of at import.
 *
 * Adding an entry (say dspu/testing, from src/testing/index.ts): add its block to package.json `exports` and its
 * line to `typesVersions` (the build prints both as it expects them); the build, the packed-package checks and
 * the API reference take their entries from `exports`.
 *
 *   node scripts/build.mjs             build
 *   node scripts/build.mjs --if-stale  build only when a source is newer than dist/
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
const entries = entriesOf(pkg);
// Written last: when it exists, dist/ is complete.
const lastOutput = join(dist, 'cjs', 'package.json');

if (process.argv.includes('--if-stale') && !isStale()) process.exit(0);

rmSync(dist, { recursive: true, force: true });
const require = createRequire(import.meta.url);
const tsc = spawnSync(
  process.execPath,
  [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')],
  { stdio: 'inherit' },
);
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

cpSync(join(dist, 'esm'), join(dist, 'cjs'), {
  recursive: true,
  filter: (from) => statSync(from).isDirectory() || from.endsWith('.d.ts'),
});
await Promise.all(entries.map(bundle));
writeFileSync(lastOutput, JSON.stringify({ type: 'commonjs' }) + '\n');

/** The entries named by package.json `exports`, after checking that each has the shape the build writes. */
function entriesOf(manifest) {
  const problems = [];
  const found = [];
  for (const [key, value] of Object.entries(manifest.exports)) {
    if (key === './package.json') continue;
    const name = key === '.' ? 'index' : `${key.slice(2)}/index`;
    const expected = exportsBlock(name);
    if (JSON.stringify(value) !== JSON.stringify(expected)) {
      problems.push(`exports["${key}"] should be ${JSON.stringify(expected, null, 2)}`);
    }
    if (key !== '.') {
      const mapped = manifest.typesVersions?.['*']?.[key.slice(2)];
      const types = [`./dist/cjs/${name}.d.ts`];
      if (JSON.stringify(mapped) !== JSON.stringify(types)) {
        problems.push(
          `typesVersions["*"]["${key.slice(2)}"] should be ${JSON.stringify(types)} ` +
            '(TypeScript with moduleResolution node10 ignores `exports`)',
        );
      }
    }
    found.push({ key, name, source: join(root, 'src', `${name}.ts`) });
  }
  for (const entry of found) {
    if (!existsSync(entry.source)) problems.push(`exports["${entry.key}"]: no ${entry.source}`);
  }
  if (problems.length > 0) {
    console.error(`package.json does not match what the build writes:\n${problems.join('\n')}`);
    process.exit(1);
  }
  return found;
}

function exportsBlock(name) {
  return {
    module: { types: `./dist/esm/${name}.d.ts`, default: `./dist/esm/${name}.js` },
    import: { types: `./dist/esm/${name}.d.ts`, default: `./dist/node/${name}.js` },
    require: { types: `./dist/cjs/${name}.d.ts`, default: `./dist/cjs/${name}.js` },
  };
}

function isStale() {
  if (!existsSync(lastOutput)) return true;
  const built = statSync(lastOutput).mtimeMs;
  const inputs = [
    'package.json',
    'tsconfig.json',
    'tsconfig.build.json',
    'scripts/build.mjs',
    ...filesUnder(join(root, 'src')),
  ];
  return inputs.some((file) => statSync(resolve(root, file)).mtimeMs > built);
}

function filesUnder(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

async function bundle(entry) {
  const options = {
    entryPoints: [join(dist, 'esm', `${entry.name}.js`)],
    bundle: true,
    platform: 'node',
    target: 'node20',
    packages: 'external',
    // Bundling renames a class that shares its name with a binding of its module (TypeScript's decorated
    // classes: `ResilienceModule2`), and users read class names in NestJS's logs and messages. The core has no
    // such class, and keeping names costs a millisecond of its load time (tested: test/package/load.test.ts).
    keepNames: entry.key !== '.',
    logLevel: 'warning',
    plugins: [nodeBuild(entry)],
  };
  const outfile = join(dist, 'cjs', `${entry.name}.js`);
  const [cjs, esm] = await Promise.all([
    esbuild.build({ ...options, format: 'cjs', outfile }),
    // Not written: only asked for the names the entry exports, which its Node ESM file re-exports.
    esbuild.build({ ...options, format: 'esm', outfile: 'names.js', write: false, metafile: true }),
  ]);
  if (cjs.errors.length > 0 || esm.errors.length > 0) process.exit(1);
  asciiOnly(outfile);
  const names = Object.values(esm.metafile.outputs)[0].exports;
  const wrapper = join(dist, 'node', `${entry.name}.js`);
  const target = relative(dirname(wrapper), join(dist, 'cjs', `${entry.name}.js`));
  mkdirSync(dirname(wrapper), { recursive: true });
  writeFileSync(
    wrapper,
    [
      `// ${packageName(entry)} for Node's \`import\`: its CommonJS build, so \`import\` and \`require\` share one instance.`,
      `import { createRequire } from 'node:module';`,
      `const cjs = createRequire(import.meta.url)(${JSON.stringify(target)});`,
      `export const { ${names.join(', ')} } = cjs;`,
      '',
    ].join('\n'),
  );
}

/*
 * esbuild writes strings ASCII-only but keeps some comments as they are. One non-ASCII character makes Node
 * read the whole file as a two-byte string, which costs about a millisecond more at every start.
 */
function asciiOnly(file) {
  const code = readFileSync(file, 'utf8');
  const ascii = code.replace(
    /[^\0-\x7f]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  if (ascii !== code) writeFileSync(file, ascii);
}

function packageName(entry) {
  return entry.key === '.' ? pkg.name : `${pkg.name}/${entry.key.slice(2)}`;
}

/**
 * Inside a bundle: another entry (the integrations import the core as `../index.js`) stays outside, as a
 * `require` of that entry's own CommonJS file, so every entry shares the one core; a module with a `.node.js`
 * sibling is replaced by it.
 */
function nodeBuild(entry) {
  const from = dirname(join(dist, 'cjs', entry.name));
  const others = new Map(
    entries
      .filter((other) => other !== entry)
      .map((other) => [
        join(dist, 'esm', `${other.name}.js`),
        `./${relative(from, join(dist, 'cjs', `${other.name}.js`))}`.replace(/^\.\/\.\./, '..'),
      ]),
  );
  return {
    name: 'dspu-node-build',
    setup(build) {
      build.onResolve({ filter: /^\./ }, (args) => {
        const path = resolve(args.resolveDir, args.path);
        if (others.has(path)) return { path: others.get(path), external: true };
        const variant = path.replace(/\.js$/, '.node.js');
        if (variant !== path && existsSync(variant)) return { path: variant };
        return undefined;
      });
    },
  };
}
