import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packedConsumer, repoRoot } from './consumer.js';

const run = promisify(execFile);

interface Compiler {
  /** The package that holds it in node_modules (npm aliases: `typescript-5.9`, `typescript-7`). */
  readonly package: string;
  readonly version: string;
  readonly major: number;
}

/** The TypeScript versions users compile with, each from its own devDependency. */
const compilers: Compiler[] = ['typescript-5.9', 'typescript', 'typescript-7'].map((name) => {
  const { version } = JSON.parse(
    readFileSync(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8'),
  ) as { version: string };
  return { package: name, version, major: Number(version.split('.')[0]) };
});

interface Resolution {
  readonly name: string;
  /** The consumer files it checks: under node16, one ES module and one CommonJS module. */
  readonly files: readonly string[];
  readonly options: (compiler: Compiler) => Record<string, unknown>;
}

/*
 * Each as users' projects set it, with skipLibCheck (NestJS projects all have it). One more check reads every
 * declaration file of the package and of its peers: TypeScript 7 (fast enough for it) under nodenext. Not under
 * node16, where TypeScript forbids a CommonJS file to import an ES module and NestJS 12 is ESM-only.
 */
const resolutions: Resolution[] = [
  {
    name: 'node16',
    files: ['uses-every-entry.mts', 'uses-every-entry.cts'],
    options: () => ({ module: 'node16', moduleResolution: 'node16' }),
  },
  {
    name: 'bundler',
    files: ['uses-every-entry.ts'],
    options: () => ({ module: 'esnext', moduleResolution: 'bundler' }),
  },
  {
    // Projects that still compile to CommonJS the old way (NestJS projects from before Nest 11). TypeScript
    // 6.0 deprecates node10 and TypeScript 7 removed it: there `module: commonjs` resolves like bundler.
    name: 'node10',
    files: ['uses-every-entry.ts'],
    options: (compiler) =>
      compiler.major >= 7
        ? { module: 'commonjs' }
        : {
            module: 'commonjs',
            moduleResolution: 'node10',
            ...(compiler.major === 6 ? { ignoreDeprecations: '6.0' } : {}),
          },
  },
];

const deepCheck: Resolution = {
  name: 'nodenext, skipLibCheck off',
  files: ['uses-every-entry.mts', 'uses-every-entry.cts'],
  options: () => ({ module: 'nodenext', moduleResolution: 'nodenext', skipLibCheck: false }),
};

function typeCheck(compiler: Compiler, resolution: Resolution): Promise<string> {
  const { dir } = packedConsumer();
  const config = `tsconfig.${compiler.package}.${resolution.name.replace(/\W+/g, '-')}.json`;
  const compilerOptions = {
    target: 'es2022',
    strict: true,
    noEmit: true,
    types: ['node'],
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    skipLibCheck: true,
    ...resolution.options(compiler),
  };
  writeFileSync(join(dir, config), JSON.stringify({ compilerOptions, files: resolution.files }));
  const tsc = join(repoRoot, 'node_modules', compiler.package, 'bin', 'tsc');
  return run(process.execPath, [tsc, '-p', config], { cwd: dir }).then(
    () => '',
    (error: Error & { stdout?: string; stderr?: string }) =>
      `${error.stdout ?? ''}${error.stderr ?? ''}` || error.message,
  );
}

/** Runs the tasks (which never reject) two at a time: the machines that run them have two cores. */
function inPairs<T>(tasks: (() => Promise<T>)[]): Promise<T>[] {
  const results: Promise<T>[] = [];
  for (let i = 0; i < tasks.length; i++) {
    results.push(i < 2 ? tasks[i]() : results[i - 2].then(tasks[i], tasks[i]));
  }
  return results;
}

describe('the packed package, type-checked by a consumer', function () {
  this.timeout(120_000);

  const checks = [
    ...compilers.flatMap((compiler) => resolutions.map((resolution) => ({ compiler, resolution }))),
    { compiler: compilers.find((compiler) => compiler.major >= 7)!, resolution: deepCheck },
  ];
  let outcomes: Promise<string>[] = [];

  before(() => {
    const { dir } = packedConsumer();
    const fixture = join(repoRoot, 'test', 'fixtures', 'consumer', 'uses-every-entry.ts');
    for (const extension of ['ts', 'mts', 'cts']) {
      copyFileSync(fixture, join(dir, `uses-every-entry.${extension}`));
    }
    outcomes = inPairs(
      checks.map(
        ({ compiler, resolution }) =>
          () =>
            typeCheck(compiler, resolution),
      ),
    );
  });

  checks.forEach(({ compiler, resolution }, index) => {
    it(`compiles under TypeScript ${compiler.version} with moduleResolution ${resolution.name}`, async () => {
      const errors = await outcomes[index];
      expect(errors, errors).to.equal('');
    });
  });

  it('passes attw in every resolution mode: node10, node16 from CommonJS and from ESM, bundler', async () => {
    const { dir, tarball } = packedConsumer();
    const attw = join(repoRoot, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js');
    const args = [attw, tarball, '--profile', 'strict', '--no-definitely-typed', '--no-color'];
    const result = await run(process.execPath, args, { cwd: dir }).then(
      () => '',
      (error: Error & { stdout?: string }) => error.stdout || error.message,
    );
    expect(result, result).to.equal('');
  });
});
