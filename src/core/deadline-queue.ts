import { now, type TimerHandle } from './clock.js';
import { LinkedQueue, type QueueNode } from './linked-queue.js';

/** An entry of a {@link DeadlineQueue}: something that expires at `expiresAt` unless removed first. */
export interface DeadlineEntry extends QueueNode {
  /** When it expires (ms since the epoch); `Infinity` for an entry queued only for its place in line. */
  expiresAt: number;
  /** Called once when the deadline passes while the entry is still queued. */
  expire(): void;
}

/**
 * The longest a queue's timer sleeps. A queue that empties keeps its timer (no clearTimeout, no unref: on a
 * process whose only timer it is, each unref/ref pair crosses into C++ and costs more than the whole call), so
 * an idle process is held at most this long after its last call; a long deadline is reached in such steps.
 */
export const TIMER_SPAN_MS = 100;

/*
 * Queues whose timer is armed now, so resetResilience() (dspu/testing) can let go of the idle ones' timers: an
 * idle timer that fires after a test file ended reads a clock its runner has torn down. Touched only when a
 * timer is armed or lets go, never per call.
 */
const armed = new Set<DeadlineQueue>();

/**
 * Lets go now of the timer of every deadline queue that holds no entry (an idle queue otherwise keeps its
 * timer for up to 100 ms), so no timer of dspu's outlives the work that armed it. Queues that
 * still hold entries keep theirs: the entries are calls in flight.
 */
export function releaseIdleTimers(): void {
  for (const queue of [...armed]) if (queue.size === 0) queue.releaseTimer();
}

/** Entries added to one segment before the next one opens. */
const SEGMENT_CAPACITY = 1024;

/**
 * A run of consecutive entries: a {@link LinkedQueue} of its own, young while it fills, so adding and removing
 * entries never writes a young object into a long-lived one (the write barrier's slow path: bench/README.md).
 * @internal
 */
export class Segment extends LinkedQueue<DeadlineEntry> {
  /** The next (younger) segment of the queue. */
  declare following: Segment | undefined;
  declare added: number;

  constructor() {
    super();
    this.following = undefined;
    this.added = 0;
  }
}

/**
 * Entries of one duration in arrival order, sharing one timer: entries with the same duration expire in the
 * order they came, so the FIFO needs a timer only for its head, and adding or removing an entry touches no
 * timer at all. When the timer fires it expires what is due and re-arms itself for the new head; finding the
 * queue empty, it lets itself go. It is also a plain FIFO (`oldest()`), so a queue of waiters that share a
 * `maxWait` is one structure, not a list plus a timer per waiter.
 */
export class DeadlineQueue {
  // Segments oldest first; the last one takes new entries until it holds SEGMENT_CAPACITY of them.
  private first: Segment | undefined;
  private last: Segment | undefined;
  private timer: TimerHandle | undefined;
  // When `timer` fires. A queue that emptied keeps its timer, and an owner mixing durations (the hedge) may then
  // add an entry due before it: that entry re-arms the timer rather than wait for it.
  private timerDue = Infinity;
  // The setTimeout that made `timer`: a test may install fake timers after the first call.
  private timerApi: typeof globalThis.setTimeout | undefined;
  private clearApi: typeof globalThis.clearTimeout | undefined;
  // The clock as this queue last read it (adding or firing, at most TIMER_SPAN_MS apart while entries wait).
  private lastTime = -Infinity;
  /** Entries queued now. */
  size = 0;
  /** The latest finite deadline added (moved back with the clock when it steps back); -Infinity before any. */
  latest = -Infinity;

  /**
   * Queues `entry`, which must expire no earlier than every entry already queued. `time` is the clock as its
   * owner read it to set a finite deadline (read here when not given): a clock that stepped back since the queue
   * last read it is found before the entry is in, so the step moves only the deadlines set before it.
   */
  add(entry: DeadlineEntry, time?: number): void {
    const { expiresAt } = entry;
    const finite = expiresAt !== Infinity;
    const read = finite ? (time ?? now()) : 0;
    if (finite) this.observe(read);
    let segment = this.last;
    if (segment === undefined || segment.added === SEGMENT_CAPACITY) segment = this.open();
    segment.added++;
    segment.push(entry);
    this.size++;
    if (finite && expiresAt > this.latest) this.latest = expiresAt;
    if (
      finite &&
      (this.timer === undefined ||
        this.timerApi !== globalThis.setTimeout ||
        expiresAt < this.timerDue)
    )
      this.arm(expiresAt - read, read);
  }

