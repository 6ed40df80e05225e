/*
 * dspu in the test runners NestJS teams use: a Jest project (CommonJS, ts-jest: the Nest 11 template), a Vitest
 * project (ES modules: the Nest 12 template) and the NestJS sample's own Vitest test, each run by its real runner against the packed package, with the
 * runner's fake timers driving a retry backoff, a breaker's open timeout and a timeout, and resetResilience()
 * between tests. The runners come from this repository's node_modules: no network.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { packedConsumer, repoRoot } from './consumer.js';

const run = promisify(execFile);

/** What the projects need beside dspu and its peers (which the consumer links already). */
const runnerPackages = [
  'jest',
  'ts-jest',
  '@jest/globals',
  'vitest',
  'typescript',
  '@nestjs/testing',
];

/** Copies `files` (paths from the repository root, or folders whose content is copied) into a new project. */
function project(name: string, sources: readonly string[]): string {
  const dir = join(packedConsumer().dir, name);
  mkdirSync(dir, { recursive: true });
  for (const source of sources)
    cpSync(join(repoRoot, source), join(dir, source.split('/').at(-1)!), { recursive: true });
  return dir;
}

interface RunnerOutput {
  readonly code: number;
  readonly output: string;
}

async function runIn(dir: string, script: string, args: readonly string[]): Promise<RunnerOutput> {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0' };
  delete env.NODE_OPTIONS;
  return run(process.execPath, [join(repoRoot, 'node_modules', script), ...args], {
    cwd: dir,
    env,
    timeout: 60_000,
    maxBuffer: 16 * 1024 * 1024,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
    (error: Error & { code?: number; stdout?: string; stderr?: string }) => ({
      code: typeof error.code === 'number' ? error.code : 1,
      output: `${error.stdout ?? ''}${error.stderr ?? ''}${error.message}`,
    }),
  );
}

const jest = (dir: string) =>
  runIn(dir, 'jest/bin/jest.js', ['--ci', '--detectOpenHandles', '--rootDir', dir]);
const vitest = (dir: string) => runIn(dir, 'vitest/vitest.mjs', ['run', '--root', dir]);

/** What a runner prints when dspu (or anything) leaves work behind after a test file. */
const LEFTOVERS =
  /soft deleted|open handle|did not exit|PromiseRejectionHandledWarning|Unhandled(Promise)?Rejection|unhandled error/i;

function expectClean(result: RunnerOutput, passed: RegExp): void {
  expect(result.code, result.output).to.equal(0);
  expect(result.output).to.match(passed);
  expect(result.output).to.not.match(LEFTOVERS);
}

describe('the packed package under Jest and Vitest', function () {
  this.timeout(120_000);

  before(() => {
    const { dir } = packedConsumer();
    for (const name of runnerPackages) {
      const link = join(dir, 'node_modules', name);
      if (existsSync(link)) continue;
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(join(repoRoot, 'node_modules', name), link, 'dir');
    }
  });

  it('passes a Jest project (CommonJS, ts-jest, fake timers) with nothing left behind', async () => {
    const dir = project('jest-cjs', ['test/package/runners/jest-cjs/.']);
    expectClean(await jest(dir), /Tests: +4 passed, 4 total/);
  });

  it('passes a Vitest project (ES modules, fake timers) with nothing left behind', async () => {
    const dir = project('vitest-esm', ['test/package/runners/vitest-esm/.']);
    expectClean(await vitest(dir), /Tests +4 passed \(4\)/);
  });

  it('passes the NestJS sample’s Vitest test (Test.createTestingModule, fake timers)', async () => {
    const dir = project('nestjs-sample', [
      'test/package/runners/vitest-esm/package.json',
      'test/package/runners/vitest-esm/vitest.config.js',
      'test/package/runners/vitest-esm/tsconfig.json',
      'samples/nestjs/quote.service.ts',
      'samples/nestjs/quote.service.spec.ts',
    ]);
    expectClean(await vitest(dir), /Tests +4 passed \(4\)/);
  });
});
