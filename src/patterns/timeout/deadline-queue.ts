import { now, type TimerHandle } from '../../core/clock.js';

/** An entry of a {@link DeadlineQueue}: something that expires at `expiresAt` unless removed first. */
export interface DeadlineEntry {
  expiresAt: number;
  /** Links of the queue (owned by the queue): neighbours in arrival order, and the run holding the entry. */
  previous: DeadlineEntry | undefined;
  next: DeadlineEntry | undefined;
  segment: Segment | undefined;
  /** Called once when the deadline passes while the entry is still queued. */
  expire(): void;
}

/**
 * The longest a queue's timer sleeps. A queue that empties keeps its timer (no clearTimeout, no unref: on a
 * process whose only timer it is, each unref/ref pair crosses into C++ and costs more than the whole call), so
 * an idle process is held at most this long after its last call; a long deadline is reached in such steps.
 */
export const TIMER_SPAN_MS = 100;

/** Entries added to one segment before the next one opens. */
const SEGMENT_CAPACITY = 1024;

/**
 * A run of consecutive entries, linked among themselves. Why not link them straight into the queue: the queue
 * lives as long as its policy, so V8 soon moves it to the old generation, and storing a young object into an
 * old one takes the write barrier's slow path (about 10 ns, as much as the rest of the bookkeeping). A segment
 * is young while it fills, so adding and removing entries writes only young objects.
 * @internal
 */
export class Segment {
  declare head: DeadlineEntry | undefined;
  declare tail: DeadlineEntry | undefined;
  /** The next (younger) segment of the queue. */
  declare next: Segment | undefined;
  declare added: number;

  constructor() {
    this.head = this.tail = this.next = undefined;
    this.added = 0;
  }
}

/**
 * Deadlines of one duration, sharing one timer. Calls with the same duration expire in arrival order, so the
 * FIFO needs a timer only for its head: adding and removing a call touches no timer at all. When the timer fires
 * it expires what is due and re-arms itself for the new head; finding the queue empty, it lets itself go.
 */
export class DeadlineQueue {
  // Segments oldest first; the last one takes new entries until it holds SEGMENT_CAPACITY of them.
  private first: Segment | undefined;
  private last: Segment | undefined;
  private timer: TimerHandle | undefined;
  // The setTimeout that made `timer`: a test may install fake timers after the first call.
  private timerApi: typeof globalThis.setTimeout | undefined;
  private clearApi: typeof globalThis.clearTimeout | undefined;

  /** Queues `entry`, which must expire no earlier than every entry already queued. */
  add(entry: DeadlineEntry): void {
    let segment = this.last;
    if (segment === undefined || segment.added === SEGMENT_CAPACITY) segment = this.open();
    segment.added++;
    entry.segment = segment;
    entry.previous = segment.tail;
    entry.next = undefined;
    if (segment.tail) segment.tail.next = entry;
    else segment.head = entry;
    segment.tail = entry;
    if (this.timer === undefined || this.timerApi !== globalThis.setTimeout) {
      this.arm(entry.expiresAt - now());
    }
  }

  /** Removes `entry`; false (and nothing changes) if it was not queued: it expired or was removed already. */
  remove(entry: DeadlineEntry): boolean {
    const segment = entry.segment;
    if (segment === undefined) return false;
    const { previous, next } = entry;
    if (previous) previous.next = next;
    else segment.head = next;
    if (next) next.previous = previous;
    else segment.tail = previous;
    entry.previous = entry.next = entry.segment = undefined;
    return true;
  }

  // A new segment; full segments already emptied are dropped on the way, so the chain stays short.
  private open(): Segment {
    while (this.first !== undefined && this.first.head === undefined) this.first = this.first.next;
    const segment = new Segment();
    if (this.first === undefined) this.first = segment;
    else this.last!.next = segment;
    this.last = segment;
    return segment;
  }

  private arm(delay: number): void {
    if (this.timer !== undefined) this.clearApi!(this.timer);
    this.timerApi = globalThis.setTimeout;
    this.clearApi = globalThis.clearTimeout;
    this.timer = this.timerApi(this.fire, Math.min(TIMER_SPAN_MS, Math.max(1, delay)));
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    const time = now();
    for (let segment = this.first; segment !== undefined; segment = segment.next) {
      let due = segment.head;
      while (due !== undefined && due.expiresAt <= time) {
        this.remove(due);
        due.expire();
        due = segment.head;
      }
      if (due !== undefined) {
        this.arm(due.expiresAt - time);
        return;
      }
      // Empty, and no longer the one taking entries: drop it.
      if (segment.next !== undefined) this.first = segment.next;
    }
  };
}
