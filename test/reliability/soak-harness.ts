// A soak with faults: a service decorated with every policy, driven by concurrent callers in real time while
// its downstream randomly throws, hangs past the timeout, returns failure results, and callers abort. Used by
// the bounded soak in the test suite and by `npm run soak` (a million calls).
import {
  CircuitBreaker,
  CircuitBreakerError,
  CircuitState,
  Concurrency,
  ConcurrencyLimitError,
  ConcurrencyLimiter,
  Fallback,
  MemoryTokenBucketStore,
  RateLimitExceededError,
  RateLimited,
  RateLimiter,
  Retry,
  RetryPolicy,
  Timeout,
  TimeoutError,
  currentSignal,
  type TakeResult,
  type TokenBucketSpec,
  type TokenBucketStore,
} from '../../src/index.js';
import { sleep } from '../support/fake-clock.js';
import { collectGarbage } from '../support/gc.js';

/** How hard and how long to soak. */
export interface SoakOptions {
  /** Calls in all. */
  readonly calls: number;
  /** Callers running at once, each awaiting its call before the next. */
  readonly callers: number;
  /** Seed of the fault schedule. */
  readonly seed: number;
  /** Budget of each try (`@Timeout`), in ms; hanging calls exceed it. */
  readonly timeoutMs: number;
  /** Called with a progress line every `progressEvery` calls. */
  readonly progress?: (line: string) => void;
  readonly progressEvery?: number;
}

/** What a soak observed: the figures and every invariant's count of violations. */
export interface SoakReport {
  readonly calls: number;
  readonly seconds: number;
  readonly callsPerSecond: number;
  /** How each call ended, by outcome. */
  readonly outcomes: Readonly<Record<string, number>>;
  /** Calls whose promise never settled, and calls whose settle handler ran more than once. */
  readonly unsettled: number;
  readonly settledTwice: number;
  /** Rejections whose reason was not an Error. */
  readonly nonErrorRejections: number;
  readonly unhandledRejections: number;
  readonly uncaughtExceptions: number;
  /** Unexpected failures (anything outside the outcomes the faults explain), with a sample message. */
  readonly unexpected: number;
  readonly unexpectedSample: string | undefined;
  readonly downstreamTries: number;
  /** Tries that ran past their budget (`@Timeout` fired). */
  readonly timeouts: number;
  readonly breakerTransitions: number;
  readonly transitionsByKind: Readonly<Record<string, number>>;
  readonly illegalTransitions: number;
  readonly grants: number;
  /** Grants the token bucket could not have paid for, replayed independently from their timestamps. */
  readonly overAdmissions: number;
  readonly maxActive: number;
  readonly concurrencyLimit: number;
  readonly handlesBefore: readonly string[];
  readonly handlesAfter: readonly string[];
  readonly heapBeforeMb: number;
  readonly heapAfterMb: number;
}

class DownstreamError extends Error {
  override name = 'DownstreamError';
}
class CallerAbort extends Error {
  override name = 'CallerAbort';
}

interface Reply {
  readonly ok: boolean;
  readonly id: number;
}

const LEGAL = new Set([
  `${CircuitState.CLOSED}>${CircuitState.OPEN}`,
  `${CircuitState.OPEN}>${CircuitState.HALF_OPEN}`,
  `${CircuitState.HALF_OPEN}>${CircuitState.CLOSED}`,
  `${CircuitState.HALF_OPEN}>${CircuitState.OPEN}`,
]);

/** A small seeded PRNG (mulberry32): the same seed gives the same fault schedule. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Wraps the limiter's store to check every grant against an independent replay of the bucket: tokens refill
 * at `msPerToken` up to `capacity`, and a grant needs the tokens it takes. A store that over-admits shows up
 * here whatever its own arithmetic says.
 */
class AuditedStore implements TokenBucketStore {
  private readonly inner = new MemoryTokenBucketStore();
  private level: number;
  private last = -Infinity;
  grants = 0;
  overAdmissions = 0;

  constructor(capacity: number) {
    this.level = capacity;
  }

