import { LinkedQueue, type QueueNode } from '../../core/linked-queue.js';

/** A request for tokens waiting its turn: a node of a {@link WaiterQueue}. */
export interface Waiter extends QueueNode {
  readonly tokens: number;
  resolve: () => void;
  reject: (reason: unknown) => void;
  /** The signal whose abort makes the waiter leave, with its listener, when one was given. */
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** The FIFO of a rate limiter's waiters, which also sums the tokens they ask for. */
export class WaiterQueue extends LinkedQueue<Waiter> {
  /** Tokens asked for by all queued waiters together. */
  declare tokens: number;

  constructor() {
    super();
    this.tokens = 0;
  }

  /** Creates a waiter at the end of the queue. */
  add(tokens: number, resolve: () => void, reject: (reason: unknown) => void): Waiter {
    const waiter: Waiter = {
      tokens,
      previous: undefined,
      next: undefined,
      queue: undefined,
      resolve,
      reject,
      signal: undefined,
      onAbort: undefined,
    };
    this.push(waiter);
    this.tokens += tokens;
    return waiter;
  }

  /** Takes `waiter` out of the queue, wherever it is, and stops listening to its signal. */
  override remove(waiter: Waiter): boolean {
    if (!super.remove(waiter)) return false;
    this.tokens -= waiter.tokens;
    if (waiter.onAbort) waiter.signal!.removeEventListener('abort', waiter.onAbort);
    return true;
  }
}
