/*
 * Per-call round trip of the sync/async bridge on a trivial function (`n + 1`): each case awaits one call,
 * so the figure is the latency of sending the arguments to a worker thread and the result back, with nothing
 * else queued. Compared with piscina's `run` on an equivalent worker file, and with a bare `postMessage`
 * echo on one worker (the floor: Node's own messaging, no pool). Every pool has exactly one thread, already
 * started, so the cases differ only in the bridge's own work.
 */
import { Piscina } from 'piscina';
import { Worker } from 'node:worker_threads';
import {
  WorkerPool,
  asyncToSync,
  runInExecutor,
  shutdownExecutor,
  syncToAsync,
} from '../src/index.js';
import { BenchGroup, environment } from './harness.js';

const increment = (n: number): number => n + 1;

const pool = new WorkerPool({ size: 1 });
const wrapped = syncToAsync(increment, { pool });
const blocking = asyncToSync(increment);
const piscina = new Piscina<number, number>({
  filename: new URL('./bridge.piscina-worker.js', import.meta.url).href,
  minThreads: 1,
  maxThreads: 1,
});

// The floor: one worker that echoes n + 1, one pending call at a time.
const echo = new Worker(
  "const { parentPort } = require('node:worker_threads'); parentPort.on('message', (n) => parentPort.postMessage(n + 1));",
  { eval: true },
);
let settle: ((value: number) => void) | undefined;
echo.on('message', (value: number) => settle!(value));
const echoCall = (n: number): Promise<number> =>
  new Promise((resolve) => {
    settle = resolve;
    echo.postMessage(n);
  });

// Start every thread before measuring: start-up is not part of the round trip.
await Promise.all([runInExecutor(increment, 1), wrapped(1), piscina.run(1), echoCall(1)]);
blocking(1);

console.log(`bridge round trip on a trivial function, one worker per pool (${environment()})`);

const result = await new BenchGroup('bridge, round trip of n + 1', {
  repeats: 7,
  warmup: 5_000,
  sampleMs: 200,
})
  .add('bare postMessage echo (floor)', () => echoCall(1))
  .add('dspu runInExecutor(fn, 1)', () => runInExecutor(increment, 1))
  .add('dspu syncToAsync(fn)(1)', () => wrapped(1))
  .add('dspu asyncToSync(fn)(1) (blocking)', () => blocking(1))
  .add('piscina run(1)', () => piscina.run(1))
  .run();

const us = (name: string): string =>
  `${((result.ratio(name) * result.baselineNs) / 1000).toFixed(1)} µs`;
console.log(
  `runInExecutor ${us('dspu runInExecutor(fn, 1)')} per call, piscina run ${us('piscina run(1)')}, ` +
    `floor ${us('bare postMessage echo (floor)')}, asyncToSync ${us('dspu asyncToSync(fn)(1) (blocking)')}`,
);

await Promise.all([pool.close(), piscina.destroy(), echo.terminate(), shutdownExecutor()]);