  take(tokens: number, nowMs: number, bucket: TokenBucketSpec): TakeResult {
    const result = this.inner.take(tokens, nowMs, bucket);
    if (result.granted) {
      this.grants++;
      if (this.last !== -Infinity)
        this.level = Math.min(
          bucket.capacity,
          this.level + (nowMs - this.last) / bucket.msPerToken,
        );
      this.last = nowMs;
      if (this.level < tokens - 1e-6) this.overAdmissions++;
      this.level -= tokens;
    }
    return result;
  }

  peek(nowMs: number, bucket: TokenBucketSpec): number {
    return this.inner.peek(nowMs, bucket);
  }
}

async function heapMb(): Promise<number> {
  // Let finished work's promises and timers unwind before measuring.
  await new Promise((resolve) => setImmediate(resolve));
  collectGarbage();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

function activeHandles(): string[] {
  return process.getActiveResourcesInfo().sort();
}

/** Runs one soak and reports what it saw. It throws nothing: the caller checks the report. */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const { calls, callers, seed, timeoutMs } = options;
  const next = random(seed);

  const unhandled: unknown[] = [];
  const uncaught: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);
  const onUncaught = (error: unknown) => void uncaught.push(error);
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUncaught);

  const concurrencyLimit = 16;
  const capacity = 32;
  const store = new AuditedStore(capacity);
  // 16 tokens per ms: the callers ask for more, so calls queue for tokens and some wait past maxWait.
  const limiter = new RateLimiter({ rate: 24, per: 1, capacity, store });
  const breaker = new CircuitBreaker({
    failureThreshold: 5,
    timeout: 5,
    successThreshold: 2,
    halfOpenMaxCalls: 2,
    exceptions: [DownstreamError, TimeoutError],
    isFailureResult: (reply: Reply) => !reply.ok,
  });
  const retryPolicy = new RetryPolicy({
    maxAttempts: 3,
    baseDelay: 1,
    maxDelay: 4,
    jitter: true,
    exceptions: [DownstreamError, TimeoutError],
    retryOnResult: (reply: Reply) => !reply.ok,
  });
  const deadline = new Timeout(timeoutMs);
  let timeouts = 0;
  deadline.events.on('timeout', () => void timeouts++);
  const permits = new ConcurrencyLimiter({ limit: concurrencyLimit, maxQueue: 256, maxWait: 50 });

  const transitionsByKind: Record<string, number> = {};
  let breakerTransitions = 0;
  let illegalTransitions = 0;
  let lastState: CircuitState = breaker.state;
  breaker.events.on('stateChange', ({ from, to }) => {
    breakerTransitions++;
    const kind = `${from}>${to}`;
    transitionsByKind[kind] = (transitionsByKind[kind] ?? 0) + 1;
    if (!LEGAL.has(kind) || from !== lastState) illegalTransitions++;
    lastState = to;
  });

  let downstreamTries = 0;
  let active = 0;
  let maxActive = 0;
  // Storms: every 4,000 calls, 400 calls in which most tries fail, so the breaker opens and recovers.
  let started = 0;
  const storming = () => started % 4_000 >= 3_600;

  const downstream = (id: number, signal: AbortSignal): Promise<Reply> | Reply => {
    downstreamTries++;
    const roll = next();
    const failRate = storming() ? 0.9 : 0.12;
    if (roll < failRate / 2) return Promise.reject(new DownstreamError(`call ${id} failed`));
    if (roll < failRate) return { ok: false, id };
    if (roll < failRate + 0.02) {
      // Hangs past the timeout: half honour the signal, half ignore it and answer late.
      if (next() < 0.5) {
        return new Promise<Reply>((_resolve, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
        });
      }
      return sleep(timeoutMs * 3).then(() => ({ ok: true, id }));
    }
    if (roll < failRate + 0.1)
      return sleep(1 + Math.floor(next() * 3)).then(() => ({ ok: true, id }));
    if (roll < failRate + 0.3)
      return new Promise((resolve) => setImmediate(() => resolve({ ok: true, id })));
    return { ok: true, id };
  };

  class Service {
    @Fallback((_error: unknown, id: number): Reply => ({ ok: true, id: -id - 1 }), {
      exceptions: [CircuitBreakerError],
    })
    @Retry(retryPolicy)
    @CircuitBreaker(breaker)
    @RateLimited(limiter, { maxWait: 2 })
    @Timeout(deadline)
    @Concurrency(permits)
    async call(id: number): Promise<Reply> {
      const signal = currentSignal();
      active++;
      if (active > maxActive) maxActive = active;
      try {
        return await downstream(id, signal);
      } finally {
        active--;
      }
    }
  }

  const service = new Service();
  // The caller's own budget is generous: it only carries the caller's abort into the pipeline.
  const callerBudget = new Timeout(60_000);
  const settledCount = new Uint8Array(calls);
  const outcomes: Record<string, number> = {};
  let nonErrorRejections = 0;
  let unexpected = 0;
  let unexpectedSample: string | undefined;
  const count = (outcome: string) => (outcomes[outcome] = (outcomes[outcome] ?? 0) + 1);

  const classify = (error: unknown): string => {
    if (!(error instanceof Error)) {
      nonErrorRejections++;
      return 'non-error';
    }
    if (error instanceof CallerAbort) return 'caller abort';
    if (error instanceof DownstreamError) return 'downstream error';
    if (error instanceof TimeoutError) return 'timeout';
    if (error instanceof RateLimitExceededError) return 'rate limited';
    if (error instanceof ConcurrencyLimitError) return 'concurrency limited';
    unexpected++;
    unexpectedSample ??= `${error.name}: ${error.message}`;
    return 'unexpected';
  };

  const oneCall = async (id: number): Promise<void> => {
    let signal: AbortSignal | undefined;
    let abortTimer: ReturnType<typeof setTimeout> | undefined;
    if (next() < 0.05) {
      const controller = new AbortController();
      signal = controller.signal;
      const abort = () => controller.abort(new CallerAbort(`caller ${id} gave up`));
      if (next() < 0.2) abort();
      else abortTimer = setTimeout(abort, Math.floor(next() * 6));
    }
    const promise = signal
      ? callerBudget.run(() => service.call(id), { signal })
      : service.call(id);
    try {
      const reply = await promise;
      settledCount[id]++;
      count(reply.id < 0 ? 'fallback (open circuit)' : reply.ok ? 'ok' : 'failure result');
      // A client told the service is down backs off a little (see below).
      if (reply.id < 0) await sleep(1);
    } catch (error) {
      settledCount[id]++;
      const outcome = classify(error);
      count(outcome);
      // A client refused at once backs off a little, as a real one would. Without it, a caller whose every
      // call is refused at once loops on promise callbacks alone and starves the event loop's timers.
      if (outcome === 'rate limited' || outcome === 'concurrency limited') await sleep(1);
    } finally {
      if (abortTimer !== undefined) clearTimeout(abortTimer);
    }
  };

  const heapBeforeMb = await heapMb();
  const handlesBefore = activeHandles();
  const startedAt = performance.now();
  const every = options.progressEvery ?? Math.max(1, Math.floor(calls / 10));

  const caller = async () => {
    while (started < calls) {
      const id = started++;
      await oneCall(id);
      if (options.progress && (id + 1) % every === 0) {
        const seconds = (performance.now() - startedAt) / 1000;
        options.progress(
          `${id + 1} calls, ${seconds.toFixed(1)} s, ${Math.round((id + 1) / seconds)} calls/s`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: callers }, caller));
  const seconds = (performance.now() - startedAt) / 1000;

  // Late answers of hung calls (3 x timeout) and queue timers finish; then everything must be back.
  await sleep(timeoutMs * 4 + 60);
  const heapAfterMb = await heapMb();
  const handlesAfter = activeHandles();
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUncaught);

  let unsettled = 0;
  let settledTwice = 0;
  for (const n of settledCount) {
    if (n === 0) unsettled++;
    else if (n > 1) settledTwice++;
  }
  return {
    calls,
    seconds,
    callsPerSecond: Math.round(calls / seconds),
    outcomes,
    unsettled,
    settledTwice,
    nonErrorRejections,
    unhandledRejections: unhandled.length,
    uncaughtExceptions: uncaught.length,
    unexpected,
    unexpectedSample,
    downstreamTries,
    timeouts,
    breakerTransitions,
    transitionsByKind,
    illegalTransitions,
    grants: store.grants,
    overAdmissions: store.overAdmissions,
    maxActive,
    concurrencyLimit,
    handlesBefore,
    handlesAfter,
    heapBeforeMb,
    heapAfterMb,
  };
}

