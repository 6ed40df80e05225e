/** A request for tokens waiting its turn: a node of a {@link WaiterQueue}. */
export interface Waiter {
  readonly tokens: number;
  /** Links of the queue's doubly linked list (owned by the queue). */
  previous: Waiter | undefined;
  next: Waiter | undefined;
  queued: boolean;
  resolve: () => void;
  reject: (reason: unknown) => void;
  /** The signal whose abort makes the waiter leave, with its listener, when one was given. */
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * A FIFO of waiters as a doubly linked list: append, remove-from-anywhere (an aborted waiter leaves at once,
 * wherever it stands) and pop are all O(1), at any depth. `Array.prototype.shift` is O(n) past ~10k items.
 */
export class WaiterQueue {
  /** The first waiter: the only one the bucket is asked about. */
  head: Waiter | undefined = undefined;
  private tail: Waiter | undefined = undefined;
  /** Waiters queued. */
  size = 0;
  /** Tokens asked for by all queued waiters together. */
  tokens = 0;

  /** Creates a waiter at the end of the queue. */
  push(tokens: number, resolve: () => void, reject: (reason: unknown) => void): Waiter {
    const waiter: Waiter = {
      tokens,
      previous: this.tail,
      next: undefined,
      queued: true,
      resolve,
      reject,
      signal: undefined,
      onAbort: undefined,
    };
    if (this.tail) this.tail.next = waiter;
    else this.head = waiter;
    this.tail = waiter;
    this.size++;
    this.tokens += tokens;
    return waiter;
  }

  /** Takes `waiter` out of the queue, wherever it is, and stops listening to its signal. */
  remove(waiter: Waiter): void {
    waiter.queued = false;
    const { previous, next } = waiter;
    if (previous) previous.next = next;
    else this.head = next;
    if (next) next.previous = previous;
    else this.tail = previous;
    waiter.previous = waiter.next = undefined;
    this.size--;
    this.tokens -= waiter.tokens;
    if (waiter.onAbort) waiter.signal!.removeEventListener('abort', waiter.onAbort);
  }
}
