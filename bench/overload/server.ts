/**
 * A dependency under fake time: `capacity` requests are served at once, each for a service time drawn from its
 * latency model; the others wait in a FIFO queue that never refuses anyone, as a real server's accept queue
 * and thread pool do until it falls over. It may fail a share of requests (after their service time).
 */

/** Draws the service time of one request, in ms. */
export type LatencyModel = (random: () => number) => number;

/** Every request takes `ms`. */
export function fixedLatency(ms: number): LatencyModel {
  return () => ms;
}

/** `ms` with probability `p` for each `[p, ms]`, in order (the probabilities sum to 1): a long tail, say. */
export function mixedLatency(parts: readonly (readonly [p: number, ms: number])[]): LatencyModel {
  return (random) => {
    let draw = random();
    for (const [p, ms] of parts) {
      if (draw < p) return ms;
      draw -= p;
    }
    return parts[parts.length - 1][1];
  };
}

/** The server's answer to a request it failed. */
export class ServerError extends Error {
  constructor() {
    super('the server failed this request');
    this.name = 'ServerError';
  }
}

/** Options of a {@link SimulatedServer}. */
export interface ServerOptions {
  /** Requests served at once. */
  readonly capacity: number;
  /** Service time of each request. */
  readonly latency: LatencyModel;
  /** Share of requests that fail, in [0, 1]. Default 0. */
  readonly failureRate?: number;
  /** The source of randomness (seeded, for a deterministic run). */
  readonly random: () => number;
}

interface Queued {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  readonly signal: AbortSignal | undefined;
  left: boolean;
}

/** A server with parallel slots and an unbounded queue, driven by `setTimeout` (so by fake timers). */
export class SimulatedServer {
  /** Requests received. */
  received = 0;
  /** Requests that ended (served, failed or not). */
  completed = 0;
  /** Requests being served now. */
  busy = 0;
  private capacity: number;
  private failureRate: number;
  private readonly queue: Queued[] = [];
  private head = 0;

  constructor(private readonly options: ServerOptions) {
    this.capacity = options.capacity;
    this.failureRate = options.failureRate ?? 0;
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /** Changes how many requests are served at once (a node lost, a noisy neighbour). */
  setCapacity(capacity: number): void {
    this.capacity = capacity;
    this.startWaiting();
  }

  /** Changes the share of requests that fail. */
  setFailureRate(rate: number): void {
    this.failureRate = rate;
  }

  /**
   * Handles one request: resolves after its service time, or rejects with a {@link ServerError}. A request whose
   * signal aborts while it waits leaves the queue; one already being served runs to the end (the server does not
   * know its client gave up).
   */
  handle(signal?: AbortSignal): Promise<void> {
    this.received++;
    return new Promise((resolve, reject) => {
      const request: Queued = { resolve, reject, signal, left: false };
      signal?.addEventListener(
        'abort',
        () => {
          if (request.left) return;
          request.left = true;
          reject(new Error('abandoned while queued'));
        },
        { once: true },
      );
      this.queue.push(request);
      this.startWaiting();
    });
  }

  private startWaiting(): void {
    while (this.busy < this.capacity && this.head < this.queue.length) {
      const request = this.queue[this.head++];
      if (request.left) continue;
      request.left = true;
      this.serve(request);
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }

  private serve(request: Queued): void {
    this.busy++;
    const fails = this.options.random() < this.failureRate;
    setTimeout(() => {
      this.busy--;
      this.completed++;
      if (fails) request.reject(new ServerError());
      else request.resolve();
      this.startWaiting();
    }, this.options.latency(this.options.random));
  }
}
