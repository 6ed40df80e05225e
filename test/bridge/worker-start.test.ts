// Bridge workers inherit how the process was started. Each case here starts a real Node process with the
// flags under test and runs the bridge in it, on real worker threads.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bridgeExecArgv } from '../../src/bridge/worker-start.js';
import { runNode } from '../support/node-process.js';

const entry = new URL('../../src/index.js', import.meta.url).href;

/** Runs `code` as an ES module under `flags` in a child Node process (its output trimmed), killed after `limit` ms. */
async function runModule(flags: string[], code: string, limit = 15_000) {
  const run = await runNode([...flags, '--input-type=module', '-e', code], limit);
  return { ...run, stdout: run.stdout.trim(), ms: run.exitedAt - run.startedAt };
}

/** A program that prints what each bridge entry point gives for `a + 1`, or the error it fails with. */
const everyEntryPoint = `
import { asyncToSync, runAsync, runInExecutor, syncToAsync } from ${JSON.stringify(entry)};
const show = (error) => error.name + ': ' + error.message;
const out = [];
for (let i = 0; i < 2; i++) out.push(await runInExecutor((a) => a + 1, i).catch(show));
out.push(await syncToAsync((a) => a + 1)(2).catch(show));
for (const call of [() => asyncToSync(async (a) => a + 1, { timeout: '5s' })(3), () => runAsync(async (a) => a + 1, 4)]) {
  try { out.push(call()); } catch (error) { out.push(show(error)); }
}
console.log(JSON.stringify(out));
`;

// A preload (`--require` runs in worker threads too) that fails in every worker, before dspu's program can run.
const FAILING_PRELOAD = `const { isMainThread } = require('node:worker_threads');
if (!isMainThread) throw new Error('this preload refuses worker threads');
`;

function permissionFlags(): string[] {
  const flag = process.allowedNodeEnvironmentFlags.has('--permission')
    ? '--permission'
    : '--experimental-permission';
  return [flag, '--allow-fs-read=*', '--no-warnings'];
}

describe('bridge workers and the flags the process was started with', function () {
  this.timeout(30_000);
  let directory: string;
  let preload: string;
  before(() => {
    directory = mkdtempSync(join(tmpdir(), 'dspu-bridge-'));
    preload = join(directory, 'refuses-workers.cjs');
    writeFileSync(preload, FAILING_PRELOAD);
  });
  after(() => rmSync(directory, { recursive: true, force: true }));

  it('runs every entry point in a process started with --input-type=module', async () => {
    const run = await runModule([], everyEntryPoint);
    expect(run.stderr).to.equal('');
    expect(JSON.parse(run.stdout)).to.deep.equal([1, 2, 3, 4, 5]);
  });

  it('runs every entry point when the process also has flags a worker may not be given', async () => {
    const run = await runModule(['--stack-size=900', '--title=dspu-test'], everyEntryPoint);
    expect(run.stderr).to.equal('');
    expect(JSON.parse(run.stdout)).to.deep.equal([1, 2, 3, 4, 5]);
  });

  it('fails asyncToSync with a BridgeError, never a hang, when its worker dies before it can start', async () => {
    const run = await runModule(
      ['--require', preload],
      `
import { asyncToSync } from ${JSON.stringify(entry)};
const errors = [];
for (let i = 0; i < 2; i++) {
  try {
    asyncToSync(async (a) => a + 1, { timeout: '2s' })(1);
    errors.push('returned');
  } catch (error) {
    errors.push({ name: error.name, message: error.message });
  }
  await new Promise((resolve) => setTimeout(resolve, 100)); // lets the dead worker's error event in
}
console.log(JSON.stringify(errors));
`,
    );
    expect(run.code, 'the process ended on its own').to.equal(0);
    const [first, second] = JSON.parse(run.stdout) as { name: string; message: string }[];
    expect(first.name).to.equal('BridgeError');
    expect(first.message).to.match(/did not start within 2000 ms/);
    expect(second.message).to.include(
      'The last one failed with: this preload refuses worker threads',
    );
  });

  it('bounds the wait for a worker that never starts even when the call has no timeout', async () => {
    const run = await runModule(
      ['--require', preload],
      `
import { runAsync } from ${JSON.stringify(entry)};
try {
  runAsync(async (a) => a + 1, 1);
  console.log('returned');
} catch (error) {
  console.log(error.name + ': ' + error.message);
}
`,
      20_000,
    );
    expect(run.code, 'the process ended on its own').to.equal(0);
    expect(run.stdout).to.match(/^BridgeError: .*did not start within 10000 ms/);
  });

  it('rejects pool calls with a BridgeError carrying the reason when their worker dies at start', async () => {
    const run = await runModule(
      ['--require', preload],
      `
import { runInExecutor } from ${JSON.stringify(entry)};
const error = await runInExecutor((a) => a + 1, 1).then(() => undefined, (e) => e);
console.log(JSON.stringify({ name: error?.name, message: error?.message }));
`,
    );
    const error = JSON.parse(run.stdout) as { name: string; message: string };
    expect(error.name).to.equal('BridgeError');
    expect(error.message).to.include('this preload refuses worker threads');
  });

  it('fails every entry point with a BridgeError saying why when no worker thread may be created', async () => {
    const run = await runModule(permissionFlags(), everyEntryPoint);
    expect(run.code, 'the process ended on its own').to.equal(0);
    const out = JSON.parse(run.stdout) as string[];
    expect(out).to.have.length(5);
    for (const line of out)
      expect(line).to.match(/^BridgeError: Could not start a worker thread: /);
  });
});

describe('bridgeExecArgv', () => {
  it('leaves out the flags about string input and the main script, with their values', () => {
    expect(
      bridgeExecArgv([
        '--input-type=module',
        '--require',
        './setup.cjs',
        '--experimental-default-type',
        'module',
        '-e',
        'console.log(1)',
        '--import=tsx',
        '--watch',
        '-p',
        '1',
      ]),
    ).to.deep.equal(['--require', './setup.cjs', '--import=tsx']);
  });

  it('asks for the inherited flags unchanged when none of them is in the way', () => {
    expect(bridgeExecArgv(['--no-warnings', '--max-old-space-size=200'])).to.equal(undefined);
    expect(bridgeExecArgv([])).to.equal(undefined);
  });
});
