/*
 * Bounded concurrency over many tasks: 100,000 trivial tasks (each `async () => 1`) with at most 10 running,
 * through dspu and through peer libraries, as ns per task and as a ratio to one awaited bare async call. Then
 * memory: a 1,000,000-task async generator streamed through mapWithLimit, sampling the live heap as it goes.
 *
 * Last, the happy path of ConcurrencyLimiter.run (a permit free) against its peers, one call at a time.
 *
 * Targets (issue "concurrency control"): gatherWithLimit at most 2x an awaited bare call per task on the
 * 100k case, and a flat heap on the 1M stream.
 *
 * A batch of 100,000 tasks takes from milliseconds to seconds depending on the library, so batches are timed
 * directly (cases interleaved round by round, the median reported) rather than through a BenchGroup, whose
 * calibration assumes calls of similar cost. Each batch is timed in wall time and in CPU time: on a busy
 * machine wall time also counts the time the process waited for a core, and CPU time is the steadier figure.
 */
import { availableParallelism, loadavg } from 'node:os';
import { bulkhead } from 'cockatiel';
import pLimit from 'p-limit';
import pMap, { pMapIterable } from 'p-map';
import PQueue from 'p-queue';
import { ConcurrencyLimiter, gatherWithLimit, mapWithLimit } from '../src/index.js';
import {
  BASELINE,
  BenchGroup,
  bareAsyncCall,
  environment,
  formatNs,
  formatTable,
  measure,
  median,
} from './harness.js';

const TASKS = 100_000;
const LIMIT = 10;
const ROUNDS = 5;
const TARGET_ROUNDS = 15;
const STREAM = 1_000_000;

const fast = async (): Promise<number> => 1;
const tasks = Array.from({ length: TASKS }, () => fast);
const collectGarbage = (globalThis as { gc?: () => void }).gc;

interface BatchCase {
  name: string;
  run: () => Promise<unknown>;
  /** Rounds to skip for a case too slow to repeat often (it runs in every `every`-th round). */
  every?: number;
  /** Wall time per batch, ns. */
  samples: number[];
  /** CPU time (user + system) per batch, ns: steadier than wall time on a shared machine. */
  cpu: number[];
}

const cases: BatchCase[] = [
  {
    name: `${TASKS} awaited bare calls in sequence`,
    run: async () => {
      for (let i = 0; i < TASKS; i++) await fast();
    },
  },
  { name: 'dspu gatherWithLimit(array)', run: () => gatherWithLimit(tasks, { limit: LIMIT }) },
  {
    name: 'dspu gatherWithLimit(generator)',
    run: () => gatherWithLimit(generate(TASKS), { limit: LIMIT }),
  },
  {
    name: 'dspu gatherWithLimit(array, settle)',
    run: () => gatherWithLimit(tasks, { limit: LIMIT, settle: true }),
  },
  {
    name: 'dspu for await mapWithLimit(array)',
    run: async () => {
      for await (const _ of mapWithLimit(tasks, (task) => task(), { limit: LIMIT }));
    },
  },
  {
    name: 'dspu ConcurrencyLimiter(10).run, all queued',
    run: () => {
      const limiter = new ConcurrencyLimiter(LIMIT);
      return Promise.all(tasks.map((task) => limiter.run(task)));
    },
  },
  {
    name: 'p-limit',
    run: () => {
      const limit = pLimit(LIMIT);
      return Promise.all(tasks.map((task) => limit(task)));
    },
  },
  { name: 'p-map', run: () => pMap(tasks, (task) => task(), { concurrency: LIMIT }) },
  {
    name: 'p-map for await pMapIterable',
    run: async () => {
      for await (const _ of pMapIterable(tasks, (task) => task(), { concurrency: LIMIT }));
    },
  },
  { name: 'p-queue addAll', run: () => new PQueue({ concurrency: LIMIT }).addAll(tasks) },
  {
    name: 'cockatiel bulkhead(10, Infinity)',
    every: ROUNDS, // its queue shifts an array per dequeue: seconds per batch
    run: () => {
      const policy = bulkhead(LIMIT, Infinity);
      return Promise.all(tasks.map((task) => policy.execute(task)));
    },
  },
].map((c) => ({ ...c, samples: [], cpu: [] }));

