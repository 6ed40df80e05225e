import { randomUUID } from 'node:crypto';
import type { ResolvedCircuitBreakerOptions } from '../index.js';

/** How a call admitted by the shared circuit ended. */
export type Outcome = 'success' | 'failure' | 'ignored';

/** Most outcomes one REPORT carries: bounds the size of a command and of the script's run. */
const MAX_BATCH = 256;
const FIELDS = 5;
// The longest open time a local breaker keeps for a retryAfter (the largest timer delay): the same in Redis.
const MAX_RETRY_AFTER_MS = 2 ** 31 - 1;

// A promise continuation runs after the code that settled the calls, and fake timers never fake it.
const RESOLVED = Promise.resolve();

/**
 * The outcomes a shared circuit breaker reports, gathered per tick: the calls that end in the same tick share
 * one REPORT script call, so a busy process sends far fewer than one round trip per call. Each batch has an id
 * of its own, so Redis counts it once however often (or late) it runs.
 * @internal
 */
export class ReportBatch {
  private readonly id = randomUUID();
  private batches = 0;
  private pending: (string | number)[] = [];
  private trial = false;
  // What every REPORT carries before its outcomes (after the batch id and how long to remember it).
  private readonly settings: readonly number[];
  // Longer than a stalled closed batch plausibly runs after its caller gave up on it: none is ever resent
  // (command-connection.ts).
  private readonly memoryMs: number;

  /**
   * @param send - sends one REPORT's arguments; `trial` says whether it frees a trial slot (then it is worth
   *   resending until Redis answers)
   */
  constructor(
    options: ResolvedCircuitBreakerOptions,
    commandTimeoutMs: number,
    private readonly leaseMs: number,
    private readonly send: (args: readonly (string | number)[], trial: boolean) => unknown,
  ) {
    this.memoryMs = Math.min(leaseMs, Math.max(1_000, 4 * commandTimeoutMs));
    const { rate } = options;
    const window = rate?.window;
    this.settings = [
      // Lua reads "Infinity" as nothing: a rate-mode breaker has no consecutive threshold.
      rate === undefined ? options.failureThreshold : 0,
      options.successThreshold,
      options.maxTimeout,
      rate?.failureRateThreshold ?? 0,
      rate?.slowCallRateThreshold ?? 0,
      rate?.minimumCalls ?? 0,
      window !== undefined && 'calls' in window ? window.calls : 0,
      window !== undefined && 'time' in window ? window.time : 0,
      window !== undefined && 'time' in window ? window.buckets : 0,
    ];
  }

  /**
   * Adds one call's outcome: admitted in generation `gen`, as a trial under `token` ('' for a closed call),
   * `slow` or not, its error asking to stay open `retryAfterMs` (0 for no such ask).
   */
  add(outcome: Outcome, gen: number, token: string, slow: boolean, retryAfterMs: number): void {
    const retryAfter = Math.min(Math.round(retryAfterMs), MAX_RETRY_AFTER_MS);
    const length = this.pending.push(outcome, gen, token, slow ? 1 : 0, retryAfter);
    if (token !== '') this.trial = true;
    if (length === FIELDS) void RESOLVED.then(this.flush);
    else if (length === MAX_BATCH * FIELDS) this.flush();
  }

  /** Sends the open batch as one REPORT (a no-op when a full batch was sent already). */
  private readonly flush = (): void => {
    const outcomes = this.pending;
    if (outcomes.length === 0) return;
    const { trial } = this;
    this.pending = [];
    this.trial = false;
    const batchId = `${this.id}:${++this.batches}`;
    // A batch with a trial may be resent for a whole lease: Redis must remember it that long.
    const memory = trial ? this.leaseMs : this.memoryMs;
    this.send([batchId, memory, ...this.settings, ...outcomes], trial);
  };
}
