// DeadlineQueue against a reference model of its promise, under random schedules of adds, removals (from outside
// and from inside a firing callback), adds from inside a firing callback, drains, clock advances and steps of the
// wall clock, back and forward (setSystemTime: the wall clock moves, pending timers do not).
//
// The model keeps, per entry, the time it is owed on a clock that never steps (the fake timers' own), and the wall
// deadline it was given:
// - at its add, an entry is owed its deadline minus the wall time then;
// - a wall clock that steps back changes nothing of what an entry queued then is owed: it fires after the rest of
//   its time, not after the step too; a step forward makes what it passes due at once;
// - an entry fires once, never before it is owed and never before its wall deadline moved back by the steps back
//   since its add; removed or drained entries never fire; entries fire in the order they were added;
// - late by at most TIMER_SPAN_MS (100 ms) for each step back it lived through (a queue reads the clock at least
//   that often while entries wait, so it learns of a step up to that much late and moves deadlines by that much
//   less), and once more if a step forward made it due or it joined a queue of mixed durations (whose timer,
//   armed before a step forward, waits its own time); otherwise exactly on time;
// - an entry added from inside a firing callback is queued like any other; the queue lists its entries, and
//   gives the oldest, in the order they were added;
// - one timer at most per queue; none once the queue has been empty for TIMER_SPAN_MS, or after a drain.
// Owners come in the two kinds the engines are: one duration (deadline = now + duration: timeouts, limiter waits,
// Redis commands), and mixed durations that join no earlier than the queue's `latest` after telling it the time
// they read (hedges). Steps are at least TIMER_SPAN_MS apart: the queue promises to notice each within that time,
// and two steps it saw as one (back then forward) it may honour only as their sum.
import { expect } from 'chai';
import fc from 'fast-check';
import sinon from 'sinon';
import { DeadlineQueue, TIMER_SPAN_MS, type DeadlineEntry } from '../../src/core/deadline-queue.js';
import type { LinkedQueue, QueueNode } from '../../src/core/linked-queue.js';

const START = 1_700_000_000_000;

type Command =
  | { op: 'add'; duration: number; onFire?: 'add' | 'remove'; pick: number }
  | { op: 'remove'; pick: number }
  | { op: 'drain' }
  | { op: 'tick'; ms: number }
  | { op: 'step'; ms: number };

interface Modelled {
  readonly id: number;
  readonly deadline: number;
  readonly addedAt: number;
  /** On the clock that never steps: when the entry is due. */
  owedAt: number;
  /** The wall deadline moved back by every step back since the add. */
  movedDeadline: number;
  stepsBack: number;
  stepsForward: number;
  state: 'queued' | 'fired' | 'removed';
}

class Entry implements DeadlineEntry {
  previous: QueueNode | undefined = undefined;
  next: QueueNode | undefined = undefined;
  queue: LinkedQueue<QueueNode> | undefined = undefined;

  constructor(
    readonly id: number,
    public expiresAt: number,
    readonly expire: () => void,
  ) {}
}

class Run {
  readonly queue = new DeadlineQueue();
  readonly model: Modelled[] = [];
  readonly fired: number[] = [];
  readonly entries: Entry[] = [];
  /** The clock that never steps, as the fake timers keep it; the wall clock is this plus `offset`. */
  elapsed = 0;
  offset = START;
  lastStep = -Infinity;
  emptySince = 0;

  constructor(
    private readonly clock: sinon.SinonFakeTimers,
    private readonly mixed: boolean,
    private readonly fixedDuration: number,
  ) {}

  live(): Modelled[] {
    return this.model.filter((m) => m.state === 'queued');
  }

  // Inside a timer callback the fake clock has moved: the clock that never steps is read back from the wall one.
  private sync(): void {
    this.elapsed = Date.now() - this.offset;
  }

  add(duration: number, onFire: 'add' | 'remove' | undefined, pick: number): void {
    const wall = Date.now();
    const id = this.model.length;
    let deadline: number;
    if (this.mixed) {
      this.queue.observe(wall);
      deadline =
        this.queue.size === 0 ? wall + duration : Math.max(wall + duration, this.queue.latest);
    } else deadline = wall + this.fixedDuration;
    const record: Modelled = {
      id,
      deadline,
      addedAt: this.elapsed,
      owedAt: this.elapsed + deadline - wall,
      movedDeadline: deadline,
      stepsBack: 0,
      stepsForward: 0,
      state: 'queued',
    };
    const entry = new Entry(id, deadline, () => {
      this.sync();
      this.onExpire(record);
      if (onFire === 'add') this.add(duration, undefined, pick);
      if (onFire === 'remove') this.remove(pick);
    });
    this.model.push(record);
    this.entries.push(entry);
    // Timeouts pass the time they read; a caller may leave it to the queue.
    if (this.mixed) this.queue.add(entry);
    else this.queue.add(entry, wall);
  }

  remove(pick: number): void {
    const live = this.live();
    if (live.length === 0) return;
    const record = live[pick % live.length];
    expect(this.queue.remove(this.entries[record.id])).to.equal(true);
    record.state = 'removed';
    if (this.live().length === 0) this.emptySince = this.elapsed;
  }

  drain(): void {
    const live = this.live();
    const drained = this.queue.drain().map((e) => (e as Entry).id);
    expect(drained).to.deep.equal(live.map((m) => m.id));
    for (const record of live) record.state = 'removed';
    expect(this.clock.countTimers()).to.equal(0);
    this.emptySince = this.elapsed;
  }

