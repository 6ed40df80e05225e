import { LinkedQueue, type QueueNode } from '../../core/linked-queue.js';

/** A request for tokens waiting its turn: a node of a {@link WaiterQueue}. */
export interface Waiter extends QueueNode {
  readonly tokens: number;
  resolve: () => void;
  reject: (reason: unknown) => void;
  /** Stops listening to the signal whose abort makes the waiter leave, when one was given. */
  unlinkSignal: (() => void) | undefined;
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
      unlinkSignal: undefined,
    };
    this.push(waiter);
    this.tokens += tokens;
    return waiter;
  }

  /** Takes `waiter` out of the queue, wherever it is, and stops listening to its signal. */
  override remove(waiter: Waiter): boolean {
    if (!super.remove(waiter)) return false;
    this.tokens -= waiter.tokens;
    waiter.unlinkSignal?.();
    return true;
  }
}
