import { now, type TimerHandle } from '../../core/clock.js';

/** An entry of a {@link DeadlineQueue}: something that expires at `expiresAt` unless removed first. */
export interface DeadlineEntry {
  expiresAt: number;
  /** Links of the queue's doubly linked list (owned by the queue). */
  previous: DeadlineEntry | undefined;
  next: DeadlineEntry | undefined;
  queued: boolean;
  /** Called once when the deadline passes while the entry is still queued. */
  expire(): void;
}

/**
 * The longest a queue's timer sleeps. A queue that empties keeps its timer (no clearTimeout, no unref: on a
 * process whose only timer it is, each unref/ref pair crosses into C++ and costs more than the whole call), so
 * an idle process is held at most this long after its last call; a long deadline is reached in such steps.
 */
export const TIMER_SPAN_MS = 100;

/**
 * Deadlines of one duration, sharing one timer. Calls with the same duration expire in arrival order, so the
 * FIFO needs a timer only for its head: adding and removing a call touches no timer at all. When the timer fires
 * it expires what is due and re-arms itself for the new head; finding the queue empty, it lets itself go.
 */
export class DeadlineQueue {
  private head: DeadlineEntry | undefined;
  private tail: DeadlineEntry | undefined;
  private timer: TimerHandle | undefined;
  // The setTimeout that made `timer`: a test may install fake timers after the first call.
  private timerApi: typeof globalThis.setTimeout | undefined;
  private clearApi: typeof globalThis.clearTimeout | undefined;

  /** Queues `entry`, which must expire no earlier than every entry already queued. */
  add(entry: DeadlineEntry): void {
    entry.queued = true;
    entry.previous = this.tail;
    entry.next = undefined;
    if (this.tail) this.tail.next = entry;
    else this.head = entry;
    this.tail = entry;
    if (this.timer === undefined || this.timerApi !== globalThis.setTimeout) {
      this.arm(entry.expiresAt - now());
    }
  }

  /** Removes `entry` (no-op if it already expired or was removed). */
  remove(entry: DeadlineEntry): void {
    if (!entry.queued) return;
    entry.queued = false;
    const { previous, next } = entry;
    if (previous) previous.next = next;
    else this.head = next;
    if (next) next.previous = previous;
    else this.tail = previous;
    entry.previous = entry.next = undefined;
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
    while (this.head !== undefined && this.head.expiresAt <= time) {
      const due = this.head;
      this.remove(due);
      due.expire();
    }
    if (this.head !== undefined) this.arm(this.head.expiresAt - time);
  };
}
