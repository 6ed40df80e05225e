import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../fixtures/bridge/exits-promptly.js', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  exitedAt: number;
}

/** Runs the script in a child Node process; kills it after `limit` ms, which the test then reports. */
function runChild(limit: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), limit);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr, exitedAt: Date.now() });
    });
  });
}

describe('bridge and process exit', () => {
  it('lets a script that used every bridge entry point exit promptly after its last call', async function () {
    this.timeout(15_000);
    const run = await runChild(10_000);
    expect(run.stderr).to.equal('');
    expect(run.code).to.equal(0);
    const report = JSON.parse(run.stdout) as Record<string, unknown> & { lastCallAt: number };
    expect(report).to.deep.include({
      spun: 200,
      squares: [1, 4, 9, 16],
      failed: 'TypeError',
      doubled: 42,
      echoed: 'sync',
    });
    // Workers left idle must not hold the process: it ends as soon as its own work is done.
    expect(run.exitedAt - report.lastCallAt).to.be.below(1000);
  });
});
