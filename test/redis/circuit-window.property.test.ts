// The shared breaker's count window (kept in Redis by the REPORT script) against the in-memory CountWindow the
// local breaker judges with: for any sequence of outcomes, split into any batches, the two hold the same
// totals after every batch and open at the same call.
import { expect } from 'chai';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { REPORT } from '../../src/redis/circuit-scripts.js';
import { CountWindow } from '../../src/patterns/circuit-breaker/sliding-window.js';
import { RedisServer } from './redis-server.js';
import { runScript } from './support.js';

type Reply = [string, string, number, number, number, number, number, number];
// An outcome: 0 success, 1 failure, 2 ignored; and whether the call was slow.
type Call = [outcome: 0 | 1 | 2, slow: boolean];

const OUTCOMES = ['success', 'failure', 'ignored'] as const;

describe('dspu/redis count window, shared and in memory alike', function () {
  this.timeout(60_000);
  let server: RedisServer;
  let redis: Redis;
  let run = 0;

  before(async () => {
    server = await RedisServer.start();
    redis = server.client();
  });

  after(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('holds the same totals after every batch, and opens at the same call', async () => {
    const settings = fc.record({
      size: fc.integer({ min: 1, max: 12 }),
      minimumCalls: fc.integer({ min: 1, max: 12 }),
      failureRate: fc.integer({ min: 1, max: 100 }),
      slowRate: fc.integer({ min: 1, max: 100 }),
    });
    const batches = fc.array(
      fc.array(fc.tuple(fc.constantFrom<0 | 1 | 2>(0, 1, 2), fc.boolean()), {
        minLength: 1,
        maxLength: 8,
      }),
      { maxLength: 12 },
    );
    await fc.assert(
      fc.asyncProperty(settings, batches, async (s, sent: Call[][]) => {
        const minimumCalls = Math.min(s.minimumCalls, s.size);
        const keys = ['circuit', 'trials', 'done', 'window'].map((k) => `{prop-${++run}}:${k}`);
        await redis.hset(keys[0], 'g', 0); // the calls below are admitted in generation 0
        const local = new CountWindow(s.size);
        let openedLocally = false;
        for (const [b, batch] of sent.entries()) {
          const args = [1_000, 'channel', 5_000, `batch-${b}`, 1_000, 0, 1, 1_000];
          args.push(s.failureRate, s.slowRate, minimumCalls, s.size, 0, 0);
          for (const [outcome, slow] of batch) args.push(OUTCOMES[outcome], 0, '', slow ? 1 : 0, 0);
          const reply = (await runScript(redis, REPORT, keys, args)) as Reply;
          for (const [outcome, slow] of batch) {
            if (openedLocally || outcome === 2) continue;
            local.record(outcome === 1, slow);
            const { calls, failed } = local;
            openedLocally =
              calls >= minimumCalls &&
              (failed * 100 >= s.failureRate * calls || local.slow * 100 >= s.slowRate * calls);
          }
          expect(reply[1]).to.equal(openedLocally ? 'open' : 'closed');
          if (openedLocally) return;
          expect(reply.slice(5)).to.deep.equal([local.calls, local.failed, local.slow]);
        }
      }),
      { numRuns: 60 },
    );
  });
});