/** The report as aligned lines, for people. */
export function formatReport(report: SoakReport): string {
  const lines = [
    `calls                 ${report.calls} in ${report.seconds.toFixed(1)} s (${report.callsPerSecond} calls/s)`,
    `downstream tries      ${report.downstreamTries} (${report.timeouts} timed out)`,
    ...Object.entries(report.outcomes)
      .sort((a, b) => b[1] - a[1])
      .map(([outcome, n]) => `  ${outcome.padEnd(20)}${n}`),
    `unsettled / twice     ${report.unsettled} / ${report.settledTwice}`,
    `non-Error rejections  ${report.nonErrorRejections}`,
    `unhandled / uncaught  ${report.unhandledRejections} / ${report.uncaughtExceptions}`,
    `unexpected errors     ${report.unexpected}${report.unexpectedSample ? ` (${report.unexpectedSample})` : ''}`,
    `breaker transitions   ${report.breakerTransitions} (illegal ${report.illegalTransitions}): ${JSON.stringify(report.transitionsByKind)}`,
    `limiter grants        ${report.grants} (over-admitted ${report.overAdmissions})`,
    `max concurrent        ${report.maxActive} of ${report.concurrencyLimit}`,
    `active handles        before [${report.handlesBefore.join(', ')}] after [${report.handlesAfter.join(', ')}]`,
    `heap after gc         ${report.heapBeforeMb.toFixed(1)} MB -> ${report.heapAfterMb.toFixed(1)} MB (${(report.heapAfterMb - report.heapBeforeMb).toFixed(1)} MB)`,
  ];
  return lines.join('\n');
}

