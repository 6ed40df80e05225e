import { spawn } from 'node:child_process';

/** What a child Node process did: its exit code, its output, and when it started and exited. */
export interface NodeRun {
  code: number | null;
  stdout: string;
  stderr: string;
  startedAt: number;
  exitedAt: number;
}

/**
 * Runs `node ...args` in a child process and collects what it printed. A process still running after `limitMs`
 * is killed (its `code` is then null), so a hang fails the test that awaits it instead of stalling the suite.
 */
export function runNode(args: readonly string[], limitMs = 15_000): Promise<NodeRun> {
  return new Promise((resolve, reject) => {
    const startedAt = Date.now();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr, startedAt, exitedAt: Date.now() });
    });
  });
}
