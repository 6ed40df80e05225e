/*
 * The shared circuit breaker's cost against one real redis-server on a loopback port, closed and with every
 * call succeeding: calls per second and Redis round trips per call, in consecutive mode and in rate mode (count
 * window, time window with slow calls timed). A closed call runs at once and its outcome is reported after it;
 * the reports of the calls that end in the same tick share one script call, so with 64 concurrent callers a call
 * costs a fraction of a round trip.
 *
 * Round trips are counted from the server's own statistics (INFO commandstats: the EVALSHA and EVAL calls
 * clients made, CONFIG RESETSTAT before each case), over 2,000 sequential calls (1 caller) and 64 callers making
 * 50 calls each. Throughput: `callers` loops each await one call after another for a fixed time, cases taking
 * turns over several rounds, the median reported.
 *
 * Target: at most one round trip per call with 1 caller, far fewer with 64.
 */
import { Redis } from 'ioredis';
import { RedisCircuitBreaker } from '../src/redis/index.js';
import { RedisServer } from '../test/redis/redis-server.js';
import { environment, median } from './harness.js';

const RUN_MS = 1_000;
const ROUNDS = 3;
const fast = async (): Promise<number> => 1;

const server = await RedisServer.start();
const redis = new Redis(server.port, '127.0.0.1');
const admin = new Redis(server.port, '127.0.0.1');
// The server stops at the end while connections close: nothing to report.
for (const client of [redis, admin]) client.on('error', () => undefined);

const cases: [string, RedisCircuitBreaker][] = [
  ['consecutive (failureThreshold 5)', new RedisCircuitBreaker(redis, 'consecutive', {})],
  [
    'rate mode, count window { calls: 100 }',
    new RedisCircuitBreaker(redis, 'count', {
      failureRateThreshold: 50,
      slidingWindow: { calls: 100 },
    }),
  ],
  [
    "rate mode, time window { time: '60s' } + slowCallDuration",
    new RedisCircuitBreaker(redis, 'time', {
      failureRateThreshold: 50,
      slidingWindow: { time: '60s' },
      slowCallDuration: '2s',
    }),
  ],
];

/** Script calls the server received per breaker call while `callers` loops each made `calls` calls. */
async function roundTripsPerCall(breaker: RedisCircuitBreaker, callers: number, calls: number) {
  await settle();
  await admin.config('RESETSTAT');
  const loop = async () => {
    for (let i = 0; i < calls; i++) await breaker.protect(fast);
  };
  await Promise.all(Array.from({ length: callers }, loop));
  await settle();
  const stats = await admin.info('commandstats');
  const count = (command: string) =>
    Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
  return (count('evalsha') + count('eval')) / (callers * calls);
}

/** Lets the reports of the calls just made reach Redis (they are sent after the calls resolve). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

async function throughput(breaker: RedisCircuitBreaker, callers: number): Promise<number> {
  let calls = 0;
  const deadline = performance.now() + RUN_MS;
  const loop = async () => {
    while (performance.now() < deadline) {
      await breaker.protect(fast);
      calls++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: callers }, loop));
  return calls / ((performance.now() - started) / 1000);
}

console.log(`shared circuit breaker through one redis-server on loopback (${environment()})`);
const trips = new Map<string, [number, number]>();
for (const [name, breaker] of cases) {
  for (let i = 0; i < 200; i++) await breaker.protect(fast); // scripts loaded, code optimised
  trips.set(name, [
    await roundTripsPerCall(breaker, 1, 2_000),
    await roundTripsPerCall(breaker, 64, 50),
  ]);
}
const samples = new Map(
  cases.map(([name]) => [name, { one: [] as number[], many: [] as number[] }]),
);
for (let round = 0; round < ROUNDS; round++)
  for (const [name, breaker] of cases) {
    samples.get(name)!.one.push(await throughput(breaker, 1));
    samples.get(name)!.many.push(await throughput(breaker, 64));
  }

const header = [
  'case',
  'calls/s (1 caller)',
  'calls/s (64 callers)',
  'round trips/call (1)',
  'round trips/call (64)',
];
const rows = cases.map(([name]) => {
  const { one, many } = samples.get(name)!;
  const [sequential, concurrent] = trips.get(name)!;
  return [
    name,
    Math.round(median(one)).toLocaleString('en'),
    Math.round(median(many)).toLocaleString('en'),
    sequential.toFixed(3),
    concurrent.toFixed(3),
  ];
});
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
console.log(line(header));
for (const row of rows) console.log(line(row));
const worst = (column: number) => Math.max(...rows.map((r) => Number(r[column])));
const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
console.log(
  `target: at most 1 round trip per call with 1 caller -> worst ${worst(3)} (${met(worst(3) <= 1)}); ` +
    `far fewer with 64 callers -> worst ${worst(4)} (${met(worst(4) <= 0.25)})`,
);

await Promise.all(cases.map(([, breaker]) => breaker.close()));
redis.disconnect();
admin.disconnect();
await server.stop();
