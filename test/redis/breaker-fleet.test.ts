import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { spawnMember } from './child-process.js';
import { RedisServer } from './redis-server.js';

const child = fileURLToPath(new URL('./breaker-fleet.child.js', import.meta.url));

interface ChildReport {
  calls: [start: number, end: number, trial: boolean][];
  opened: number[];
  final: string;
  fallbacks: number;
}

/** Spawns a member of the fleet; resolves its start function once it is connected and subscribed. */
function member(port: number, name: string, recoverMs: number, runMs: number) {
  return spawnMember<ChildReport>(child, [String(port), name, `${recoverMs}`, `${runMs}`]);
}

/** The most intervals that overlap at any instant. */
function mostAtOnce(intervals: [number, number][]): number {
  const edges = intervals.flatMap(([from, to]) => [
    [from, 1],
    [to, -1],
  ]);
  // At equal times an end comes first: a trial that ended frees its slot before the next starts.
  edges.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let open = 0;
  let most = 0;
  for (const [, step] of edges) most = Math.max(most, (open += step));
  return most;
}

describe('dspu/redis rate-mode circuit breaker across processes', function () {
  this.timeout(30_000);
  let server: RedisServer;
  let watcher: Redis;

  before(async () => {
    server = await RedisServer.start();
    watcher = server.client();
  });

  after(async () => {
    watcher.disconnect();
    await server.stop();
  });

  it('opens for the whole fleet within one window of a 60 % failure rate, lets halfOpenMaxCalls trials through at once, and closes after recovery', async () => {
    const name = 'fleet-rate-circuit';
    const moves: [at: number, state: string, remaining: number][] = [];
    await watcher.ping(); // ready: a subscription made before the ready check would be lost
    await watcher.subscribe(`{dspu:${name}}:changes`);
    watcher.on('message', (_channel: string, message: string) => {
      const [state, , remaining] = message.split(' ');
      moves.push([Date.now(), state, Number(remaining)]);
    });
    const recoverMs = 1_500;
    const starters = await Promise.all(
      Array.from({ length: 4 }, () => member(server.port, name, recoverMs, 4_500)),
    );
    const start = Date.now() + 200;
    const reports = await Promise.all(starters.map((begin) => begin(start)));

    expect(reports.every((r) => r.fallbacks === 0)).to.equal(true);
    // Opened within one window (1 s) of the failures starting, and every process learned it.
    const firstOpen = moves.find(([, state]) => state === 'open')!;
    expect(firstOpen[0] - start).to.be.below(1_000);
    for (const report of reports) expect(report.opened[0] - firstOpen[0]).to.be.within(-50, 100);
    // Each re-open from HALF_OPEN waits twice as long, up to maxTimeout.
    for (let i = 1; i < moves.length; i++)
      if (moves[i][1] === 'open' && moves[i - 1][1] === 'half_open')
        expect(moves[i][2]).to.be.above(Math.min(4_000, 2 * previousOpen(i)) - 100);
    function previousOpen(i: number): number {
      for (let j = i - 1; j >= 0; j--) if (moves[j][1] === 'open') return moves[j][2];
      return 1_000;
    }
    // Trials: never more than halfOpenMaxCalls at once across the fleet; enough to close once recovered.
    const trials = reports.flatMap((r) => r.calls.filter(([, , trial]) => trial));
    expect(mostAtOnce(trials.map(([from, to]) => [from, to]))).to.be.within(1, 3);
    const lastClose = moves.filter(([, state]) => state === 'closed').pop()!;
    expect(lastClose[0] - start).to.be.above(recoverMs - 500);
    expect(moves[moves.length - 1][1]).to.equal('closed');
    expect(reports.every((r) => r.final === 'closed')).to.equal(true);
    // One open, then a re-open per HALF_OPEN period that came before the recovery.
    const opens = moves.filter(([, state]) => state === 'open').length;
    expect(opens).to.be.within(1, 4);
  });
});
