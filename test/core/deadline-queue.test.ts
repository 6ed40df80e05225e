import { expect } from 'chai';
import fc from 'fast-check';
import sinon from 'sinon';
import {
  DeadlineQueue,
  releaseIdleTimers,
  type DeadlineEntry,
} from '../../src/core/deadline-queue.js';
import type { LinkedQueue, QueueNode } from '../../src/core/linked-queue.js';

class Entry implements DeadlineEntry {
  previous: QueueNode | undefined = undefined;
  next: QueueNode | undefined = undefined;
  queue: LinkedQueue<QueueNode> | undefined = undefined;
  expiredAt: number | undefined;

  constructor(
    readonly id: number,
    public expiresAt: number,
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

  it('expires the entries behind one whose expire() throws', () => {
    const queue = new DeadlineQueue();
    const log: number[] = [];
    const broken = new Entry(1, 10, log);
    broken.expire = () => {
      throw new Error('broken owner');
    };
    queue.add(broken);
    for (const [id, at] of [
      [2, 10],
      [3, 10],
      [4, 20],
    ])
      queue.add(new Entry(id, at, log));
    expect(() => clock.tick(10)).to.throw('broken owner');
    clock.tick(10);
    expect(log).to.deep.equal([2, 3, 4]);
    expect(clock.countTimers()).to.equal(0);
  });

  it('keeps entries in runs of at most 1024, a run of their own per 1024 added', () => {
    // Runs that stay young while they fill keep young entries out of long-lived objects (the write barrier).
    const queue = new DeadlineQueue();
    const entries = Array.from({ length: 2_050 }, (_, i) => new Entry(i, 10, []));
    for (const entry of entries) queue.add(entry);
    const runs = [...new Set(entries.map((e) => e.queue))];
    expect(runs.map((run) => run!.size)).to.deep.equal([1_024, 1_024, 2]);
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
    expect(queue.remove(b)).to.equal(true);
    expect(queue.remove(b)).to.equal(false);
    expect(queue.remove(c)).to.equal(false);
    expect(queue.size).to.equal(1);
    await clock.tickAsync(10);
    expect(log).to.deep.equal([1]);
    expect(queue.remove(a)).to.equal(false);
  });

  it('reports as latest the latest finite deadline added, still after its entry left, moved by a step back', () => {
    const queue = new DeadlineQueue();
    const log: number[] = [];
    expect(queue.latest).to.equal(-Infinity);
    const [a, b] = [new Entry(1, 500, log), new Entry(2, 800, log)];
    queue.add(a);
    queue.add(new Entry(0, 500, log));
    queue.add(b);
    queue.add(new Entry(3, Infinity, log));
    expect(queue.latest).to.equal(800);
    queue.remove(b);
    expect(queue.latest).to.equal(800);
    clock.setSystemTime(-200);
    queue.observe(Date.now());
    expect(queue.latest).to.equal(600);
    expect(a.expiresAt).to.equal(300);
  });

  it('expires on time an entry added to an emptied queue whose timer waits for a later, removed one', () => {
    // An owner that mixes durations in one queue (the hedge, past its number of queues) does this.
    const queue = new DeadlineQueue();
    const log: number[] = [];
    const later = new Entry(1, 90, log);
    queue.add(later);
    queue.remove(later);
    const sooner = new Entry(2, 10, log);
    queue.add(sooner);
    expect(clock.countTimers()).to.equal(1); // one timer, re-armed, not a second one
    clock.tick(10);
    expect(sooner.expiredAt).to.equal(10);
    clock.tick(100);
    expect(log).to.deep.equal([2]);
    expect(clock.countTimers()).to.equal(0);
  });

  it('holds no timer for entries that never expire, and never expires them', () => {
    const queue = new DeadlineQueue();
    const log: number[] = [];
    queue.add(new Entry(1, Infinity, log));
    queue.add(new Entry(2, Infinity, log));
    expect(clock.countTimers()).to.equal(0);
    clock.tick(10_000);
    expect(log).to.deep.equal([]);
    expect(queue.size).to.equal(2);
  });

  it('moves no deadline when an entry that never expires joins behind ones that do', () => {
    clock.setSystemTime(1_000);
    const queue = new DeadlineQueue();
    const log: number[] = [];
    queue.add(new Entry(1, 1_500, log));
    queue.add(new Entry(2, Infinity, log));
    clock.tick(499);
    expect(log).to.deep.equal([]);
    clock.tick(1);
    expect(log).to.deep.equal([1]);
  });

  it('lets its timer go once the entries left are ones that never expire', () => {
    const queue = new DeadlineQueue();
    const log: number[] = [];
    queue.add(new Entry(1, 50, log));
    queue.add(new Entry(2, Infinity, log));
    clock.tick(50);
    expect(log).to.deep.equal([1]);
    expect(clock.countTimers()).to.equal(0);
  });

  it('releaseIdleTimers lets go at once of an emptied queue’s timer and keeps that of one with entries', () => {
    const [idle, busy] = [new DeadlineQueue(), new DeadlineQueue()];
    const log: number[] = [];
    const done = new Entry(1, 1_000, log);
    idle.add(done);
    idle.remove(done);
    busy.add(new Entry(2, 1_000, log));
    expect(clock.countTimers()).to.equal(2);
    releaseIdleTimers();
    expect(clock.countTimers()).to.equal(1);
    clock.tick(1_000);
    expect(log).to.deep.equal([2]);
  });

  it('releasing the timer or draining a queue that never had one does nothing', () => {
    const queue = new DeadlineQueue();
    queue.releaseTimer();
    expect(queue.drain()).to.deep.equal([]);
    queue.add(new Entry(1, Infinity, []));
    expect(queue.drain().map((e) => (e as Entry).id)).to.deep.equal([1]);
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