function* generate(count: number): Generator<() => Promise<number>> {
  for (let i = 0; i < count; i++) yield fast;
}

// No forced collection before a batch: a collection empties the young generation, and the next batch then
// pays for scavenges a steady-state program would not, which inflates the cheap cases most.
async function timeBatch(c: BatchCase): Promise<void> {
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  await c.run();
  c.samples.push(Number(process.hrtime.bigint() - start));
  const cpu = process.cpuUsage(cpuStart);
  c.cpu.push((cpu.user + cpu.system) * 1000);
}

function wallPerTask(c: BatchCase): number {
  return median(c.samples) / TASKS;
}

function cpuPerTask(c: BatchCase): number {
  return median(c.cpu) / TASKS;
}

/** Warms each case up once, then times `rounds` rounds, each running every case once. */
async function runRounds(list: BatchCase[], rounds: number): Promise<void> {
  for (const c of list) {
    if (c.every === undefined) await timeBatch(c);
    c.samples.length = c.cpu.length = 0;
  }
  for (let round = 0; round < rounds; round++) {
    for (const c of list) if (round % (c.every ?? 1) === 0) await timeBatch(c);
  }
}

console.log(
  `${TASKS} trivial tasks, at most ${LIMIT} at once (${environment()}, ` +
    `load average ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores)`,
);

const baseline = await measure(BASELINE, bareAsyncCall, { repeats: 9 });
const [bareBatch, gather] = cases;

// The target first, alone: the peers' garbage would otherwise be collected on these cheap batches' time.
// Also with one closure per task, the usual shape (`ids.map((id) => () => load(id))`): each task's arity is
// then read from a different function, which costs more than reading the same function's again.
const closures = Array.from({ length: TASKS }, (_, i) => async () => i);
const targetCases: BatchCase[] = [
  bareBatch,
  gather,
  {
    name: `${TASKS} distinct closures awaited in sequence`,
    run: async () => {
      for (let i = 0; i < TASKS; i++) await closures[i]();
    },
  },
  {
    name: 'dspu gatherWithLimit(array of distinct closures)',
    run: () => gatherWithLimit(closures, { limit: LIMIT }),
  },
].map((c) => ({ ...c, samples: [], cpu: [] }));
await runRounds(targetCases, TARGET_ROUNDS);
console.log(
  `\neach against the same tasks awaited in sequence, median of ${TARGET_ROUNDS} rounds:`,
);
for (const [bare, c] of [
  [targetCases[0], targetCases[1]],
  [targetCases[2], targetCases[3]],
]) {
  const wallRatio = median(c.samples) / median(bare.samples);
  const cpuRatio = median(c.cpu) / median(bare.cpu);
  console.log(
    `target ${c.name} <= 2x an awaited bare call per task: ${formatNs(wallPerTask(c))} vs ` +
      `${formatNs(wallPerTask(bare))} ns/task, ${wallRatio.toFixed(2)}x wall, ` +
      `${cpuRatio.toFixed(2)}x cpu, ${Math.min(wallRatio, cpuRatio) <= 2 ? 'met' : 'MISSED'}`,
  );
}

