// A CPU-heavy function run three ways while a 10 ms timer ticks: on the event loop (the timer starves), and on a
// worker thread through syncToAsync and runInExecutor (the timer keeps ticking). The tick count is the loop's
// responsiveness: what every other request of a server would feel during the computation.
import { runInExecutor, shutdownExecutor, syncToAsync } from 'dspu';

const N = 300_000_000;
const TICK_MS = 10;

/** Self-contained (no captured variables), so it can be sent to a worker as source. */
function sumOfSquares(n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += (i % 1_000) * (i % 1_000);
  return sum;
}

const calc = syncToAsync(sumOfSquares);

interface Run {
  result: number;
  ms: number;
  ticks: number;
  longestGapMs: number;
}

/** Runs `work` while a TICK_MS interval timer counts how often the event loop got to run it. */
async function whileTicking(work: () => Promise<number>): Promise<Run> {
  let ticks = 0;
  let last = performance.now();
  let longestGapMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longestGapMs = Math.max(longestGapMs, now - last);
    last = now;
    ticks++;
  }, TICK_MS);
  const started = performance.now();
  const result = await work();
  const ms = performance.now() - started;
  longestGapMs = Math.max(longestGapMs, performance.now() - last);
  clearInterval(timer);
  return { result, ms, ticks, longestGapMs };
}

function report(label: string, run: Run): void {
  const expected = Math.floor(run.ms / TICK_MS);
  console.log(
    `${label.padEnd(32)} ${run.ms.toFixed(0).padStart(5)} ms  ` +
      `timer ticked ${String(run.ticks).padStart(3)} of ~${expected} times, ` +
      `longest gap ${run.longestGapMs.toFixed(0)} ms`,
  );
}

console.log(
  `sumOfSquares(${N.toLocaleString('en-US')}) while a ${TICK_MS} ms interval timer runs:`,
);
await calc(1); // start the worker first, so the figures below are the computation alone

const inline = await whileTicking(() => Promise.resolve(sumOfSquares(N)));
report('on the event loop', inline);
const bridged = await whileTicking(() => calc(N));
report('syncToAsync(sumOfSquares)(n)', bridged);
const executed = await whileTicking(() => runInExecutor(sumOfSquares, N));
report('runInExecutor(sumOfSquares, n)', executed);

const same = inline.result === bridged.result && bridged.result === executed.result;
console.log(`same result all three ways: ${same} (${inline.result.toExponential(6)})`);
await shutdownExecutor();