/** The invariants a soak must keep; returns what broke (empty when all held). */
export function brokenInvariants(report: SoakReport, heapBoundMb: number): string[] {
  const broken: string[] = [];
  const check = (ok: boolean, what: string) => void (ok || broken.push(what));
  check(report.unsettled === 0, `${report.unsettled} calls never settled`);
  check(report.settledTwice === 0, `${report.settledTwice} calls settled twice`);
  check(
    report.nonErrorRejections === 0,
    `${report.nonErrorRejections} rejections with a non-Error`,
  );
  check(report.unhandledRejections === 0, `${report.unhandledRejections} unhandled rejections`);
  check(report.uncaughtExceptions === 0, `${report.uncaughtExceptions} uncaught exceptions`);
  check(
    report.unexpected === 0,
    `${report.unexpected} unexpected errors (${report.unexpectedSample})`,
  );
  check(
    report.illegalTransitions === 0,
    `${report.illegalTransitions} illegal breaker transitions`,
  );
  check(report.overAdmissions === 0, `${report.overAdmissions} limiter over-admissions`);
  check(report.maxActive <= report.concurrencyLimit, `${report.maxActive} concurrent calls`);
  check(
    leakedHandles(report).length === 0,
    `active handles leaked: [${report.handlesBefore.join(', ')}] -> [${report.handlesAfter.join(', ')}]`,
  );
  check(
    report.heapAfterMb - report.heapBeforeMb < heapBoundMb,
    `heap grew by ${(report.heapAfterMb - report.heapBeforeMb).toFixed(1)} MB (bound ${heapBoundMb} MB)`,
  );
  return broken;
}

/**
 * Handles present after the run beyond those present before it. Fewer is fine: in a shared test process,
 * timers other suites left behind may expire while the soak runs.
 */
export function leakedHandles(
  report: Pick<SoakReport, 'handlesBefore' | 'handlesAfter'>,
): string[] {
  const remaining = [...report.handlesBefore];
  return report.handlesAfter.filter((type) => {
    const index = remaining.indexOf(type);
    if (index < 0) return true;
    remaining.splice(index, 1);
    return false;
  });
}
