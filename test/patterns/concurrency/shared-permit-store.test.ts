import { expect } from 'chai';
import { ConcurrencyLimiter, type PermitStore } from '../../../src/index.js';

/**
 * A store shared with other processes, as the Redis one is: it looks at the permits when asked and its answer
 * arrives later, when the test says so; other processes free permits meanwhile.
 */
class SharedStore implements PermitStore<number> {
  active = 0;
  takes = 0;
  private wake: () => void = () => undefined;
  private readonly answers: (() => void)[] = [];
  private tickets = 0;

  constructor(public free: number) {}

  take(): Promise<number | undefined> {
    this.takes++;
    const seen = this.free > 0;
    if (seen) this.free--;
    return new Promise((resolve) => {
      this.answers.push(() => {
        if (!seen) return resolve(undefined);
        this.active++;
        resolve(++this.tickets);
      });
    });
  }

  give(): void {
    this.active--;
    this.free++;
  }

  watch(wake: () => void): void {
    this.wake = wake;
  }

  /** Another process gives a permit back and says so. */
  freedElsewhere(): void {
    this.free++;
    this.wake();
  }

  /** Answers not delivered yet. */
  get waiting(): number {
    return this.answers.length;
  }

  /** Delivers the oldest answer. */
  async answer(): Promise<void> {
    this.answers.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('ConcurrencyLimiter over a shared permit store', () => {
  it('asks again when a permit was freed elsewhere while the store answered "none free"', async () => {
    const store = new SharedStore(0);
    const limiter = new ConcurrencyLimiter({ limit: 1, store });
    let ran = false;
    const call = limiter.run(async () => (ran = true));
    expect(store.takes).to.equal(1);
    store.freedElsewhere(); // after the store looked: its answer is out of date
    await store.answer();
    expect(store.takes).to.equal(2);
    await store.answer();
    await call;
    expect(ran).to.equal(true);
  });

  it('does not ask again for waiters that merely arrived while the store answered', async () => {
    const store = new SharedStore(0);
    const limiter = new ConcurrencyLimiter({ limit: 1, store });
    const calls = [1, 2, 3].map(() => limiter.run(async () => 'ran'));
    await store.answer();
    expect(store.takes).to.equal(1);
    expect(limiter.pending).to.equal(3);
    store.freedElsewhere();
    await store.answer();
    expect(await calls[0]).to.equal('ran');
    // Each permit given back here lets the next waiter in.
    while (store.waiting > 0) await store.answer();
    expect(await Promise.all(calls)).to.deep.equal(['ran', 'ran', 'ran']);
  });
});
