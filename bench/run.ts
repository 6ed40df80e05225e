/*
 * Runs every compiled benchmark (`*.bench.js` beside this file) one after another, each in a child process of
 * its own so one benchmark's heap, JIT state and timers cannot disturb the next.
 *
 *   node --expose-gc build/bench/run.js            all benchmarks
 *   node --expose-gc build/bench/run.js retry      only those whose file name contains "retry"
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(here)
  .filter((name) => name.endsWith('.bench.js'))
  .filter((name) => filters.length === 0 || filters.some((f) => name.includes(f)))
  .sort();

if (files.length === 0) {
  console.error(`no benchmark matches ${filters.join(', ') || '*.bench.js'} in ${here}`);
  process.exit(1);
}

const failed: string[] = [];
for (const name of files) {
  console.log(`\n=== ${name}`);
  const started = Date.now();
  const { status, signal } = spawnSync(process.execPath, ['--expose-gc', here + name], {
    stdio: 'inherit',
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (status !== 0) failed.push(name);
  console.log(
    `=== ${name}: ${status === 0 ? 'done' : `FAILED (${signal ?? `exit ${status}`})`} in ${seconds} s`,
  );
}
console.log(`\n${files.length - failed.length} benchmarks done, ${failed.length} failed`);
if (failed.length > 0) process.exitCode = 1;