  /** Removes `entry`; false (and nothing changes) if it was not queued: it expired or was removed already. */
  remove(entry: DeadlineEntry): boolean {
    if (!LinkedQueue.remove(entry)) return false;
    this.size--;
    return true;
  }

  /** The oldest entry still queued, or undefined. */
  oldest(): DeadlineEntry | undefined {
    for (let segment = this.first; segment !== undefined; segment = segment.following) {
      if (segment.head !== undefined) return segment.head;
    }
    return undefined;
  }

  /** The entries still queued, oldest first. The one just given may be removed before asking for the next. */
  *entries(): Generator<DeadlineEntry> {
    for (let segment = this.first; segment !== undefined; segment = segment.following) {
      for (let entry = segment.head; entry !== undefined;) {
        const next = entry.next as DeadlineEntry | undefined;
        yield entry;
        entry = next;
      }
    }
  }

  /** Lets go of the timer now (an idle queue otherwise keeps it for up to `TIMER_SPAN_MS`, 100 ms). */
  releaseTimer(): void {
    if (this.timer !== undefined) this.clearApi!(this.timer);
    this.timer = undefined;
    armed.delete(this);
  }

  /**
   * Removes every entry without expiring it and lets go of the timer: the entries, oldest first, for their
   * owner to settle.
   */
  drain(): DeadlineEntry[] {
    const entries: DeadlineEntry[] = [];
    for (let entry = this.oldest(); entry !== undefined; entry = this.oldest()) {
      this.remove(entry);
      entries.push(entry);
    }
    this.first = this.last = undefined;
    this.releaseTimer();
    return entries;
  }

  // A new segment; full segments already emptied are dropped on the way, so the chain stays short.
  private open(): Segment {
    while (this.first !== undefined && this.first.head === undefined)
      this.first = this.first.following;
    const segment = new Segment();
    if (this.first === undefined) this.first = segment;
    else this.last!.following = segment;
    this.last = segment;
    return segment;
  }

  private arm(delay: number, time: number): void {
    if (this.timer !== undefined) this.clearApi!(this.timer);
    this.timerApi = globalThis.setTimeout;
    this.clearApi = globalThis.clearTimeout;
    const wait = Math.min(TIMER_SPAN_MS, Math.max(1, delay));
    this.timer = this.timerApi(this.fire, wait);
    this.timerDue = time + wait;
    armed.add(this);
  }

  /**
   * Tells the queue the time its owner just read, for an owner that sets deadlines from {@link DeadlineQueue.latest}: a clock
   * that stepped back since the queue last read it moves the deadlines set before the step back with it. The
   * queue reads the clock itself at least every `TIMER_SPAN_MS` while entries wait, so a deadline set before a
   * step is late by at most that much.
   */
  observe(time: number): void {
    if (time < this.lastTime) this.rebase(this.lastTime - time);
    this.lastTime = time;
  }

  /*
   * The clock stepped back by `step` (NTP, a test's setSystemTime) since this queue last read it: the deadlines
   * set before the step move back with it, or they would all wait the whole step longer. Every entry is one of
   * those: each add reads the clock before its entry is in, so an add after the step would have found it.
   */
  private rebase(step: number): void {
    this.latest -= step;
    this.timerDue -= step; // a timer waits its own time: by the stepped clock it fires that much earlier
    for (const entry of this.entries()) entry.expiresAt -= step; // Infinity stays Infinity
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    armed.delete(this);
    const time = now();
    this.observe(time);
    // From `first` each turn, never a segment held across expire(): what it calls may drain the queue and
    // add to it (a limiter's `rejected` listener that resets it and queues a call).
    for (let segment = this.first; segment !== undefined; segment = this.first) {
      const due = segment.head;
      if (due === undefined) {
        // Empty, and no longer the one taking entries: drop it.
        if (segment.following === undefined) return;
        this.first = segment.following;
      } else if (due.expiresAt <= time) {
        this.remove(due);
        try {
          due.expire();
        } catch (error) {
          // The entries behind it go on at the next turn (an empty queue lets that timer go): one broken owner
          // must not stop every deadline.
          this.arm(0, time);
          throw error;
        }
      } else {
        if (due.expiresAt !== Infinity) this.arm(due.expiresAt - time, time);
        return;
      }
    }
  };
}
