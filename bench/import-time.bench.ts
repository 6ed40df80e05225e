/*
 * What it costs an application to load dspu, beside opossum and cockatiel: each load in a fresh process (a
 * module is loaded once per process, so only a cold start says anything), rounds interleaving the libraries so
 * machine noise hits them alike, the median over rounds reported. `import()` is what an ES module application
 * pays, `require()` a CommonJS one.
 *
 * A second table shows what dspu avoids loading at startup and what the per-module build (the one bundlers
 * get) would cost Node: the reasons the Node build is one file and loads reflect-metadata and worker_threads
 * on first use. A third gives what an application bundles when it uses only part of dspu: esbuild with the
 * `module` build, minified.
 *
 * Exits non-zero when `import('dspu')` is slower than `import('opossum')`.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';
import { environment, formatTable, median } from './harness.js';

const run = promisify(execFile);
const child = fileURLToPath(new URL('./import-time.child.js', import.meta.url));
const perModuleBuild = fileURLToPath(new URL('../../dist/esm/index.js', import.meta.url));
const rounds = 21;

interface Load {
  readonly label: string;
  readonly specifier: string;
  readonly mode: 'import' | 'require';
}

const libraries = ['dspu', 'opossum', 'cockatiel'];
const loads: Load[] = libraries.flatMap((name) =>
  (['import', 'require'] as const).map((mode) => ({
    label: `${mode}('${name}')`,
    specifier: name,
    mode,
  })),
);
const parts: Load[] = [
  { label: 'reflect-metadata', specifier: 'reflect-metadata', mode: 'require' },
  { label: 'node:worker_threads', specifier: 'node:worker_threads', mode: 'require' },
  { label: 'node:async_hooks', specifier: 'node:async_hooks', mode: 'require' },
  {
    label: `dspu's per-module ESM build (${countFiles(perModuleBuild)} files)`,
    specifier: perModuleBuild,
    mode: 'import',
  },
];

function countFiles(entry: string): number {
  const dir = fileURLToPath(new URL('.', `file://${entry}`));
  return readdirSync(dir, { recursive: true }).filter((name) => String(name).endsWith('.js'))
    .length;
}

interface Sample {
  ms: number;
  cpuMs: number;
  files: number;
}

async function measureOnce(load: Load): Promise<Sample> {
  const { stdout } = await run(process.execPath, [child, load.specifier, load.mode]).catch(
    (error: Error & { stderr?: string }) => {
      throw new Error(`loading ${load.label} failed:\n${error.stderr ?? error.message}`);
    },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Sample;
}

async function measureAll(list: readonly Load[]): Promise<Map<Load, Sample>> {
  const samples = new Map<Load, Sample[]>(list.map((load) => [load, []]));
  for (let round = 0; round < rounds; round++) {
    for (const load of list) samples.get(load)!.push(await measureOnce(load));
  }
  const medians = (taken: Sample[]): Sample => ({
    ms: median(taken.map((sample) => sample.ms)),
    cpuMs: median(taken.map((sample) => sample.cpuMs)),
    files: taken[0].files,
  });
  return new Map(list.map((load) => [load, medians(samples.get(load)!)]));
}

console.log(`load time in fresh processes, median of ${rounds} (${environment()})`);
const results = await measureAll([...loads, ...parts]);
const ms = (load: Load) => results.get(load)!.ms;
const cpuMs = (load: Load) => results.get(load)!.cpuMs;
const opossum = (mode: string) => loads.find((l) => l.specifier === 'opossum' && l.mode === mode)!;

console.log(
  formatTable(
    'loading the library',
    ['load', 'ms', 'ratio to opossum', 'CPU ms', 'CommonJS files read'],
    loads.map((load) => [
      load.label,
      ms(load).toFixed(1),
      `${(ms(load) / ms(opossum(load.mode))).toFixed(2)}×`,
      cpuMs(load).toFixed(1),
      String(results.get(load)!.files),
    ]),
  ),
);
console.log(
  formatTable(
    'what dspu does not load at startup',
    ['load', 'ms', 'CPU ms'],
    parts.map((load) => [load.label, ms(load).toFixed(1), cpuMs(load).toFixed(1)]),
  ),
);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const uses = [
  ['retry alone', "import { retry } from 'dspu'; console.log(retry);"],
  ['@Retry alone', "import { Retry } from 'dspu'; console.log(Retry);"],
  ['everything', "import * as dspu from 'dspu'; console.log(dspu);"],
];
const sizes = await Promise.all(
  uses.map(async ([, contents]) => {
    const built = await esbuild.build({
      stdin: { contents, resolveDir: repoRoot, loader: 'js' },
      bundle: true,
      minify: true,
      platform: 'node',
      format: 'esm',
      external: ['reflect-metadata'],
      write: false,
    });
    return built.outputFiles[0].contents.length;
  }),
);
console.log(
  formatTable(
    'bundled by esbuild from the module build, minified',
    ['what the application uses', 'bytes'],
    uses.map(([label], i) => [label, sizes[i].toLocaleString('en-US')]),
  ),
);

const dspuImport = loads.find((l) => l.specifier === 'dspu' && l.mode === 'import')!;
const ratio = ms(dspuImport) / ms(opossum('import'));
console.log(
  `import('dspu') / import('opossum') = ${ratio.toFixed(2)}: ${ratio <= 1 ? 'no slower' : 'SLOWER than opossum'}`,
);
if (ratio > 1) process.exitCode = 1;