  private onExpire(record: Modelled): void {
    const wall = Date.now();
    expect(record.state, `entry ${record.id} fires while queued`).to.equal('queued');
    expect(this.elapsed, `entry ${record.id} not before it is owed`).to.be.at.least(record.owedAt);
    expect(wall, `entry ${record.id} not before its moved deadline`).to.be.at.least(
      record.movedDeadline,
    );
    expect(this.elapsed, `entry ${record.id} late by no more than promised`).to.be.at.most(
      record.owedAt + this.slack(record),
    );
    const older = this.live().filter((m) => m.id < record.id);
    expect(
      older.map((m) => m.id),
      `entries before ${record.id} fired first`,
    ).to.deep.equal([]);
    record.state = 'fired';
    this.fired.push(record.id);
    if (this.live().length === 0) this.emptySince = this.elapsed;
  }

  slack(record: Modelled): number {
    // Mixed durations: an entry may join due before the timer fires, and a timer armed before a step forward fires
    // by the time it waits, later than the stepped clock says.
    const spans = record.stepsBack + (record.stepsForward > 0 || this.mixed ? 1 : 0);
    return TIMER_SPAN_MS * spans;
  }

  tick(ms: number): void {
    const until = this.elapsed + ms;
    this.clock.tick(ms);
    this.elapsed = until;
    this.check();
  }

  step(ms: number): void {
    // Steps the queue may see as one are out of its promise: wait until it must have noticed the last one.
    if (this.elapsed - this.lastStep < TIMER_SPAN_MS)
      this.tick(this.lastStep + TIMER_SPAN_MS - this.elapsed);
    this.lastStep = this.elapsed;
    this.offset += ms;
    this.clock.setSystemTime(this.elapsed + this.offset);
    for (const record of this.live()) {
      if (ms < 0) {
        record.stepsBack++;
        record.movedDeadline += ms;
      } else {
        record.stepsForward++;
        if (record.owedAt > this.elapsed)
          record.owedAt = Math.max(this.elapsed, record.owedAt - ms);
      }
    }
  }

  check(): void {
    const live = this.live();
    for (const record of live)
      expect(this.elapsed, `entry ${record.id} fired in time`).to.be.at.most(
        record.owedAt + this.slack(record),
      );
    expect(this.queue.size).to.equal(live.length);
    expect([...this.queue.entries()].map((e) => (e as Entry).id)).to.deep.equal(
      live.map((m) => m.id),
    );
    expect((this.queue.oldest() as Entry | undefined)?.id).to.equal(live[0]?.id);
    const timers = this.clock.countTimers();
    expect(timers, 'one timer at most').to.be.at.most(1);
    if (live.length > 0) expect(timers, 'a timer while entries wait').to.equal(1);
    else if (this.elapsed - this.emptySince >= TIMER_SPAN_MS)
      expect(timers, 'no timer once idle').to.equal(0);
  }

  // Runs the clock until every entry still queued is past its latest promised time, and the queue idle.
  finish(): void {
    // Entries added by firing ones add none of their own: two rounds see every entry due.
    for (let round = 0; round < 2; round++) {
      const live = this.live();
      const until = Math.max(this.elapsed, ...live.map((m) => m.owedAt + this.slack(m)));
      this.tick(until - this.elapsed);
    }
    this.tick(TIMER_SPAN_MS);
    expect(
      this.live().map((m) => m.id),
      'every entry fired',
    ).to.deep.equal([]);
    expect(this.clock.countTimers(), 'no timer left').to.equal(0);
    const fired = this.model.filter((m) => m.state === 'fired').map((m) => m.id);
    expect(this.fired).to.deep.equal(fired);
  }
}

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record(
      {
        op: fc.constant('add' as const),
        duration: fc.integer({ min: 1, max: 1_500 }),
        onFire: fc.constantFrom('add' as const, 'remove' as const),
        pick: fc.nat(),
      },
      { requiredKeys: ['op', 'duration', 'pick'] },
    ),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }) },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('tick' as const),
      ms: fc.integer({ min: 0, max: 400 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('step' as const),
      ms: fc.oneof(fc.integer({ min: -4_000, max: -1 }), fc.integer({ min: 1, max: 4_000 })),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: 'drain' as const }) },
);

function play(clock: sinon.SinonFakeTimers, mixed: boolean, duration: number, commands: Command[]) {
  const run = new Run(clock, mixed, duration);
  for (const c of commands) {
    if (c.op === 'add') run.add(c.duration, c.onFire, c.pick);
    else if (c.op === 'remove') run.remove(c.pick);
    else if (c.op === 'drain') run.drain();
    else if (c.op === 'tick') run.tick(c.ms);
    else run.step(c.ms);
    run.check();
  }
  run.finish();
}

describe('DeadlineQueue (property)', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: START });
  });
  afterEach(() => clock.restore());

  it('keeps the promise of its model under random adds, removals, drains, advances and clock steps', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.integer({ min: 1, max: 1_500 }),
        fc.array(command, { maxLength: 60 }),
        (mixed, duration, commands) => {
          clock.reset();
          clock.setSystemTime(START);
          play(clock, mixed, duration, commands);
        },
      ),
      { numRuns: 500 },
    );
  });
});
