/*
 * Shared rate limiting against one real redis-server on a loopback port: grants per second and Redis round
 * trips (commands a client sends) per grant, for dspu's Redis store, rate-limiter-flexible's RateLimiterRedis
 * and bottleneck's Redis (ioredis) mode. Limits are set so high that every call is a grant: this measures
 * the cost of admission through Redis, not waiting.
 *
 * Throughput: `callers` loops each await one grant after another for a fixed time (1 caller shows latency,
 * 64 show what one process gets out of one connection); cases take turns over several rounds and the median
 * is reported, so a burst of noise on the shared machine lands on one sample of every case. Round trips:
 * MONITOR on a separate connection counts the commands clients send (commands a Lua script runs are
 * excluded), over 200 sequential grants (1 caller) and over 64 callers taking 10 grants each: dspu sends the
 * takes issued in the same tick as one command, so under concurrency a grant costs a fraction of one.
 *
 * Target (issue "dspu/redis"): at most one round trip per grant (exactly 1 with 1 caller), and the highest
 * grants/s of the three.
 */
import Bottleneck from 'bottleneck';
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { RateLimiter } from '../src/index.js';
import { redisStore } from '../src/redis/index.js';
import { RedisServer } from '../test/redis/redis-server.js';
import { roundTrips } from '../test/redis/support.js';
import { environment, median } from './harness.js';

const HUGE = 1e9;
const RUN_MS = 1_000;
const ROUNDS = 5;

interface Contender {
  name: string;
  grant: () => Promise<unknown>;
  close?: () => Promise<unknown> | void;
}

// Client CPU time per grant over the last throughput run: steadier than grants/s on a shared machine.
let cpuPerGrantUs = 0;

async function throughput(grant: () => Promise<unknown>, callers: number): Promise<number> {
  let grants = 0;
  const cpu = process.cpuUsage();
  const deadline = performance.now() + RUN_MS;
  const loop = async () => {
    while (performance.now() < deadline) {
      await grant();
      grants++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: callers }, loop));
  const used = process.cpuUsage(cpu);
  cpuPerGrantUs = (used.user + used.system) / grants;
  return grants / ((performance.now() - started) / 1000);
}

/** The commands clients sent while `callers` loops each awaited `grants` grants one after another. */
function commandsSent(grant: () => Promise<unknown>, callers: number, grants: number) {
  const loop = async () => {
    for (let i = 0; i < grants; i++) await grant();
  };
  return roundTrips(server, () => Promise.all(Array.from({ length: callers }, loop)));
}

const server = await RedisServer.start();
const redis = new Redis(server.port, '127.0.0.1');

const dspu = new RateLimiter({ rate: HUGE, store: redisStore(redis, 'bench') });
const flexible = new RateLimiterRedis({
  storeClient: redis,
  points: HUGE,
  duration: 1,
  keyPrefix: 'bench-rlf',
});
const bottleneck = new Bottleneck({
  id: 'bench-bottleneck',
  datastore: 'ioredis',
  clearDatastore: true,
  clientOptions: { host: '127.0.0.1', port: server.port },
  reservoir: HUGE,
});
await bottleneck.ready();
const nothing = async () => undefined;

const contenders: Contender[] = [
  { name: 'dspu RateLimiter + redisStore: acquire()', grant: () => dspu.acquire() },
  { name: 'dspu RateLimiter + redisStore: tryAcquire()', grant: () => dspu.tryAcquire() },
  { name: 'rate-limiter-flexible RateLimiterRedis: consume()', grant: () => flexible.consume('k') },
  {
    name: "bottleneck (datastore 'ioredis'): schedule()",
    grant: () => bottleneck.schedule(nothing),
    close: () => bottleneck.disconnect(),
  },
];

console.log(`shared rate limiting through one redis-server on loopback (${environment()})`);
const sequential = new Map<Contender, string[]>();
const concurrent = new Map<Contender, string[]>();
for (const contender of contenders) {
  // Warm up: scripts loaded into the server, code optimised.
  for (let i = 0; i < 200; i++) await contender.grant();
  sequential.set(contender, await commandsSent(contender.grant, 1, 200));
  concurrent.set(contender, await commandsSent(contender.grant, 64, 10));
}
const samples = new Map(
  contenders.map((c) => [c, { one: [] as number[], many: [] as number[], cpu: [] as number[] }]),
);
for (let round = 0; round < ROUNDS; round++) {
  for (const contender of contenders) {
    samples.get(contender)!.one.push(await throughput(contender.grant, 1));
    samples.get(contender)!.many.push(await throughput(contender.grant, 64));
    samples.get(contender)!.cpu.push(cpuPerGrantUs);
  }
}
const rows = contenders.map((contender) => {
  const commands = sequential.get(contender)!;
  const counts = [...new Set(commands)].map(
    (c) => `${c}×${commands.filter((s) => s === c).length}`,
  );
  const { one, many, cpu } = samples.get(contender)!;
  return [
    contender.name,
    Math.round(median(one)).toLocaleString('en'),
    Math.round(median(many)).toLocaleString('en'),
    median(cpu).toFixed(1),
    (commands.length / 200).toFixed(2),
    (concurrent.get(contender)!.length / 640).toFixed(2),
    counts.join(' '),
  ];
});

const header = [
  'case',
  'grants/s (1 caller)',
  'grants/s (64 callers)',
  'client CPU µs/grant (64)',
  'round trips/grant (1)',
  'round trips/grant (64)',
  'commands (200 grants, 1 caller)',
];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
console.log(line(header));
for (const row of rows) console.log(line(row));

const dspuRow = rows[0];
const best = (column: number) =>
  Math.max(...rows.slice(2).map((r) => Number(r[column].replace(/,/g, ''))));
const dspuMany = Number(dspuRow[2].replace(/,/g, ''));
const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
console.log(
  `target: at most 1 round trip per grant -> ${dspuRow[4]} with 1 caller, ${dspuRow[5]} with 64 (${met(dspuRow[4] === '1.00' && Number(dspuRow[5]) <= 1)}); ` +
    `highest grants/s at 64 callers -> dspu ${dspuRow[2]} vs best peer ${best(2).toLocaleString('en')} (${met(dspuMany > best(2))})`,
);

for (const contender of contenders) await contender.close?.();
redis.disconnect();
await server.stop();