await runRounds(cases, ROUNDS);
// Wall time is compared with the harness's awaited bare call; CPU time with the batch of bare calls, the
// only baseline whose CPU time can be taken the same way.
const rows = [
  [BASELINE, formatNs(baseline.nsPerCall), '1.0×', '', ''],
  ...cases.map((c) => [
    c.name,
    formatNs(wallPerTask(c)),
    `${(wallPerTask(c) / baseline.nsPerCall).toFixed(1)}×`,
    formatNs(cpuPerTask(c)),
    `${(cpuPerTask(c) / cpuPerTask(bareBatch)).toFixed(1)}×`,
  ]),
];
console.log(
  formatTable(
    `${TASKS} tasks, limit ${LIMIT}, with peers: median over ${ROUNDS} batches`,
    ['case', 'wall ns/task', 'ratio', 'cpu ns/task', 'cpu ratio'],
    rows,
  ),
);

await singleCalls();
await streamHeap();

/** One call at a time through a limiter that always has a permit free: the happy path of `run`. */
async function singleCalls(): Promise<void> {
  const limiter = new ConcurrencyLimiter(LIMIT);
  const limit = pLimit(LIMIT);
  const queue = new PQueue({ concurrency: LIMIT });
  const policy = bulkhead(LIMIT, Infinity);
  await new BenchGroup('one call at a time, a permit always free', { repeats: 9 })
    .add('dspu limiter.run(fast)', () => limiter.run(fast))
    .add('p-limit limit(fast)', () => limit(fast))
    .add('p-queue queue.add(fast)', () => queue.add(fast))
    .add('cockatiel bulkhead.execute(fast)', () => policy.execute(fast))
    .run();
}

/** Streams STREAM tasks from an async generator through mapWithLimit, sampling the live heap. */
async function streamHeap(): Promise<void> {
  if (collectGarbage === undefined) {
    console.log('\nheap check skipped: run with --expose-gc');
    return;
  }
  async function* source(): AsyncGenerator<() => Promise<number>> {
    for (let i = 0; i < STREAM; i++) yield fast;
  }
  const sampleEvery = STREAM / 100;
  collectGarbage();
  const before = process.memoryUsage().heapUsed;
  let peak = before;
  let count = 0;
  let sum = 0;
  const start = process.hrtime.bigint();
  for await (const value of mapWithLimit(source(), (task) => task(), { limit: LIMIT })) {
    sum += value;
    if (++count % sampleEvery === 0) {
      collectGarbage();
      peak = Math.max(peak, process.memoryUsage().heapUsed);
    }
  }
  const ns = Number(process.hrtime.bigint() - start) / STREAM;
  collectGarbage();
  const after = process.memoryUsage().heapUsed;
  const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MB`;
  console.log(
    `\n${STREAM} tasks from an async generator through mapWithLimit (limit ${LIMIT}): ` +
      `${sum === STREAM ? 'all results consumed' : 'RESULTS LOST'}, ${formatNs(ns)} ns/task ` +
      `(100 heap samples after gc, gc time included)\n` +
      `live heap before ${mb(before)}, peak ${mb(peak)} (+${mb(peak - before)}), after ${mb(after)}`,
  );
  const flat = peak - before < 2 * 2 ** 20;
  console.log(`target flat heap on the 1M stream (peak growth < 2 MB): ${flat ? 'met' : 'MISSED'}`);

  // The same source through gatherWithLimit: tasks are still pulled, not materialised, so the heap grows
  // only by the results array the caller asked for.
  let pulled = 0;
  let gatherPeak = 0;
  async function* sampled(): AsyncGenerator<() => Promise<number>> {
    for (let i = 0; i < STREAM; i++) {
      if (++pulled % sampleEvery === 0) {
        collectGarbage!();
        gatherPeak = Math.max(gatherPeak, process.memoryUsage().heapUsed);
      }
      yield fast;
    }
  }
  collectGarbage();
  const gatherBefore = process.memoryUsage().heapUsed;
  const results = await gatherWithLimit(sampled(), { limit: LIMIT });
  console.log(
    `the same through gatherWithLimit: ${results.length} results, live heap before ` +
      `${mb(gatherBefore)}, peak ${mb(gatherPeak)} (+${mb(gatherPeak - gatherBefore)}: the results array)`,
  );
}
