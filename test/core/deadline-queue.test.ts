import { expect } from 'chai';
import fc from 'fast-check';
import sinon from 'sinon';
import { DeadlineQueue, type DeadlineEntry } from '../../src/core/deadline-queue.js';
import type { LinkedQueue, QueueNode } from '../../src/core/linked-queue.js';

class Entry implements DeadlineEntry {
  previous: QueueNode | undefined = undefined;
  next: QueueNode | undefined = undefined;
  queue: LinkedQueue<QueueNode> | undefined = undefined;
  expiredAt: number | undefined;

  constructor(
    readonly id: number,
    readonly expiresAt: number,
    private readonly log: number[],
  ) {}

  expire(): void {
    this.expiredAt = Date.now();
    this.log.push(this.id);
  }
}

describe('DeadlineQueue', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 0 });
  });
  afterEach(() => clock.restore());

  it('expires entries over many segments in order, at their deadlines, skipping removed ones', async () => {
    const queue = new DeadlineQueue();
    const log: number[] = [];
    // 5000 entries span several segments; every third is removed, including whole stretches of one segment.
    const entries = Array.from({ length: 5000 }, (_, i) => new Entry(i, 10 + (i >> 4), log));
    for (const entry of entries) queue.add(entry);
    for (const entry of entries)
      if (entry.id % 3 === 0 || (entry.id >= 1024 && entry.id < 2048)) queue.remove(entry);
    await clock.tickAsync(400);
    const kept = entries.filter((e) => !(e.id % 3 === 0 || (e.id >= 1024 && e.id < 2048)));
    expect(log).to.deep.equal(kept.map((e) => e.id));
    for (const entry of kept) expect(entry.expiredAt).to.equal(entry.expiresAt);
    for (const entry of entries.filter((e) => !kept.includes(e)))
      expect(entry.expiredAt).to.equal(undefined);
  });

  it('keeps what an expiring entry drains and adds, however many segments the queue had', async () => {
    // A limiter's `rejected` listener may reset() it (drain) and queue a new call, while the timer expires.
    const queue = new DeadlineQueue();
    const log: number[] = [];
    const later = new Entry(-1, 50, log);
    const first = new Entry(0, 10, log);
    first.expire = () => {
      log.push(0);
      queue.drain();
      queue.add(later);
    };
    queue.add(first);
    // Over a thousand more: the queue now spans two segments, as any limiter's does after that many waiters.
    for (let i = 1; i <= 1100; i++) queue.add(new Entry(i, 10, log));
    await clock.tickAsync(10);
    expect(log).to.deep.equal([0]);
    expect(queue.size).to.equal(1);
    expect(queue.oldest()).to.equal(later);
    await clock.tickAsync(40);
    expect(log).to.deep.equal([0, -1]);
    expect(queue.size).to.equal(0);
  });

  it('removing an entry twice, or one never added, changes nothing', async () => {
    const queue = new DeadlineQueue();
    const log: number[] = [];
    const [a, b, c] = [new Entry(1, 5, log), new Entry(2, 6, log), new Entry(3, 7, log)];
    queue.add(a);
    queue.add(b);
    queue.remove(b);
    queue.remove(b);
    queue.remove(c);
    await clock.tickAsync(10);
    expect(log).to.deep.equal([1]);
  });

  it('gives an entry added after a step back of the clock, with the timer still armed, its whole duration', () => {
    const queue = new DeadlineQueue();
    const log: number[] = [];
    const call = new Entry(1, Date.now() + 1_000, log);
    queue.add(call);
    queue.remove(call); // the call settled: the queue keeps its timer for a while
    clock.setSystemTime(Date.now() - 500);
    const after = new Entry(2, Date.now() + 1_000, log);
    queue.add(after);
    clock.tick(999);
    expect(log).to.deep.equal([]);
    clock.tick(1);
    expect(log).to.deep.equal([2]);
  });

  it('moves only the deadlines set before a step back shorter than the duration', () => {
    const queue = new DeadlineQueue();
    const log: number[] = [];
    const before = new Entry(1, Date.now() + 5_000, log);
    queue.add(before);
    clock.tick(1_000);
    // Its deadline is later than the one queued before the step: only the time it was added tells them apart.
    clock.setSystemTime(Date.now() - 500);
    const after = new Entry(2, Date.now() + 5_000, log);
    queue.add(after);
    clock.tick(4_100);
    expect(log).to.deep.equal([1]);
    clock.tick(899);
    expect(log).to.deep.equal([1]);
    clock.tick(1);
    expect(log).to.deep.equal([1, 2]);
  });

  it('matches a model under random adds, removals and time steps, never expiring early', async () => {
    type Step =
      | { type: 'add'; after: number }
      | { type: 'remove'; pick: number }
      | { type: 'tick'; ms: number };
    const step = fc.oneof(
      fc.record({ type: fc.constant('add' as const), after: fc.integer({ min: 1, max: 50 }) }),
      fc.record({ type: fc.constant('remove' as const), pick: fc.nat() }),
      fc.record({ type: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 30 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 300 }), async (steps: Step[]) => {
        clock.reset();
        const queue = new DeadlineQueue();
        const log: number[] = [];
        const live: Entry[] = [];
        const all: Entry[] = [];
        let latest = 0;
        for (const s of steps) {
          if (s.type === 'add') {
            // Entries of one queue expire in arrival order (one duration per queue).
            latest = Math.max(latest, Date.now() + s.after);
            const entry = new Entry(all.length, latest, log);
            all.push(entry);
            live.push(entry);
            queue.add(entry);
          } else if (s.type === 'remove' && live.length > 0) {
            const [entry] = live.splice(s.pick % live.length, 1);
            queue.remove(entry);
          } else if (s.type === 'tick') {
            await clock.tickAsync(s.ms);
            const due = live.filter((e) => e.expiresAt <= Date.now());
            for (const entry of due) expect(entry.expiredAt).to.equal(entry.expiresAt);
            live.splice(0, due.length);
          }
          expect(live.every((e) => e.expiredAt === undefined)).to.equal(true);
        }
        await clock.tickAsync(latest + 1 - Date.now() > 0 ? latest + 1 - Date.now() : 0);
        for (const entry of live) expect(entry.expiredAt).to.equal(entry.expiresAt);
        const expired = all.filter((e) => e.expiredAt !== undefined);
        expect(log).to.deep.equal(expired.map((e) => e.id));
        for (const entry of expired) expect(entry.expiredAt).to.equal(entry.expiresAt);
      }),
      { numRuns: 300 },
    );
  });
});
