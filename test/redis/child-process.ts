import { spawn } from 'node:child_process';

/**
 * Spawns `node script ...args`, a member of a fleet that connects, writes `ready` to stderr and then waits for a
 * start time on stdin. Resolves, once it is ready, to a function that sends the start time and resolves to the
 * JSON the member prints on stdout when it exits (rejects with its stderr when it fails). Starting every member
 * at one agreed time keeps process start-up out of what the test measures.
 */
export function spawnMember<Report>(
  script: string,
  args: readonly string[],
): Promise<(start: number) => Promise<Report>> {
  return new Promise((ready, reject) => {
    const proc = spawn(process.execPath, [script, ...args]);
    let stdout = '';
    let stderr = '';
    const done = new Promise<Report>((resolve, fail) => {
      proc.on('exit', (code) => {
        if (code === 0) resolve(JSON.parse(stdout) as Report);
        else fail(new Error(`${script} exited with ${code}: ${stderr}`));
      });
    });
    done.catch(reject);
    proc.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    proc.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr === 'ready\n')
        ready((start) => {
          proc.stdin.end(String(start));
          return done;
        });
    });
    proc.on('error', reject);
  });
}
