// Every public entry point, fed wrong types, NaN, Infinity, negatives, durations past the timer limit,
// prototype tricks and malformed or very long duration strings, must answer with a ConfigError naming the
// problem: thrown at once, or a promise that rejects at once. Never a hang, a crash, a silent default or
// prototype pollution.
import { expect } from 'chai';
import sinon from 'sinon';
import * as dspu from '../../src/index.js';
import { TIMER_SPAN_MS } from '../../src/core/deadline-queue.js';
import {
  AdaptiveConcurrencyLimiter,
  CircuitBreaker,
  Concurrency,
  ConcurrencyLimiter,
  ConfigError,
  EventEmitter,
  bindContext,
  checkAll,
  Fallback,
  FallbackPolicy,
  Hedge,
  HedgePolicy,
  RateLimited,
  RateLimiter,
  ResilienceRegistry,
  Resilient,
  Retry,
  RetryBudget,
  RetryPolicy,
  Timeout,
  WorkerPool,
  asyncToSync,
  bindRegistry,
  drainShielded,
  fallback,
  gatherWithLimit,
  getResiliencePolicies,
  hedge,
  mapWithLimit,
  prepareInstance,
  registry,
  retry,
  runAsync,
  runInExecutor,
  runWithShield,
  runWithTimeout,
  syncToAsync,
  toMs,
  UsePolicy,
  withSignal,
} from '../../src/index.js';
import {
  HOSTILE_FUNCTIONS,
  HOSTILE_VALUES,
  UNREADABLE_OBJECTS,
  sameOptionsReshaped,
  withThrowingGetter,
} from '../support/hostile-values.js';

interface Case {
  /** The export (or `export.method`) under test. */
  readonly entry: string;
  readonly label: string;
  readonly call: () => unknown;
  /** What the ConfigError's message must say: the option (or path) and the rule. */
  readonly problem: RegExp;
}

const cases: Case[] = [];

function bad(entry: string, label: string, call: () => unknown, problem: RegExp): void {
  cases.push({ entry, label, call, problem });
}

/** Options that list no key, and throw when `key` is read. */
function unlistedThrowing(key: string): object {
  return new Proxy(
    {},
    {
      get(target, read) {
        if (read === key) throw new Error(`${key} refused`);
        return Reflect.get(target, read) as unknown;
      },
    },
  );
}

/** A short, unique-enough rendering of a bad value for test titles. */
function show(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 24 ? `${value.slice(0, 21)}...` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol') return value.toString();
  if (typeof value === 'function')
    return value.name ? `function ${value.name}` : 'an anonymous function';
  if (typeof value === 'number' || typeof value === 'boolean' || value == null)
    return String(value);
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  if (value instanceof AbortController) return 'an AbortController';
  const proto = Object.getPrototypeOf(value) as object | null;
  if (proto !== Object.prototype && proto !== null)
    return `a ${(proto.constructor as { name?: string } | undefined)?.name ?? 'custom'} object`;
  try {
    return JSON.stringify(value, (_key, v: unknown) =>
      typeof v === 'number' && !Number.isFinite(v) ? String(v) : v,
    );
  } catch {
    return 'an object';
  }
}

const noop = async () => 'ok';
const MAX_TIMER = 2 ** 31 - 1;

// Values that are not durations, whatever the option. (`undefined` is not here: optional durations default.)
const NOT_DURATION_NUMBERS: readonly unknown[] = [
  NaN,
  Infinity,
  -Infinity,
  -1,
  -0.5,
  MAX_TIMER + 1,
  2 ** 53,
  1e300,
  Number.MAX_VALUE,
];
const NOT_DURATION_STRINGS: readonly string[] = [
  '',
  'abc',
  '1',
  '30',
  '1 s',
  ' 1s',
  '1s ',
  '1S',
  '1sec',
  '2 minutes',
  '-1s',
  '+1s',
  '1e3ms',
  '.5s',
  '1.s',
  '1..5s',
  '0x10ms',
  '1sm',
  '1d',
  'Infinityms',
  'NaNs',
  '597h', // 2,149,200,000 ms: past the largest timer delay
  '2147483648ms',
  '35791.5m',
  `${'9'.repeat(40)}ms`,
];
const NOT_DURATION_OTHERS: readonly unknown[] = [
  null,
  true,
  10n,
  Symbol('1s'),
  new Number(5),
  new String('1s'),
  new Date(),
];
const NOT_DURATIONS = [...NOT_DURATION_NUMBERS, ...NOT_DURATION_STRINGS, ...NOT_DURATION_OTHERS];
// What a decorator reads as a duration rather than a registry name: numbers, and strings that start like one.
const NUMERIC_NOT_DURATIONS = [
  ...NOT_DURATION_NUMBERS,
  ...NOT_DURATION_STRINGS.filter((s) => /^\s*[+-]?(\d|\.\d)/.test(s)),
];

const NOT_OPTIONS: readonly unknown[] = [null, 'x', 5, true, [], new Map(), Object.create({})];
const NOT_FUNCTIONS: readonly unknown[] = [null, 1, 'fn', true, {}, []];
const NOT_ERROR_CLASSES: readonly unknown[] = [
  null,
  'Error',
  Error,
  {},
  [1],
  [Error, 'TypeError'],
  [null],
  // Functions that `instanceof` refuses (it would throw at every failed call, hiding the call's error).
  [() => Error],
  [Math.max],
];
const NOT_SIGNALS: readonly unknown[] = [
  null,
  'x',
  1,
  {},
  { aborted: false, addEventListener() {} },
  new AbortController(),
  // Not a signal, though `instanceof AbortSignal` says so.
  Object.create(AbortSignal.prototype),
];
const NOT_CALL_OPTIONS: readonly unknown[] = [null, 'x', 5, true, [], new Map()];
const NOT_POSITIVE_INTEGERS: readonly unknown[] = [
  0,
  -1,
  1.5,
  NaN,
  Infinity,
  -Infinity,
  2 ** 53,
  '3',
  null,
  true,
];
const NOT_POSITIVE_NUMBERS: readonly unknown[] = [
  0,
  -1,
  NaN,
  Infinity,
  -Infinity,
  '10',
  null,
  true,
];

// ---------------------------------------------------------------------------------------------------------
// core

for (const value of NOT_DURATIONS)
  bad('toMs', show(value), () => toMs(value, 'opt'), /^opt: expected a duration/);

for (const value of NOT_FUNCTIONS)
  bad('bindContext', show(value), () => bindContext(value as never), /^fn: expected a function/);

for (const value of NOT_FUNCTIONS) {
  bad(
    'withSignal',
    `fn ${show(value)}`,
    () => withSignal(new AbortController().signal, value as never),
    /^fn: expected a function/,
  );
  bad('checkAll', show(value), () => checkAll(value as never), /^checks\[0\]: expected a function/);
}
for (const value of [undefined, ...NOT_SIGNALS])
  bad(
    'withSignal',
    `signal ${show(value)}`,
    () => withSignal(value as never, () => 1),
    /^signal: expected an AbortSignal/,
  );
for (const { label, value } of HOSTILE_VALUES) {
  bad(
    'withSignal',
    `signal ${label}`,
    () => withSignal(value as never, () => 1),
    /^signal: expected an AbortSignal/,
  );
  bad('hedge', `options ${label}`, () => hedge(noop, value as never), /^options: |delay: /);
}
for (const value of [
  undefined,
  null,
  0,
  '',
  {},
  { kind: 'x' },
  { kind: 1, executeWith() {}, events: {} },
  Symbol('p'),
  1n,
])
  bad('UsePolicy', show(value), () => UsePolicy(value as never), /^policy(?: name)?: expected/);

{
  const emitter = new EventEmitter<{ tick: { n: number } }>();
  for (const value of NOT_FUNCTIONS)
    bad(
      'EventEmitter.on',
      `listener ${show(value)}`,
      () => emitter.on('tick', value as never),
      /^listener: expected a function/,
    );
}

// ---------------------------------------------------------------------------------------------------------
// retry

const retryOptionCases: [string, readonly unknown[], RegExp][] = [
  ['maxAttempts', NOT_POSITIVE_INTEGERS, /maxAttempts: expected an integer from 1/],
  ['baseDelay', NOT_DURATIONS, /baseDelay: expected a duration/],
  ['maxDelay', NOT_DURATIONS, /maxDelay: expected a duration/],
  ['strategy', ['EXPONENTIAL', 'random', 1, null, ''], /strategy: expected one of/],
  ['jitter', ['yes', 1, 0, null, 'FULL'], /jitter: expected one of/],
  ['exceptions', NOT_ERROR_CLASSES, /exceptions: expected an array of error classes/],
  ['retryIf', NOT_FUNCTIONS, /retryIf: expected a function/],
  ['onRetry', NOT_FUNCTIONS, /onRetry: expected a function/],
  ['retryOnResult', NOT_FUNCTIONS, /retryOnResult: expected a function/],
  ['delay', [...NOT_FUNCTIONS, 1000], /delay: expected a function/],
];
for (const [option, values, problem] of retryOptionCases) {
  for (const value of values) {
    const options = { [option]: value };
    bad('RetryPolicy', `${option} ${show(value)}`, () => new RetryPolicy(options), problem);
    bad('retry', `${option} ${show(value)}`, () => retry(noop, options as never), problem);
    bad('Retry', `${option} ${show(value)}`, () => Retry(options), problem);
  }
}
for (const { label, value } of HOSTILE_VALUES) {
  bad(
    'RetryPolicy',
    `maxAttempts ${label}`,
    () => new RetryPolicy({ maxAttempts: value as never }),
    /^maxAttempts: expected an integer from 1/,
  );
  bad(
    'RetryPolicy',
    `baseDelay ${label}`,
    () => new RetryPolicy({ baseDelay: value as never }),
    /^baseDelay: expected a duration/,
  );
}
for (const { label, value } of UNREADABLE_OBJECTS)
  bad('RetryPolicy', `options ${label}`, () => new RetryPolicy(value as never), /^options: /);
bad(
  'RetryPolicy',
  'an option whose getter throws',
  () => new RetryPolicy(withThrowingGetter({ baseDelay: 10 }, 'maxAttempts')),
  /^maxAttempts: could not be read/,
);
// (A symbol-keyed property is never read from call options: such an object is accepted.)
for (const { label, value } of [...UNREADABLE_OBJECTS, ...HOSTILE_VALUES].filter(
  ({ label }) => !label.includes('Symbol.'),
))
  bad(
    'RetryPolicy.execute',
    `call options ${label}`,
    () => new RetryPolicy().execute(noop, value as never),
    /^(options: |[^:]+: unknown option)/,
  );
bad(
  'RetryPolicy.execute',
  'a call option whose getter throws',
  () => new RetryPolicy().execute(noop, withThrowingGetter({}, 'signal')),
  /^signal: could not be read/,
);
bad(
  'RetryPolicy',
  'maxDelay below baseDelay',
  () => new RetryPolicy({ baseDelay: '2s', maxDelay: '1s' }),
  /maxDelay: expected at least baseDelay \(2000 ms\)/,
);
bad(
  'RetryPolicy',
  'a misspelt option',
  () => new RetryPolicy({ maxAtempts: 5 } as never),
  /maxAtempts: unknown option/,
);
for (const value of NOT_OPTIONS) {
  bad('RetryPolicy', `options ${show(value)}`, () => new RetryPolicy(value as never), /options:/);
  bad('retry', `options ${show(value)}`, () => retry(noop, value as never), /options:/);
}
for (const value of NOT_FUNCTIONS) {
  bad('retry', `fn ${show(value)}`, () => retry(value as never), /^fn: expected a function/);
  bad(
    'RetryPolicy.execute',
    `fn ${show(value)}`,
    () => new RetryPolicy({ baseDelay: '1h' }).execute(value as never),
    /^fn: expected a function/,
  );
}
for (const value of NOT_SIGNALS)
  bad(
    'RetryPolicy.execute',
    `signal ${show(value)}`,
    () => new RetryPolicy().execute(noop, { signal: value as never }),
    /^signal: expected an AbortSignal/,
  );
for (const value of NOT_CALL_OPTIONS)
  bad(
    'RetryPolicy.execute',
    `call options ${show(value)}`,
    () => new RetryPolicy().execute(noop, value as never),
    /^options: expected an options object/,
  );
bad(
  'RetryPolicy.execute',
  'a misspelt call option',
  () => new RetryPolicy().execute(noop, { sigal: undefined } as never),
  /^sigal: unknown option/,
);

// ---------------------------------------------------------------------------------------------------------
// hedge

const hedgeOptionCases: [string, readonly unknown[], RegExp][] = [
  [
    'delay',
    [...NOT_DURATIONS.filter((v) => v !== undefined), 'p0', 'p100', 'p-5', 'P95', 'p95 '],
    /delay: expected a duration, or a latency quantile/,
  ],
  ['maxHedges', [...NOT_POSITIVE_INTEGERS, 17], /maxHedges: expected an integer from 1 to 16/],
  ['budget', [null, 0, true, {}, { deposit() {} }, ''], /budget: expected a/],
];
for (const [option, values, problem] of hedgeOptionCases) {
  for (const value of values) {
    const options = { delay: 'p95', [option]: value } as never;
    bad('HedgePolicy', `${option} ${show(value)}`, () => new HedgePolicy(options), problem);
    bad('hedge', `${option} ${show(value)}`, () => hedge(noop, options), problem);
    bad('Hedge', `${option} ${show(value)}`, () => Hedge(options), problem);
  }
}
for (const [option, values] of [
  ['fallbackDelay', NOT_DURATIONS.filter((v) => v !== undefined)],
  ['minSamples', [...NOT_POSITIVE_INTEGERS, 129]],
] as const)
  for (const value of values)
    bad(
      'HedgePolicy',
      `${option} ${show(value)}`,
      () => new HedgePolicy({ delay: 'p90', [option]: value } as never),
      new RegExp(`^${option}: expected`),
    );
for (const value of NOT_OPTIONS) {
  bad(
    'HedgePolicy',
    `options ${show(value)}`,
    () => new HedgePolicy(value as never),
    /options:|delay:/,
  );
  bad('hedge', `options ${show(value)}`, () => hedge(noop, value as never), /options:|delay:/);
}
for (const value of NOT_FUNCTIONS) {
  bad(
    'hedge',
    `fn ${show(value)}`,
    () => hedge(value as never, { delay: 10 }),
    /^fn: expected a function/,
  );
  bad(
    'HedgePolicy.execute',
    `fn ${show(value)}`,
    () => new HedgePolicy({ delay: 10 }).execute(value as never),
    /^fn: expected a function/,
  );
}
for (const value of NOT_SIGNALS)
  bad(
    'HedgePolicy.execute',
    `signal ${show(value)}`,
    () => new HedgePolicy({ delay: 10 }).execute(noop, { signal: value as never }),
    /^signal: expected an AbortSignal/,
  );

// ---------------------------------------------------------------------------------------------------------
// timeout

for (const value of NOT_DURATIONS) {
  bad(
    'Timeout',
    `new Timeout(${show(value)})`,
    () => new Timeout(value as never),
    /timeout: expected a duration/,
  );
  bad(
    'Timeout',
    `new Timeout({ timeout: ${show(value)} })`,
    () => new Timeout({ timeout: value as never }),
    /^timeout: expected a duration/,
  );
  bad(
    'runWithTimeout',
    `timeout ${show(value)}`,
    () => runWithTimeout(noop, value as never),
    /^timeout: expected a duration/,
  );
  bad(
    'drainShielded',
    `timeout ${show(value)}`,
    () => drainShielded({ timeout: value as never }),
    /^timeout: expected a duration/,
  );
}
for (const value of NUMERIC_NOT_DURATIONS)
  bad(
    'Timeout',
    `@Timeout(${show(value)})`,
    () => Timeout(value as never),
    /^timeout: expected a duration/,
  );
for (const value of [null, true, 10n, [], new Date(), () => 1, ''])
  bad(
    'Timeout',
    `@Timeout(${show(value)})`,
    () => Timeout(value as never),
    /decorator argument|policy name/,
  );
bad(
  'Timeout',
  'new Timeout()',
  () => new Timeout(undefined as never),
  /^timeout: expected a duration/,
);
bad('Timeout', 'new Timeout({})', () => new Timeout({} as never), /^timeout: expected a duration/);
bad(
  'Timeout',
  'new Timeout with an unknown option',
  () => new Timeout({ timeout: '1s', timout: '2s' } as never),
  /timout: unknown option/,
);
for (const work of [undefined, null, 5, 'work', {}, { then: 5 }]) {
  bad(
    'Timeout.run',
    `work ${show(work)}`,
    () => new Timeout('1s').run(work as never),
    /^work: expected a function or a promise/,
  );
  bad(
    'runWithTimeout',
    `work ${show(work)}`,
    () => runWithTimeout(work as never, '1s'),
    /^work: expected a function or a promise/,
  );
  bad(
    'runWithShield',
    `work ${show(work)}`,
    () => runWithShield(work as never),
    /^work: expected a function or a promise/,
  );
}
for (const value of NOT_SIGNALS) {
  bad(
    'Timeout.run',
    `signal ${show(value)}`,
    () => new Timeout('1s').run(noop, { signal: value as never }),
    /^signal: expected an AbortSignal/,
  );
  bad(
    'runWithTimeout',
    `signal ${show(value)}`,
    () => runWithTimeout(noop, '1s', { signal: value as never }),
    /^signal: expected an AbortSignal/,
  );
}
for (const value of NOT_CALL_OPTIONS) {
  bad(
    'Timeout.run',
    `call options ${show(value)}`,
    () => new Timeout('1s').run(noop, value as never),
    /^options: expected an options object/,
  );
  bad('drainShielded', `options ${show(value)}`, () => drainShielded(value as never), /options:/);
}
bad(
  'drainShielded',
  'a misspelt option',
  () => drainShielded({ timout: '1s' } as never),
  /timout: unknown option/,
);

// ---------------------------------------------------------------------------------------------------------
// rate limiter

const limiterOptionCases: [string, readonly unknown[], RegExp][] = [
  ['rate', NOT_POSITIVE_NUMBERS, /rate: expected a finite number greater than 0/],
  ['per', [...NOT_DURATIONS, 0, '0s'], /per: expected a duration/],
  [
    'capacity',
    [0, 0.5, -1, NaN, Infinity, '5', null],
    /capacity: expected a finite number of at least 1/,
  ],
  ['store', [null, {}, 5, { take: 1 }], /store: expected a TokenBucketStore/],
];
for (const [option, values, problem] of limiterOptionCases) {
  for (const value of values) {
    const options = { rate: 10, [option]: value };
    bad('RateLimiter', `${option} ${show(value)}`, () => new RateLimiter(options), problem);
    bad('RateLimited', `${option} ${show(value)}`, () => RateLimited(options), problem);
  }
}
bad('RateLimiter', 'no rate', () => new RateLimiter({} as never), /rate: expected a finite number/);
bad('RateLimiter', 'no options', () => new RateLimiter(undefined as never), /rate: expected/);
bad(
  'RateLimiter',
  'a misspelt option',
  () => new RateLimiter({ rate: 1, burst: 5 } as never),
  /burst: unknown option/,
);
for (const value of NOT_OPTIONS)
  bad('RateLimiter', `options ${show(value)}`, () => new RateLimiter(value as never), /options:/);
{
  const limiter = () => new RateLimiter({ rate: 10, capacity: 10 });
  const tokens: readonly unknown[] = [0, -1, NaN, Infinity, 11, '1', null, true];
  for (const value of tokens) {
    const problem = /^tokens: expected a number greater than 0 and at most the capacity \(10\)/;
    bad(
      'RateLimiter.acquire',
      `tokens ${show(value)}`,
      () => limiter().acquire(value as never),
      problem,
    );
    bad(
      'RateLimiter.tryAcquire',
      `tokens ${show(value)}`,
      () => limiter().tryAcquire(value as never),
      problem,
    );
    bad(
      'RateLimiter.run',
      `tokens ${show(value)}`,
      () => limiter().run(noop, { tokens: value as never }),
      problem,
    );
  }
  for (const value of NOT_DURATIONS) {
    bad(
      'RateLimiter.run',
      `maxWait ${show(value)}`,
      () => limiter().run(noop, { maxWait: value as never }),
      /^maxWait: expected a duration/,
    );
    bad(
      'RateLimiter.acquire',
      `maxWait ${show(value)}`,
      () => limiter().acquire(1, { maxWait: value as never }),
      /^maxWait: expected a duration/,
    );
    bad(
      'RateLimited',
      `call maxWait ${show(value)}`,
      () => RateLimited({ rate: 1 }, { maxWait: value as never }),
      /maxWait: expected a duration/,
    );
  }
  for (const value of NOT_SIGNALS) {
    bad(
      'RateLimiter.run',
      `signal ${show(value)}`,
      () => limiter().run(noop, { signal: value as never }),
      /^signal: expected an AbortSignal/,
    );
    bad(
      'RateLimiter.acquire',
      `signal ${show(value)}`,
      () => limiter().acquire(1, { signal: value as never }),
      /^signal: expected an AbortSignal/,
    );
  }
  for (const value of NOT_CALL_OPTIONS) {
    bad(
      'RateLimiter.run',
      `call options ${show(value)}`,
      () => limiter().run(noop, value as never),
      /^options:/,
    );
    bad(
      'RateLimiter.acquire',
      `call options ${show(value)}`,
      () => limiter().acquire(1, value as never),
      /^options:/,
    );
    bad(
      'RateLimited',
      `call options ${show(value)}`,
      () => RateLimited({ rate: 1 }, value as never),
      /options:/,
    );
  }
  bad(
    'RateLimiter.run',
    'a misspelt call option',
    () => limiter().run(noop, { maxwait: '1s' } as never),
    /^maxwait: unknown option/,
  );
  bad(
    'RateLimiter.acquire',
    'tokens given in the options',
    () => limiter().acquire(1, { tokens: 2 } as never),
    /^tokens: unknown option/,
  );
  for (const value of NOT_FUNCTIONS)
    bad(
      'RateLimiter.run',
      `fn ${show(value)}`,
      () => limiter().run(value as never),
      /^fn: expected a function/,
    );
  for (const value of [0, -1, NaN, Infinity, '1', null])
    bad(
      'RateLimited',
      `call tokens ${show(value)}`,
      () => RateLimited({ rate: 1 }, { tokens: value as never }),
      /tokens: expected a number greater than 0/,
    );
  bad(
    'RateLimited',
    'call tokens above the inline capacity',
    () => RateLimited({ rate: 1, capacity: 2 }, { tokens: 5 }),
    /^tokens: expected a number greater than 0 and at most the capacity \(2\)/,
  );
  bad(
    'RateLimited',
    'call tokens above the capacity that inline options default to (their rate)',
    () => RateLimited({ rate: 10 }, { tokens: 11 }),
    /^tokens: expected a number greater than 0 and at most the capacity \(10\)/,
  );
  bad(
    'RateLimited',
    'call tokens above the capacity of an instance',
    () => RateLimited(limiter(), { tokens: 11 }),
    /^tokens: expected a number greater than 0 and at most the capacity \(10\)/,
  );
}

// ---------------------------------------------------------------------------------------------------------
// circuit breaker

const breakerOptionCases: [string, readonly unknown[], RegExp][] = [
  ['failureThreshold', NOT_POSITIVE_INTEGERS, /failureThreshold: expected an integer from 1/],
  ['successThreshold', NOT_POSITIVE_INTEGERS, /successThreshold: expected an integer from 1/],
  ['halfOpenMaxCalls', NOT_POSITIVE_INTEGERS, /halfOpenMaxCalls: expected an integer from 1/],
  ['timeout', NOT_DURATIONS, /timeout: expected a duration/],
  ['exceptions', NOT_ERROR_CLASSES, /exceptions: expected an array of error classes/],
  ['isFailureResult', NOT_FUNCTIONS, /isFailureResult: expected a function/],
  ['onStateChange', NOT_FUNCTIONS, /onStateChange: expected a function/],
  [
    'initialState',
    [
      null,
      'OPEN',
      'opened',
      5,
      {},
      { state: 'open' }, // an open circuit needs to know when it opened
      { state: 'closed', failures: -1 },
      { state: 'closed', failures: 1.5 },
      { state: 'half_open', successes: NaN },
      { state: 'open', openedAt: NaN },
      { state: 'open', openedAt: Infinity },
      { state: 'open', openedAt: '2024-01-01' },
      { state: 'closed', isolated: true },
      { state: 'open', openedAt: 0, isolated: 'yes' },
      JSON.parse('{"__proto__":{"state":"open","openedAt":0}}'),
    ],
    /initialState: expected a CircuitState/,
  ],
];
for (const [option, values, problem] of breakerOptionCases) {
  for (const value of values) {
    const options = { [option]: value };
    bad(
      'CircuitBreaker',
      `new, ${option} ${show(value)}`,
      () => new CircuitBreaker(options),
      problem,
    );
    bad('CircuitBreaker', `@, ${option} ${show(value)}`, () => CircuitBreaker(options), problem);
  }
}
for (const value of NOT_OPTIONS)
  bad(
    'CircuitBreaker',
    `options ${show(value)}`,
    () => new CircuitBreaker(value as never),
    /options:/,
  );
bad(
  'CircuitBreaker',
  'a misspelt option',
  () => new CircuitBreaker({ threshold: 3 } as never),
  /threshold: unknown option/,
);
for (const value of NOT_FUNCTIONS)
  bad(
    'CircuitBreaker.protect',
    `fn ${show(value)}`,
    () => new CircuitBreaker().protect(value as never),
    /^fn: expected a function/,
  );

// ---------------------------------------------------------------------------------------------------------
// fallback

for (const value of NOT_FUNCTIONS) {
  bad(
    'fallback',
    `fn ${show(value)}`,
    () => fallback(value as never, () => 1),
    /^fn: expected a function/,
  );
  bad(
    'fallback',
    `handler ${show(value)}`,
    () => fallback(noop, value as never),
    /handler: expected a function/,
  );
  bad(
    'FallbackPolicy',
    `handler ${show(value)}`,
    () => new FallbackPolicy(value as never),
    /handler: expected a function/,
  );
  bad(
    'FallbackPolicy.execute',
    `fn ${show(value)}`,
    () => new FallbackPolicy(() => 'fallback').execute(value as never),
    /^fn: expected a function/,
  );
}
for (const { label, value } of [
  ...['abc', 5, {}, null].map((value) => ({ label: show(value), value })),
  ...HOSTILE_VALUES,
])
  bad(
    'FallbackPolicy.execute',
    `args ${label}`,
    () => new FallbackPolicy(() => 'fallback').execute(noop, value as never),
    /^args: expected an array/,
  );
for (const value of NOT_ERROR_CLASSES) {
  const options = { exceptions: value };
  const problem = /exceptions: expected an array of error classes/;
  bad(
    'fallback',
    `exceptions ${show(value)}`,
    () => fallback(noop, () => 1, options as never),
    problem,
  );
  bad(
    'FallbackPolicy',
    `exceptions ${show(value)}`,
    () => new FallbackPolicy(() => 1, options as never),
    problem,
  );
  bad('Fallback', `exceptions ${show(value)}`, () => Fallback(() => 1, options as never), problem);
}
for (const value of NOT_OPTIONS) {
  bad(
    'fallback',
    `options ${show(value)}`,
    () => fallback(noop, () => 1, value as never),
    /options:/,
  );
  bad('Fallback', `options ${show(value)}`, () => Fallback(() => 1, value as never), /options:/);
}
for (const value of [null, undefined, 5, true, {}, []])
  bad(
    'Fallback',
    `target ${show(value)}`,
    () => Fallback(value as never),
    /^fallback: expected a handler function or a method name/,
  );
bad('Fallback', 'an empty method name', () => Fallback(''), /^fallback: expected a method name/);

// ---------------------------------------------------------------------------------------------------------
// concurrency

for (const value of NOT_POSITIVE_INTEGERS) {
  const problem = /limit: expected an integer from 1/;
  bad(
    'ConcurrencyLimiter',
    `limit ${show(value)}`,
    () => new ConcurrencyLimiter({ limit: value as never }),
    problem,
  );
  bad('Concurrency', `limit ${show(value)}`, () => Concurrency({ limit: value as never }), problem);
  bad(
    'gatherWithLimit',
    `limit ${show(value)}`,
    () => gatherWithLimit([noop], { limit: value as never }),
    problem,
  );
  bad(
    'mapWithLimit',
    `limit ${show(value)}`,
    () => mapWithLimit([1], noop, { limit: value as never }),
    problem,
  );
  if (typeof value === 'number') {
    bad(
      'ConcurrencyLimiter',
      `new ConcurrencyLimiter(${show(value)})`,
      () => new ConcurrencyLimiter(value),
      problem,
    );
    bad('Concurrency', `@Concurrency(${show(value)})`, () => Concurrency(value), problem);
  }
}
for (const value of [-1, 1.5, NaN, -Infinity, '3', null, true])
  bad(
    'ConcurrencyLimiter',
    `maxQueue ${show(value)}`,
    () => new ConcurrencyLimiter({ limit: 1, maxQueue: value as never }),
    /maxQueue: expected an integer >= 0 \(or Infinity\)/,
  );
for (const value of NOT_DURATIONS)
  bad(
    'ConcurrencyLimiter',
    `maxWait ${show(value)}`,
    () => new ConcurrencyLimiter({ limit: 1, maxWait: value as never }),
    /maxWait: expected a duration/,
  );
bad(
  'ConcurrencyLimiter',
  'no limit',
  () => new ConcurrencyLimiter({} as never),
  /limit: expected a positive integer/,
);
bad(
  'ConcurrencyLimiter',
  'a misspelt option',
  () => new ConcurrencyLimiter({ limit: 1, maxQeue: 5 } as never),
  /maxQeue: unknown option/,
);
for (const value of NOT_OPTIONS) {
  if (typeof value !== 'number')
    bad(
      'ConcurrencyLimiter',
      `options ${show(value)}`,
      () => new ConcurrencyLimiter(value as never),
      /options:|limit:/,
    );
  bad(
    'gatherWithLimit',
    `options ${show(value)}`,
    () => gatherWithLimit([noop], value as never),
    /options:/,
  );
  bad(
    'mapWithLimit',
    `options ${show(value)}`,
    () => mapWithLimit([1], noop, value as never),
    /options:/,
  );
}
for (const value of [null, true, 10n, new Date()])
  bad(
    'Concurrency',
    `@Concurrency(${show(value)})`,
    () => Concurrency(value as never),
    /decorator argument/,
  );
bad(
  'Concurrency',
  '@Concurrency("")',
  () => Concurrency(''),
  /policy name: expected a non-empty string/,
);
{
  const limiter = () => new ConcurrencyLimiter({ limit: 1 });
  for (const value of NOT_FUNCTIONS)
    bad(
      'ConcurrencyLimiter.run',
      `fn ${show(value)}`,
      () => limiter().run(value as never),
      /^fn: expected a function/,
    );
  for (const value of NOT_SIGNALS) {
    bad(
      'ConcurrencyLimiter.run',
      `signal ${show(value)}`,
      () => limiter().run(noop, { signal: value as never }),
      /^signal: expected an AbortSignal/,
    );
    bad(
      'ConcurrencyLimiter.acquire',
      `signal ${show(value)}`,
      () => limiter().acquire({ signal: value as never }),
      /^signal: expected an AbortSignal/,
    );
    bad(
      'gatherWithLimit',
      `signal ${show(value)}`,
      () => gatherWithLimit([noop], { limit: 1, signal: value as never }),
      /signal: expected an AbortSignal/,
    );
    bad(
      'mapWithLimit',
      `signal ${show(value)}`,
      () => mapWithLimit([1], noop, { limit: 1, signal: value as never }),
      /signal: expected an AbortSignal/,
    );
  }
  for (const value of NOT_CALL_OPTIONS) {
    bad(
      'ConcurrencyLimiter.run',
      `call options ${show(value)}`,
      () => limiter().run(noop, value as never),
      /^options:/,
    );
    bad(
      'ConcurrencyLimiter.acquire',
      `call options ${show(value)}`,
      () => limiter().acquire(value as never),
      /^options:/,
    );
  }
}
for (const value of ['yes', 1, null])
  bad(
    'gatherWithLimit',
    `settle ${show(value)}`,
    () => gatherWithLimit([noop], { limit: 1, settle: value as never }),
    /settle: expected one of true, false/,
  );
for (const value of [null, undefined, 5, {}, true])
  bad(
    'gatherWithLimit',
    `tasks ${show(value)}`,
    () => gatherWithLimit(value as never, { limit: 1 }),
    /^tasks: expected an array/,
  );
for (const value of [[1], [Promise.resolve(1)], [noop, 'x'], 'abc', new Set([null])])
  bad(
    'gatherWithLimit',
    `tasks ${show(value)}`,
    () => gatherWithLimit(value as never, { limit: 1 }),
    /^tasks\[\d\]: expected a function/,
  );
for (const value of [null, undefined, 5, {}, true])
  bad(
    'mapWithLimit',
    `source ${show(value)}`,
    () => mapWithLimit(value as never, noop, { limit: 1 }),
    /^source: expected an array/,
  );
for (const value of NOT_FUNCTIONS)
  bad(
    'mapWithLimit',
    `fn ${show(value)}`,
    () => mapWithLimit([1], value as never, { limit: 1 }),
    /^fn: expected a function/,
  );

// ---------------------------------------------------------------------------------------------------------
// bridge (nothing here may start a worker: every case fails before one is needed)

const NOT_TARGETS: readonly unknown[] = [
  null,
  undefined,
  5,
  'Math.max',
  {},
  [],
  { module: '' },
  { module: 5 },
  { module: './relative.js' },
  { module: '../up.js' },
  { module: 'pkg', export: '' },
  { module: 'pkg', export: 5 },
  { module: 'pkg', exprot: 'heavy' },
];
const TARGET_PROBLEM = /^fn(\.module|\.export)?: expected|^fn\.exprot: unknown option/;
// Targets that throw when they are read: a ConfigError naming what failed, never their own error.
const UNREADABLE_TARGETS: [string, () => unknown, RegExp][] = [
  [
    'an export getter that throws',
    () => withThrowingGetter({ module: 'pkg' }, 'export'),
    /^fn\.export: could not be read/,
  ],
  [
    'a module getter that throws',
    () => withThrowingGetter({}, 'module'),
    /^fn\.module: could not be read/,
  ],
  [
    'a revoked Proxy of a URL as the module',
    () => {
      const { proxy, revoke } = Proxy.revocable(new URL('file:///m.js'), {});
      revoke();
      return { module: proxy };
    },
    /^fn\.module: expected a URL/,
  ],
  [
    'a Proxy of a URL as the module',
    () => ({ module: new Proxy(new URL('file:///m.js'), {}) }),
    /^fn\.module: expected a URL/,
  ],
  [
    'a function whose name getter throws',
    () =>
      Object.defineProperty(() => 1, 'name', {
        get() {
          throw new Error('name refused');
        },
      }),
    /^fn: expected a self-contained function/,
  ],
  [
    'a revoked Proxy of a function',
    () => {
      const { proxy, revoke } = Proxy.revocable(() => 1, {});
      revoke();
      return proxy;
    },
    /^fn: expected a self-contained function/,
  ],
];
for (const [label, make, problem] of UNREADABLE_TARGETS) {
  bad('syncToAsync', `fn ${label}`, () => syncToAsync(make() as never), problem);
  bad('asyncToSync', `fn ${label}`, () => asyncToSync(make() as never), problem);
  bad('runAsync', `fn ${label}`, () => runAsync(make() as never), problem);
  bad('runInExecutor', `fn ${label}`, () => runInExecutor(make() as never), problem);
}
for (const value of NOT_TARGETS) {
  bad('syncToAsync', `fn ${show(value)}`, () => syncToAsync(value as never), TARGET_PROBLEM);
  bad('asyncToSync', `fn ${show(value)}`, () => asyncToSync(value as never), TARGET_PROBLEM);
  bad('runAsync', `fn ${show(value)}`, () => runAsync(value as never), TARGET_PROBLEM);
  bad('runInExecutor', `fn ${show(value)}`, () => runInExecutor(value as never), TARGET_PROBLEM);
  bad(
    'WorkerPool.run',
    `fn ${show(value)}`,
    () => new WorkerPool({ size: 1 }).run(value as never),
    TARGET_PROBLEM,
  );
}
for (const value of [...NOT_DURATIONS, 0, '0ms']) {
  bad(
    'syncToAsync',
    `timeout ${show(value)}`,
    () => syncToAsync((n: number) => n, { timeout: value as never }),
    /^timeout: expected a duration/,
  );
  bad(
    'asyncToSync',
    `timeout ${show(value)}`,
    () => asyncToSync((n: number) => n, { timeout: value as never }),
    /^timeout: expected a duration/,
  );
}
for (const value of [null, {}, 5, new ConcurrencyLimiter(1)])
  bad(
    'syncToAsync',
    `pool ${show(value)}`,
    () => syncToAsync((n: number) => n, { pool: value as never }),
    /^pool: expected a WorkerPool/,
  );
for (const value of NOT_OPTIONS) {
  bad(
    'syncToAsync',
    `options ${show(value)}`,
    () => syncToAsync((n: number) => n, value as never),
    /^options:/,
  );
  bad(
    'asyncToSync',
    `options ${show(value)}`,
    () => asyncToSync((n: number) => n, value as never),
    /^options:/,
  );
  bad('WorkerPool', `options ${show(value)}`, () => new WorkerPool(value as never), /^options:/);
}
bad(
  'syncToAsync',
  'a misspelt option',
  () => syncToAsync((n: number) => n, { timout: 1 } as never),
  /^timout: unknown option/,
);
for (const value of [0, -1, 1.5, NaN, Infinity, 1025, '2', null])
  bad(
    'WorkerPool',
    `size ${show(value)}`,
    () => new WorkerPool({ size: value as never }),
    /^size: expected an integer from 1 to 1024/,
  );
for (const value of [
  5,
  'x',
  null,
  [],
  { maxOldGenerationSizeMb: 'x' },
  { maxOldGenerationSizeMb: -1 },
  { maxOldGenerationSizeMb: NaN },
  { maxOldGenerationSizeMb: 1e300 },
  { stackSizeMb: 1e-9 },
  { stackSizeMb: 1e300 },
  { heapMb: 10 },
])
  bad(
    'WorkerPool',
    `resourceLimits ${show(value)}`,
    () => new WorkerPool({ resourceLimits: value as never }),
    /^resourceLimits/,
  );

// ---------------------------------------------------------------------------------------------------------
// decorators: factories fed what is not a policy, and applied to what is not a method or a class

const factories: [string, (arg: unknown) => unknown, string][] = [
  ['Retry', (arg) => Retry(arg as never), 'RetryPolicy'],
  ['Hedge', (arg) => Hedge(arg as never), 'HedgePolicy'],
  ['CircuitBreaker', (arg) => CircuitBreaker(arg as never), 'CircuitBreaker'],
  ['RateLimited', (arg) => RateLimited(arg as never), 'RateLimiter'],
  ['Concurrency', (arg) => Concurrency(arg as never), 'ConcurrencyLimiter'],
  ['Timeout', (arg) => Timeout(arg as never), 'Timeout'],
];
for (const [name, factory, engine] of factories) {
  for (const value of [null, true, 10n, [], new Date(), Object.create({}), () => 1])
    bad(
      name,
      `argument ${show(value)}`,
      () => factory(value),
      new RegExp(`decorator argument: expected options, a registry name or a ${engine}`),
    );
  bad(
    name,
    'an empty registry name',
    () => factory(''),
    /^policy name: expected a non-empty string/,
  );
  bad(
    name,
    'an engine of another kind',
    () => factory(new FallbackPolicy(() => 1)),
    /decorator argument/,
  );
  bad(
    name,
    'prototype keys in inline options',
    () => factory(JSON.parse('{"__proto__":{"limit":1}}')),
    /__proto__: unknown option/,
  );
}
{
  const decorators: [string, () => (...args: unknown[]) => unknown][] = [
    ['Retry', () => Retry()],
    ['CircuitBreaker', () => CircuitBreaker()],
    ['RateLimited', () => RateLimited({ rate: 1 })],
    ['Concurrency', () => Concurrency(1)],
    ['Timeout', () => Timeout('1s')],
    ['Fallback', () => Fallback(() => 1)],
    ['Resilient', () => Resilient({ order: ['retry'] })],
  ];
  for (const [name, make] of decorators) {
    bad(name, 'applied to a number', () => make()(42), /apply to methods and classes only/);
    bad(name, 'applied to a plain object', () => make()({}), /apply to methods and classes only/);
    bad(
      name,
      'applied to a getter (legacy)',
      () => make()({}, 'value', { get: () => 1, configurable: true }),
      /value: dspu decorators apply to methods, not accessors or fields/,
    );
    bad(
      name,
      'applied to a field (TC39)',
      () => make()(undefined, { kind: 'field', name: 'count', metadata: {} }),
      /count: dspu decorators apply to methods and classes only/,
    );
    bad(
      name,
      'applied to a getter (TC39)',
      () => make()(() => 1, { kind: 'getter', name: 'size', metadata: {} }),
      /size: dspu decorators apply to methods and classes only/,
    );
  }
}
for (const value of [
  undefined,
  null,
  5,
  {},
  { order: 'retry' },
  { order: ['retry', 'retry'] },
  { order: ['retries'] },
  { order: [null] },
])
  bad('Resilient', `options ${show(value)}`, () => Resilient(value as never), /^order: expected/);
for (const value of [null, undefined, 5, 'Svc', {}, () => 1])
  bad(
    'getResiliencePolicies',
    `Class ${show(value)}`,
    () => getResiliencePolicies(value as never, 'm'),
    /^Class: expected a class/,
  );
for (const value of [null, undefined, 5, {}])
  bad(
    'getResiliencePolicies',
    `method ${show(value)}`,
    () => getResiliencePolicies(class {}, value as never),
    /^method: expected a method name/,
  );
for (const value of [null, undefined])
  bad(
    'prepareInstance',
    `instance ${show(value)}`,
    () => prepareInstance(value as never),
    /^instance: expected an object/,
  );
{
  const revokedObject = Proxy.revocable({}, {});
  revokedObject.revoke();
  const trapping = new Proxy(
    {},
    {
      getPrototypeOf() {
        throw new Error('trap');
      },
    },
  );
  for (const [label, instance] of [
    ['a revoked Proxy', revokedObject.proxy],
    ['a Proxy whose getPrototypeOf trap throws', trapping],
  ] as const)
    bad(
      'prepareInstance',
      `instance ${label}`,
      () => prepareInstance(instance),
      /^instance: could not be read/,
    );
  const revokedClass = Proxy.revocable(class {}, {});
  revokedClass.revoke();
  bad(
    'getResiliencePolicies',
    'Class a revoked Proxy of a class',
    () => getResiliencePolicies(revokedClass.proxy, 'm'),
    /^Class: could not be read/,
  );
}

// ---------------------------------------------------------------------------------------------------------
// registry: configure (through the default registry too: a failed configure changes nothing)

/** Each bad registry config fails alike when given to `new ResilienceRegistry` and to `configure`. */
function badConfigs(cases: readonly (readonly [string, unknown, RegExp])[]): void {
  for (const [label, config, problem] of cases) {
    bad(
      'ResilienceRegistry',
      `new, ${label}`,
      () => new ResilienceRegistry(config as never),
      problem,
    );
    bad('registry', `configure, ${label}`, () => registry.configure(config as never), problem);
  }
}

const configCases: [string, unknown, RegExp][] = [
  ['null', null, /^config: expected an object/],
  ['a string', 'retry', /^config: expected an object/],
  ['an array', [], /^config: expected an object/],
  ['a Map', new Map([['retry', {}]]), /^config: expected an object/],
  ['an unknown kind', { retries: {} }, /^retries: unknown policy kind/],
  ['a fallback kind (inline only)', { fallback: { x: {} } }, /^fallback: unknown policy kind/],
  ['entries that are not an object', { retry: 5 }, /^retry: expected an object of named entries/],
  ['entries that are an array', { retry: [] }, /^retry: expected an object of named entries/],
  [
    'an entry that is not an object',
    { retry: { payments: 5 } },
    /^retry\.payments\.options: expected an options object/,
  ],
  [
    'a bad count',
    { retry: { payments: { maxAttempts: 0 } } },
    /^retry\.payments\.maxAttempts: expected an integer/,
  ],
  [
    'a bad default',
    { retry: { defaults: { maxAttempts: NaN } } },
    /^retry\.defaults\.maxAttempts: expected an integer/,
  ],
  [
    'a misspelt option',
    { retry: { payments: { maxAtempts: 3 } } },
    /^retry\.payments\.maxAtempts: unknown option/,
  ],
  [
    'a bare number string as timeout',
    { timeout: { slow: '30' } },
    /^timeout\.slow: expected a duration \(.*\), got "30"/,
  ],
  [
    'a spaced duration string',
    { circuitBreaker: { payments: { timeout: '30 s' } } },
    /^circuitBreaker\.payments\.timeout: expected a duration/,
  ],
  [
    'a duration past the timer limit',
    { timeout: { slow: MAX_TIMER + 1 } },
    /^timeout\.slow: expected a duration between 0 and 2147483647 ms/,
  ],
  [
    'an hours string past the timer limit',
    { rateLimiter: { github: { rate: 5000, per: '597h' } } },
    /^rateLimiter\.github\.per: expected a duration of at most 2147483647 ms/,
  ],
  ['NaN', { concurrency: { db: { limit: NaN } } }, /^concurrency\.db\.limit: expected an integer/],
  [
    'Infinity',
    { rateLimiter: { github: { rate: Infinity } } },
    /^rateLimiter\.github\.rate: expected a finite number/,
  ],
  [
    'a negative',
    { circuitBreaker: { payments: { failureThreshold: -5 } } },
    /^circuitBreaker\.payments\.failureThreshold: expected an integer/,
  ],
  [
    'a wrong type',
    { concurrency: { db: { limit: '10' } } },
    /^concurrency\.db\.limit: expected an integer/,
  ],
  ['a timeout entry of null', { timeout: { slow: null } }, /^timeout\.slow: expected a duration/],
  [
    'an order that is not an array',
    { order: 'retry' },
    /^order: expected an array of policy kinds/,
  ],
  ['an unknown kind in the order', { order: ['retry', 'cache'] }, /^order: expected policy kinds/],
  [
    'a kind twice in the order',
    { order: ['retry', 'timeout', 'retry'] },
    /^order: expected each kind once/,
  ],
  // Prototype tricks, as JSON.parse delivers them (an own "__proto__" key) and as plain keys.
  [
    '"__proto__" as a kind',
    JSON.parse('{"__proto__":{"retry":{"x":{}}}}'),
    /^__proto__: unknown policy kind/,
  ],
  [
    '"constructor" as a kind',
    JSON.parse('{"constructor":{"prototype":{"polluted":1}}}'),
    /^constructor: unknown policy kind/,
  ],
  [
    '"__proto__" as a name',
    JSON.parse('{"retry":{"__proto__":{"maxAttempts":1}}}'),
    /^retry\.__proto__: this name is not allowed/,
  ],
  [
    '"constructor" as a name',
    JSON.parse('{"retry":{"constructor":{"maxAttempts":1}}}'),
    /^retry\.constructor: this name is not allowed/,
  ],
  [
    '"prototype" as a name',
    JSON.parse('{"timeout":{"prototype":"1s"}}'),
    /^timeout\.prototype: this name is not allowed/,
  ],
  [
    '"__proto__" inside an entry',
    JSON.parse('{"retry":{"payments":{"__proto__":{"maxAttempts":1}}}}'),
    /^retry\.payments\.__proto__: unknown option/,
  ],
  [
    '"__proto__" inside the defaults',
    JSON.parse('{"retry":{"defaults":{"__proto__":{"maxAttempts":1}}}}'),
    /^retry\.defaults\.__proto__: unknown option/,
  ],
  [
    '"constructor" inside an entry',
    JSON.parse('{"concurrency":{"db":{"limit":1,"constructor":{"prototype":{"limit":1}}}}}'),
    /^concurrency\.db\.constructor: unknown option/,
  ],
  [
    '"__proto__" inside a timeout entry',
    JSON.parse('{"timeout":{"slow":{"__proto__":{"timeout":"1s"}}}}'),
    /timeout\.slow\.__proto__: unknown option/,
  ],
  [
    '"__proto__" inside a saved breaker state',
    JSON.parse(
      '{"circuitBreaker":{"p":{"initialState":{"__proto__":{"state":"open","openedAt":0}}}}}',
    ),
    /^circuitBreaker\.p\.initialState: expected a CircuitState/,
  ],
  [
    'an entry inheriting its options',
    { retry: { payments: Object.create({ maxAttempts: 1 }) } },
    /^retry\.payments\.options: expected an options object/,
  ],
];
badConfigs(configCases);
{
  const policies = new ResilienceRegistry({ retry: { payments: {} } });
  bad(
    'ResilienceRegistry',
    'an unknown name',
    () => policies.retry('payment'),
    /^retry "payment" is not configured; known: payments/,
  );
  bad(
    'ResilienceRegistry',
    'the defaults by name',
    () => policies.retry('defaults'),
    /^retry "defaults" is not configured/,
  );
  bad(
    'ResilienceRegistry',
    'a name that is not a string',
    () => policies.circuitBreaker(5 as never),
    /^circuitBreaker 5 is not configured/,
  );
  for (const value of NOT_FUNCTIONS)
    bad(
      'ResilienceRegistry',
      `on() with listener ${show(value)}`,
      () => policies.on('stateChange', value as never),
      /^listener: expected a function/,
    );
  for (const value of [null, undefined, 5, 'svc'])
    bad(
      'bindRegistry',
      `instance ${show(value)}`,
      () => bindRegistry(value as never, policies),
      /^instance: expected an object or a class/,
    );
  for (const value of [null, undefined, {}, registry.configure, 'registry'])
    bad(
      'bindRegistry',
      `registry ${show(value)}`,
      () => bindRegistry({}, value as never),
      /^registry: expected a ResilienceRegistry/,
    );
  for (const { label, value } of HOSTILE_VALUES)
    bad(
      'bindRegistry',
      `registry ${label}`,
      () => bindRegistry({}, value as never),
      /^registry: expected a ResilienceRegistry/,
    );
  for (const { label, value } of [
    // (a Proxy that only refuses to list its keys takes the binding)
    ...UNREADABLE_OBJECTS.filter(({ label }) => !label.includes('ownKeys')),
    { label: 'a frozen object', value: Object.freeze({}) },
    ...HOSTILE_FUNCTIONS.filter(({ label }) => /Proxy/.test(label)),
  ])
    bad(
      'bindRegistry',
      `instance ${label}`,
      () => bindRegistry(value as never, policies),
      /^instance: expected an object or a class/,
    );
}

// ---------------------------------------------------------------------------------------------------------
// hostile values at every option site: revoked and trapping Proxies, getters that throw, BigInt and symbols as
// option values; the options object itself unreadable or with a getter that throws. Each answers with a
// ConfigError naming the option, never a TypeError from inside the validation.

interface OptionSite {
  readonly entry: string;
  readonly label: string;
  /** Calls the entry with `options` where its options object goes. */
  readonly call: (options: unknown) => unknown;
  /** Options that are valid, over which one option at a time is made hostile. */
  readonly valid: Record<string, unknown>;
  /** Each option, and the problem a wrong value of it must be reported as. */
  readonly options: readonly (readonly [string, RegExp])[];
  /** The problem for an options object that cannot be read at all. */
  readonly unreadable: RegExp;
}

const SIGNAL_PROBLEM = /signal: expected an AbortSignal/;
const DURATION_PROBLEM = (option: string) => new RegExp(`${option}: expected a duration`);
const byOption = (cases: [string, readonly unknown[], RegExp][]) =>
  cases.map(([option, , problem]) => [option, problem] as const);

const optionSites: OptionSite[] = [
  ...(
    [
      ['RetryPolicy', (o: unknown) => new RetryPolicy(o as never)],
      ['retry', (o: unknown) => retry(noop, o as never)],
      ['Retry', (o: unknown) => Retry(o as never)],
    ] as const
  ).map(([entry, call]) => ({
    entry,
    label: entry,
    call,
    valid: {},
    options: byOption(retryOptionCases),
    unreadable: /options: |decorator argument/,
  })),
  ...(
    [
      ['RateLimiter', (o: unknown) => new RateLimiter(o as never)],
      ['RateLimited', (o: unknown) => RateLimited(o as never)],
    ] as const
  ).map(([entry, call]) => ({
    entry,
    label: entry,
    call,
    valid: { rate: 10 },
    options: [
      ['rate', /rate: expected a finite number greater than 0/] as const,
      ...byOption(limiterOptionCases).filter(([option]) => option !== 'rate'),
    ],
    unreadable: /options: |decorator argument/,
  })),
  ...(
    [
      ['CircuitBreaker', 'new CircuitBreaker', (o: unknown) => new CircuitBreaker(o as never)],
      ['CircuitBreaker', '@CircuitBreaker', (o: unknown) => CircuitBreaker(o as never)],
    ] as const
  ).map(([entry, label, call]) => ({
    entry,
    label,
    call,
    valid: {},
    options: byOption(breakerOptionCases),
    unreadable: /options: |decorator argument/,
  })),
  {
    entry: 'Timeout',
    label: 'new Timeout',
    call: (o) => new Timeout(o as never),
    valid: { timeout: '1s' },
    options: [['timeout', DURATION_PROBLEM('timeout')]],
    unreadable: /options: |timeout: expected a duration/,
  },
  ...(
    [
      ['ConcurrencyLimiter', (o: unknown) => new ConcurrencyLimiter(o as never)],
      ['Concurrency', (o: unknown) => Concurrency(o as never)],
    ] as const
  ).map(([entry, call]) => ({
    entry,
    label: entry,
    call,
    valid: { limit: 1 },
    options: [
      ['limit', /limit: expected an integer from 1/] as const,
      ['maxQueue', /maxQueue: expected an integer >= 0/] as const,
      ['maxWait', DURATION_PROBLEM('maxWait')] as const,
    ],
    unreadable: /options: |limit: |decorator argument/,
  })),
  {
    entry: 'gatherWithLimit',
    label: 'gatherWithLimit',
    call: (o) => gatherWithLimit([noop], o as never),
    valid: { limit: 1 },
    options: [
      ['limit', /limit: expected an integer from 1/],
      ['signal', SIGNAL_PROBLEM],
      ['settle', /settle: expected one of true, false/],
    ],
    unreadable: /options: /,
  },
  {
    entry: 'mapWithLimit',
    label: 'mapWithLimit',
    call: (o) => mapWithLimit([1], noop, o as never),
    valid: { limit: 1 },
    options: [
      ['limit', /limit: expected an integer from 1/],
      ['signal', SIGNAL_PROBLEM],
    ],
    unreadable: /options: /,
  },
  ...(
    [
      ['fallback', (o: unknown) => fallback(noop, () => 1, o as never)],
      ['FallbackPolicy', (o: unknown) => new FallbackPolicy(() => 1, o as never)],
      ['Fallback', (o: unknown) => Fallback(() => 1, o as never)],
    ] as const
  ).map(([entry, call]) => ({
    entry,
    label: entry,
    call,
    valid: {},
    options: [['exceptions', /exceptions: expected an array of error classes/] as const],
    unreadable: /options: /,
  })),
  {
    entry: 'syncToAsync',
    label: 'syncToAsync',
    call: (o) => syncToAsync((n: number) => n, o as never),
    valid: {},
    options: [
      ['pool', /pool: expected a WorkerPool/],
      ['timeout', DURATION_PROBLEM('timeout')],
    ],
    unreadable: /options: /,
  },
  {
    entry: 'asyncToSync',
    label: 'asyncToSync',
    call: (o) => asyncToSync((n: number) => n, o as never),
    valid: {},
    options: [['timeout', DURATION_PROBLEM('timeout')]],
    unreadable: /options: /,
  },
  {
    entry: 'WorkerPool',
    label: 'new WorkerPool',
    call: (o) => new WorkerPool(o as never),
    valid: { size: 1 },
    options: [
      ['size', /size: expected an integer from 1 to 1024/],
      ['resourceLimits', /resourceLimits/],
    ],
    unreadable: /options: /,
  },
  {
    entry: 'WorkerPool',
    label: 'new WorkerPool, resourceLimits',
    call: (o) => new WorkerPool({ resourceLimits: o as never }),
    valid: {},
    options: [['maxOldGenerationSizeMb', /resourceLimits\.maxOldGenerationSizeMb: expected/]],
    unreadable: /resourceLimits/,
  },
  {
    entry: 'drainShielded',
    label: 'drainShielded',
    call: (o) => drainShielded(o as never),
    valid: {},
    options: [['timeout', DURATION_PROBLEM('timeout')]],
    unreadable: /options: /,
  },
  {
    entry: 'Resilient',
    label: '@Resilient',
    call: (o) => Resilient(o as never),
    valid: { order: ['retry'] },
    options: [['order', /order: (expected|could not be read)/]],
    unreadable: /options: |order: (expected|could not be read)/,
  },
  // Per-call options.
  {
    entry: 'RetryPolicy.execute',
    label: 'RetryPolicy.execute',
    call: (o) => new RetryPolicy().execute(noop, o as never),
    valid: {},
    options: [['signal', SIGNAL_PROBLEM]],
    unreadable: /^options: /,
  },
  {
    entry: 'RateLimiter.run',
    label: 'RateLimiter.run',
    call: (o) => new RateLimiter({ rate: 10 }).run(noop, o as never),
    valid: {},
    options: [
      ['tokens', /tokens: expected a number greater than 0/],
      ['maxWait', DURATION_PROBLEM('maxWait')],
      ['signal', SIGNAL_PROBLEM],
    ],
    unreadable: /^options: /,
  },
  {
    entry: 'RateLimiter.acquire',
    label: 'RateLimiter.acquire',
    call: (o) => new RateLimiter({ rate: 10 }).acquire(1, o as never),
    valid: {},
    options: [
      ['maxWait', DURATION_PROBLEM('maxWait')],
      ['signal', SIGNAL_PROBLEM],
    ],
    unreadable: /^options: /,
  },
  {
    entry: 'RateLimited',
    label: '@RateLimited call options',
    call: (o) => RateLimited({ rate: 10 }, o as never),
    valid: {},
    options: [
      ['tokens', /tokens: expected a number greater than 0/],
      ['maxWait', DURATION_PROBLEM('maxWait')],
    ],
    unreadable: /options: /,
  },
  ...(
    [
      ['ConcurrencyLimiter.run', (o: unknown) => new ConcurrencyLimiter(1).run(noop, o as never)],
      ['ConcurrencyLimiter.acquire', (o: unknown) => new ConcurrencyLimiter(1).acquire(o as never)],
      ['Timeout.run', (o: unknown) => new Timeout('1s').run(noop, o as never)],
      ['runWithTimeout', (o: unknown) => runWithTimeout(noop, '1s', o as never)],
    ] as const
  ).map(([entry, call]) => ({
    entry,
    label: entry,
    call,
    valid: {},
    options: [['signal', SIGNAL_PROBLEM] as const],
    unreadable: /^options: /,
  })),
];

for (const site of optionSites) {
  for (const [option, problem] of site.options) {
    for (const { label, value } of HOSTILE_VALUES)
      bad(
        site.entry,
        `${site.label}: ${option} ${label}`,
        () => site.call({ ...site.valid, [option]: value }),
        problem,
      );
    bad(
      site.entry,
      `${site.label}: ${option} with a getter that throws`,
      () => site.call(withThrowingGetter(site.valid, option)),
      new RegExp(`${option}: could not be read \\(Error: ${option} refused\\)`),
    );
  }
  for (const { label, value } of UNREADABLE_OBJECTS)
    bad(site.entry, `${site.label}: options ${label}`, () => site.call(value), site.unreadable);
}

// Single values where a duration, a token count or a decorator argument goes.
for (const { label, value } of HOSTILE_VALUES) {
  bad('toMs', label, () => toMs(value, 'opt'), /^opt: expected a duration/);
  bad('Timeout', `new Timeout(${label})`, () => new Timeout(value as never), /timeout: expected/);
  bad(
    'runWithTimeout',
    `timeout ${label}`,
    () => runWithTimeout(noop, value as never),
    /^timeout: expected a duration/,
  );
  bad(
    'RateLimiter.acquire',
    `tokens ${label}`,
    () => new RateLimiter({ rate: 10 }).acquire(value as never),
    /^tokens: expected a number/,
  );
  bad(
    'RateLimiter.tryAcquire',
    `tokens ${label}`,
    () => new RateLimiter({ rate: 10 }).tryAcquire(value as never),
    /^tokens: expected a number/,
  );
  for (const [name, factory, engine] of factories)
    bad(
      name,
      `decorator argument ${label}`,
      () => factory(value),
      // (an object with an odd key is options with an unknown option)
      new RegExp(
        `decorator argument: expected options, a registry name or a ${engine}|timeout:|unknown option|could not be read`,
      ),
    );
  bad('Fallback', `target ${label}`, () => Fallback(value as never), /^fallback: expected/);
  bad(
    'ConcurrencyLimiter',
    `new ConcurrencyLimiter(${label})`,
    () => new ConcurrencyLimiter(value as never),
    /options: |limit: /,
  );
}

// registry.configure: the whole config, a kind's entries, an entry, and one option of an entry.
{
  const configure = (config: unknown) => new ResilienceRegistry(config as never);
  const places: [string, (value: unknown) => unknown, RegExp][] = [
    ['the config', (value) => value, /^config: |could not be read|unknown policy kind/],
    ['the retry entries', (value) => ({ retry: value }), /^retry[:.]/],
    ['a retry entry', (value) => ({ retry: { payments: value } }), /^retry\.payments/],
    ['a timeout entry', (value) => ({ timeout: { slow: value } }), /timeout\.slow/],
    [
      'a retry option',
      (value) => ({ retry: { payments: { maxAttempts: value } } }),
      /^retry\.payments\.maxAttempts: expected/,
    ],
    [
      'a limiter option',
      (value) => ({ rateLimiter: { github: { rate: 10, per: value } } }),
      /^rateLimiter\.github\.per: expected a duration/,
    ],
    [
      'a breaker option',
      (value) => ({ circuitBreaker: { payments: { initialState: value } } }),
      /^circuitBreaker\.payments\.initialState: (expected|could not be read)/,
    ],
    ['the order', (value) => ({ order: value }), /^order: expected/],
  ];
  for (const [place, wrap, problem] of places) {
    for (const { label, value } of [...HOSTILE_VALUES, ...UNREADABLE_OBJECTS]) {
      bad('ResilienceRegistry', `new, ${place} ${label}`, () => configure(wrap(value)), problem);
      bad(
        'registry',
        `configure, ${place} ${label}`,
        () => registry.configure(wrap(value) as never),
        problem,
      );
    }
  }
  bad(
    'ResilienceRegistry',
    'an entry option whose getter throws',
    () => configure({ retry: { payments: withThrowingGetter({}, 'maxAttempts') } }),
    /^retry\.payments\.maxAttempts: could not be read/,
  );
  bad(
    'ResilienceRegistry',
    'a kind whose getter throws',
    () => configure(withThrowingGetter({}, 'retry')),
    /^retry: could not be read/,
  );
}

// ---------------------------------------------------------------------------------------------------------
// overload control: retry budgets and adaptive concurrency

/** What an options object that throws when read is reported as: the option (or the object) that failed. */
const UNREADABLE_PROBLEM =
  /^(?:[\w.]+: could not be read|\w+: expected (?:an|adaptive limiter) options)/;

/** Objects that throw when read: every options site must answer them with a ConfigError, never their error. */
const UNREADABLE_OPTIONS: [string, () => unknown][] = [
  [
    'a Proxy whose get trap throws',
    () =>
      new Proxy(
        { ratio: 1 },
        {
          get() {
            throw new Error('trap');
          },
        },
      ),
  ],
  [
    'a Proxy whose ownKeys trap throws',
    () =>
      new Proxy(
        {},
        {
          ownKeys() {
            throw new Error('trap');
          },
        },
      ),
  ],
  [
    'an object with a throwing getter',
    () => ({
      get window() {
        throw new Error('getter');
      },
    }),
  ],
  [
    'a revoked Proxy',
    () => {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      return proxy;
    },
  ],
];
const NOT_RATIOS: readonly unknown[] = [
  -1,
  -0.1,
  NaN,
  Infinity,
  -Infinity,
  '0.2',
  1n,
  Symbol('0.2'),
  null,
  true,
  {},
];

const budgetOptionCases: [string, readonly unknown[], RegExp][] = [
  ['ratio', NOT_RATIOS, /^ratio: expected a finite number >= 0/],
  ['minPerSecond', NOT_RATIOS, /^minPerSecond: expected a finite number >= 0/],
  ['window', [0, ...NOT_DURATIONS], /^window: expected a duration/],
  [
    'store',
    [null, 'redis', 5, {}, { deposit() {}, withdraw() {} }],
    /^store: expected a RetryBudgetStore/,
  ],
];
for (const [option, values, problem] of budgetOptionCases)
  for (const value of values)
    bad(
      'RetryBudget',
      `${option} ${show(value)}`,
      () => new RetryBudget({ [option]: value }),
      problem,
    );
for (const value of NOT_OPTIONS)
  bad('RetryBudget', `options ${show(value)}`, () => new RetryBudget(value as never), /^options:/);
bad(
  'RetryBudget',
  'a misspelt option',
  () => new RetryBudget({ ratoi: 1 } as never),
  /^ratoi: unknown option/,
);
for (const [label, make] of UNREADABLE_OPTIONS) {
  bad('RetryBudget', label, () => new RetryBudget(make() as never), UNREADABLE_PROBLEM);
  bad(
    'AdaptiveConcurrencyLimiter',
    label,
    () => new AdaptiveConcurrencyLimiter(make() as never),
    UNREADABLE_PROBLEM,
  );
  bad('RetryPolicy', label, () => new RetryPolicy(make() as never), UNREADABLE_PROBLEM);
  bad(
    'Concurrency',
    `adaptive: ${label}`,
    () => Concurrency({ adaptive: make() as never }),
    UNREADABLE_PROBLEM,
  );
  bad(
    'ResilienceRegistry',
    `retryBudget entry: ${label}`,
    () => new ResilienceRegistry({ retryBudget: { upstream: make() as never } }),
    /^retryBudget\.upstream(?:\.\w+)?: (?:could not be read|expected an options object)/,
  );
}

for (const value of [5, {}, [], null, true, NaN, 1n, Symbol('budget'), new Map(), () => 1])
  for (const [entry, call] of [
    ['RetryPolicy', () => new RetryPolicy({ budget: value as never })],
    ['retry', () => retry(noop, { budget: value as never })],
    ['Retry', () => Retry({ budget: value as never })],
  ] as const)
    bad(
      entry,
      `budget ${show(value)}`,
      call,
      /^budget: expected a RetryBudget or the name of a registry's retryBudget entry/,
    );
for (const value of ['upstream', ''])
  for (const [entry, call] of [
    ['RetryPolicy', () => new RetryPolicy({ budget: value })],
    ['retry', () => retry(noop, { budget: value })],
  ] as const)
    bad(
      entry,
      `budget name ${show(value)} outside a registry`,
      call,
      /^budget: expected a RetryBudget \(a budget name resolves only through a registry/,
    );
bad(
  'Retry',
  'an empty budget name',
  () => Retry({ budget: '' }),
  /^budget: expected a RetryBudget \(a budget name resolves only through a registry/,
);

const NOT_LIMITS: readonly unknown[] = [
  0,
  -1,
  1.5,
  NaN,
  Infinity,
  2 ** 53,
  '10',
  1n,
  Symbol('10'),
  null,
  true,
];
const adaptiveOptionCases: [string, readonly unknown[], RegExp, Record<string, unknown>?][] = [
  [
    'algorithm',
    ['Gradient', 'tcp', 1, null, 1n, Symbol('aimd')],
    /^algorithm: expected one of "gradient", "aimd", "vegas"/,
  ],
  ['initialLimit', NOT_LIMITS, /^initialLimit: expected an integer from 1/],
  ['minLimit', NOT_LIMITS, /^minLimit: expected an integer from 1/],
  ['maxLimit', NOT_LIMITS, /^maxLimit: expected an integer from 1/],
  ['maxQueue', [-1, 1.5, NaN, '3', 1n, null], /^maxQueue: expected an integer >= 0/],
  ['maxWait', NOT_DURATIONS, /^maxWait: expected a duration/],
  [
    'latencyThreshold',
    [0, ...NOT_DURATIONS],
    /^latencyThreshold: expected a duration/,
    { algorithm: 'aimd' },
  ],
  [
    'backoffRatio',
    [0, 1, 1.5, -0.5, NaN, Infinity, '0.9', 1n, null],
    /^backoffRatio: expected a (number between 0 and 1|finite number >= 0)/,
    { algorithm: 'aimd' },
  ],
  [
    'smoothing',
    [0, 1.5, -0.5, NaN, Infinity, '0.2', 1n, null],
    /^smoothing: expected a (number in \(0, 1\]|finite number >= 0)/,
  ],
  ['probeInterval', [0, ...NOT_DURATIONS], /^probeInterval: expected a duration/],
  ['exceptions', NOT_ERROR_CLASSES, /^exceptions: expected an array of error classes/],
];
for (const [option, values, problem, extra] of adaptiveOptionCases)
  for (const value of values) {
    const options = { ...extra, [option]: value };
    bad(
      'AdaptiveConcurrencyLimiter',
      `${option} ${show(value)}`,
      () => new AdaptiveConcurrencyLimiter(options),
      problem,
    );
    bad(
      'Concurrency',
      `adaptive ${option} ${show(value)}`,
      () => Concurrency({ adaptive: options }),
      problem,
    );
  }
for (const [option, value, algorithm] of [
  ['latencyThreshold', '1s', 'gradient'],
  ['backoffRatio', 0.5, 'vegas'],
  ['smoothing', 0.5, 'aimd'],
  ['probeInterval', '10s', 'aimd'],
] as const)
  bad(
    'AdaptiveConcurrencyLimiter',
    `${option} with algorithm ${algorithm}`,
    () => new AdaptiveConcurrencyLimiter({ algorithm, [option]: value }),
    new RegExp(`^${option}: expected no ${option} for algorithm '${algorithm}'`),
  );
bad(
  'AdaptiveConcurrencyLimiter',
  'maxLimit below minLimit',
  () => new AdaptiveConcurrencyLimiter({ minLimit: 10, maxLimit: 5 }),
  /^maxLimit: expected at least minLimit \(10\)/,
);
bad(
  'AdaptiveConcurrencyLimiter',
  'initialLimit above maxLimit',
  () => new AdaptiveConcurrencyLimiter({ maxLimit: 5, initialLimit: 6 }),
  /^initialLimit: expected an integer from minLimit \(1\) to maxLimit \(5\)/,
);
bad(
  'AdaptiveConcurrencyLimiter',
  'a fixed limit',
  () => new AdaptiveConcurrencyLimiter({ limit: 5 } as never),
  /^limit: unknown option/,
);
for (const value of NOT_OPTIONS) {
  bad(
    'AdaptiveConcurrencyLimiter',
    `options ${show(value)}`,
    () => new AdaptiveConcurrencyLimiter(value as never),
    /^options:/,
  );
  bad(
    'Concurrency',
    `adaptive ${show(value)}`,
    () => Concurrency({ adaptive: value as never }),
    /^(adaptive: expected adaptive limiter options|options:)/,
  );
}
bad(
  'Concurrency',
  'a fixed limit beside adaptive',
  () => Concurrency({ adaptive: {}, limit: 5 }),
  /^limit: unknown option \(known: maxQueue, maxWait\)/,
);

const overloadConfigCases: [string, unknown, RegExp][] = [
  [
    'retryBudget entries that are not an object',
    { retryBudget: 5 },
    /^retryBudget: expected an object of named entries/,
  ],
  [
    'a retryBudget entry with a bad ratio',
    { retryBudget: { upstream: { ratio: NaN } } },
    /^retryBudget\.upstream\.ratio: expected a finite number >= 0/,
  ],
  [
    'a retryBudget entry that is a policy',
    { retryBudget: { upstream: new RetryPolicy() } },
    /^retryBudget\.upstream: expected options or a RetryBudget, got a RetryPolicy/,
  ],
  [
    '"__proto__" as a budget name',
    JSON.parse('{"retryBudget":{"__proto__":{"ratio":1}}}'),
    /^retryBudget\.__proto__: this name is not allowed/,
  ],
  [
    'a retry entry naming a budget that is not configured',
    { retry: { payments: { budget: 'upstream' } } },
    /^retry\.payments\.budget: retryBudget "upstream" is not configured; known: \(none\)/,
  ],
  [
    'a retry entry whose budget is not a name',
    { retry: { payments: { budget: 5 } } },
    /^retry\.payments\.budget: expected a RetryBudget or the name/,
  ],
  [
    'an adaptive entry with a bad algorithm',
    { concurrency: { search: { adaptive: { algorithm: 'tcp' } } } },
    /^concurrency\.search\.algorithm: expected one of/,
  ],
  [
    'an adaptive entry that is not options',
    { concurrency: { search: { adaptive: [] } } },
    /^concurrency\.search\.adaptive: expected adaptive limiter options/,
  ],
];
badConfigs(overloadConfigCases);
bad(
  'ResilienceRegistry',
  'an unknown budget by name',
  () => new ResilienceRegistry({ retryBudget: { upstream: {} } }).retryBudget('upstreem'),
  /^retryBudget "upstreem" is not configured; known: upstream/,
);

// Exports that take no input to validate, and why.
const NO_INPUT: Record<string, string> = {
  ResilienceError: 'an error class dspu raises',
  ConfigError: 'an error class dspu raises',
  CircuitBreakerError: 'an error class dspu raises',
  TimeoutError: 'an error class dspu raises',
  RateLimitExceededError: 'an error class dspu raises',
  ConcurrencyLimitError: 'an error class dspu raises',
  BridgeError: 'an error class dspu raises',
  HedgeLostError: 'an error class dspu raises',
  PolicyResetError: 'an error class dspu raises',
  releaseIdleTimers: 'takes no argument',
  BackoffStrategy: 'a constant',
  CircuitState: 'a constant',
  DEFAULT_ORDER: 'a constant',
  callerSignal: 'takes no argument',
  currentSignal: 'takes no argument',
  currentAttempt: 'takes no argument',
  isAsyncContextEnabled: 'takes no argument',
  enableAsyncContext: 'takes no argument (and must not be called here: it slows the whole process)',
  shieldedCount: 'takes no argument',
  shutdownExecutor: 'takes no argument',
  MemoryTokenBucketStore:
    'takes no argument; its take/peek are the store interface the limiter calls with checked values',
  MemoryRetryBudgetStore:
    'made by a RetryBudget from the options it checked; its methods take nothing to check',
  Invocation: 'a plain record of a call (this and arguments): any values are valid',
  isPolicy: 'a predicate: answers false for anything that is not a policy',
  isInstance: 'a predicate: answers false for anything it cannot inspect (a revoked Proxy)',
  toError: 'turns any value into an Error',
  retryAfterOf: "reads any value's retryAfter: what it cannot read is 0",
  windowMetrics: "turns a window's totals into rates: its input is a breaker's own counts",
  budgetAvailable: "a retry budget store's arithmetic on the spec and counts it already holds",
  OptionsChecker: 'checks values: any input is what it reports on',
  splitOptions: 'splits anything; what it cannot read is left for the checker to report',
  LinkedQueue: "takes no argument; its nodes are the caller's own objects",
  DeadlineQueue: "takes no argument; its entries are the caller's own objects",
};

// ---------------------------------------------------------------------------------------------------------

const PENDING = Symbol('pending');

/** Runs `call` and returns the ConfigError it threw or rejected with at once; fails the test otherwise. */
async function configErrorOf(call: () => unknown): Promise<ConfigError> {
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    return asConfigError(error);
  }
  if (!(result instanceof Promise))
    throw new Error(`accepted the input silently (returned ${show(result)})`);
  // "At once": settled before the next turn of the event loop.
  const outcome = await Promise.race([
    result.then(
      (value: unknown) => ({ value }),
      (error: unknown) => ({ error }),
    ),
    new Promise<typeof PENDING>((resolve) => setImmediate(() => resolve(PENDING))),
  ]);
  if (outcome === PENDING) {
    result.catch(() => undefined);
    throw new Error('returned a promise that did not settle at once');
  }
  if ('value' in outcome)
    throw new Error(`accepted the input silently (resolved with ${show(outcome.value)})`);
  return asConfigError(outcome.error);
}

function asConfigError(error: unknown): ConfigError {
  if (error instanceof ConfigError) return error;
  throw new Error(`failed with ${show(error)} instead of a ConfigError: ${String(error)}`);
}

const PROBE_KEYS = [
  'maxAttempts',
  'state',
  'openedAt',
  'limit',
  'timeout',
  'retry',
  'polluted',
  'rate',
];

describe('reliability: bad input everywhere', () => {
  const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  // Every timer set while the cases run, until it fires or is cleared: what is left at the end was left by dspu.
  const pending = new Set<ReturnType<typeof setTimeout>>();
  const { setTimeout: realSetTimeout, clearTimeout: realClearTimeout } = globalThis;

  before(() => {
    process.on('unhandledRejection', onUnhandled);
    globalThis.setTimeout = ((
      fn: (...args: unknown[]) => void,
      ms?: number,
      ...args: unknown[]
    ) => {
      const handle = realSetTimeout(
        (...given: unknown[]) => {
          pending.delete(handle);
          fn(...given);
        },
        ms,
        ...args,
      );
      pending.add(handle);
      return handle;
    }) as typeof setTimeout;
    globalThis.clearTimeout = ((handle?: ReturnType<typeof setTimeout>) => {
      if (handle !== undefined) pending.delete(handle);
      realClearTimeout(handle);
    }) as typeof clearTimeout;
  });

  // Checked in a hook, after every case has run: a `--grep` that selects a few cases cannot skip them, nor make
  // them pass without the cases having run first.
  after(async () => {
    // dspu's shared deadline timers hold on for at most TIMER_SPAN_MS after their last entry: let them lapse.
    await new Promise((resolve) => setTimeout(resolve, TIMER_SPAN_MS + 20));
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled, 'no unhandled rejection').to.deep.equal([]);
    globalThis.setTimeout = realSetTimeout;
    globalThis.clearTimeout = realClearTimeout;
    const running = [...pending].filter((handle) => handle.hasRef());
    expect(running.length, 'no timer left running').to.equal(0);
    expect(
      Object.getOwnPropertyNames(Object.prototype).sort(),
      'Object.prototype untouched',
    ).to.deep.equal(prototypeKeys);
    const probe: Record<string, unknown> = {};
    for (const key of PROBE_KEYS) expect(probe[key], key).to.equal(undefined);
    for (const kind of [
      'retry',
      'circuitBreaker',
      'rateLimiter',
      'timeout',
      'concurrency',
    ] as const)
      expect(
        registry
          .names(kind)
          .filter((n) => ['payments', 'x', 'slow', 'db', 'github', 'p'].includes(n)),
        'the default registry unconfigured by the failed configure calls',
      ).to.deep.equal([]);
  });

  it('covers every runtime export of the public entry', () => {
    const covered = new Set(cases.map((c) => c.entry.split('.')[0]));
    const missing = Object.keys(dspu).filter((name) => !covered.has(name) && !(name in NO_INPUT));
    expect(missing).to.deep.equal([]);
  });

  describe('each entry point answers with a ConfigError naming the problem', () => {
    for (const { entry, label, call, problem } of cases) {
      it(`${entry}: ${label}`, async () => {
        const error = await configErrorOf(call);
        expect(error.code).to.equal('ERR_CONFIG');
        expect(error.message).to.match(problem);
        expect(error.message.length, 'a short message').to.be.below(600);
      });
    }
  });

  describe('very long duration strings are refused in linear time', () => {
    const shapes: [string, (n: number) => string][] = [
      ['digits then a unit', (n) => `${'1'.repeat(n)}s`],
      ['a long fraction', (n) => `1.${'0'.repeat(n)}s`],
      ['digits, a dot, digits, no unit', (n) => `${'9'.repeat(n)}.${'9'.repeat(n)}`],
      ['repeated units', (n) => 'ms'.repeat(n)],
      ['leading spaces', (n) => `${' '.repeat(n)}1s`],
      ['almost a number', (n) => `${'1.'.repeat(n)}s`],
    ];
    const entries: [string, (text: string) => unknown][] = [
      ['toMs', (text) => toMs(text, 'timeout')],
      ['new Timeout', (text) => new Timeout(text as never)],
      // (a string that does not start like a number is a registry name to a decorator)
      ['@Timeout', (text) => (/^\s*\d/.test(text) ? Timeout(text) : toMs(text, 't'))],
      ['runWithTimeout', (text) => runWithTimeout(noop, text as never)],
      ['new RetryPolicy', (text) => new RetryPolicy({ baseDelay: text as never })],
      ['new RateLimiter', (text) => new RateLimiter({ rate: 1, per: text as never })],
      [
        'registry.configure',
        (text) => new ResilienceRegistry({ timeout: { slow: text as never } }),
      ],
    ];
    for (const [shape, make] of shapes) {
      it(`refuses ${shape} of a million characters within milliseconds, everywhere`, async () => {
        const text = make(1_000_000);
        for (const [name, call] of entries) {
          const started = performance.now();
          const error = await configErrorOf(() => call(text));
          const elapsed = performance.now() - started;
          expect(error.message, name).to.match(/expected a duration/);
          expect(error.message.length, `${name}: message length`).to.be.below(400);
          // A pattern that backtracks takes seconds on a million characters; 250 ms leaves room for a busy machine.
          expect(elapsed, `${name}: ms`).to.be.below(250);
        }
      });
    }

    it('takes no longer for ten million characters than for ten thousand, beyond noise', () => {
      const time = (n: number) => {
        const text = `${'1'.repeat(n)}.${'1'.repeat(n)}ms`;
        const started = performance.now();
        for (let i = 0; i < 20; i++) expect(() => toMs(text, 'timeout')).to.throw(ConfigError);
        return (performance.now() - started) / 20;
      };
      time(10_000); // warm up
      expect(time(10_000_000)).to.be.below(time(10_000) + 20);
    });
  });

  describe('runtime values past the timer limit', () => {
    let clock: sinon.SinonFakeTimers;
    beforeEach(() => {
      clock = sinon.useFakeTimers({ now: 0 });
    });
    afterEach(() => clock.restore());

    it("waits the longest timer delay, not 1 ms, for an error's retryAfter past 2^31-1 ms", async () => {
      let calls = 0;
      const result = retry(
        async () => {
          calls++;
          throw Object.assign(new Error('busy'), { retryAfter: 2 ** 40 });
        },
        { maxAttempts: 2 },
      )();
      result.catch(() => undefined);
      await clock.tickAsync(1_000);
      expect(calls).to.equal(1);
      await clock.tickAsync(MAX_TIMER);
      expect(calls).to.equal(2);
    });

    it('caps a custom delay past the timer limit at maxDelay', async () => {
      let calls = 0;
      const result = retry(
        async () => {
          calls++;
          throw new Error('down');
        },
        { maxAttempts: 2, maxDelay: '1s', delay: () => 2 ** 40 },
      )();
      result.catch(() => undefined);
      await clock.tickAsync(999);
      expect(calls).to.equal(1);
      await clock.tickAsync(1);
      expect(calls).to.equal(2);
    });

    it('falls back to the strategy when a custom delay returns NaN or a negative', async () => {
      for (const custom of [NaN, -5]) {
        let calls = 0;
        const result = retry(
          async () => {
            calls++;
            throw new Error('down');
          },
          { maxAttempts: 2, baseDelay: 100, delay: () => custom },
        )();
        result.catch(() => undefined);
        await clock.tickAsync(99);
        expect(calls, String(custom)).to.equal(1);
        await clock.tickAsync(1);
        expect(calls, String(custom)).to.equal(2);
      }
    });
  });

  describe('a huge but valid limit', () => {
    it('lets mapWithLimit run with the largest safe integer as its limit, allocating nothing for it', async () => {
      const out: number[] = [];
      for await (const value of mapWithLimit([1, 2, 3], async (n) => n * 2, {
        limit: Number.MAX_SAFE_INTEGER,
      }))
        out.push(value);
      expect(out).to.deep.equal([2, 4, 6]);
    });

    it('lets gatherWithLimit run with the largest safe integer as its limit', async () => {
      expect(
        await gatherWithLimit([async () => 1, async () => 2], { limit: Number.MAX_SAFE_INTEGER }),
      ).to.deep.equal([1, 2]);
    });
  });

  describe('valid options in any shape: frozen, null-prototype, behind a Proxy, through getters', () => {
    const engines: [string, object, (options: unknown) => { options: unknown }][] = [
      [
        'RetryPolicy',
        { maxAttempts: 4, baseDelay: '10ms', strategy: 'linear', exceptions: [TypeError] },
        (o) => new RetryPolicy(o as never),
      ],
      ['RateLimiter', { rate: 5, per: '2s', capacity: 7 }, (o) => new RateLimiter(o as never)],
      [
        'CircuitBreaker',
        { failureThreshold: 2, timeout: '5s', initialState: { state: 'open', openedAt: 0 } },
        (o) => new CircuitBreaker(o as never),
      ],
      [
        'ConcurrencyLimiter',
        { limit: 2, maxQueue: 3, maxWait: '1s' },
        (o) => new ConcurrencyLimiter(o as never),
      ],
    ];
    for (const [name, options, make] of engines) {
      it(`${name} reads them as it reads the plain object`, () => {
        const expected = make(options).options;
        for (const { label, value } of sameOptionsReshaped(options))
          expect(make(value).options, label).to.deep.equal(expected);
      });
    }

    it('every other entry point accepts them', async () => {
      for (const { label, value } of sameOptionsReshaped({ limit: 2 })) {
        expect(await gatherWithLimit([noop], value as never), label).to.deep.equal(['ok']);
        for await (const item of mapWithLimit([1], noop, value as never))
          expect(item, label).to.equal('ok');
      }
      for (const { label, value } of sameOptionsReshaped({
        signal: new AbortController().signal,
      })) {
        expect(await new RetryPolicy().execute(noop, value as never), label).to.equal('ok');
        expect(await new ConcurrencyLimiter(1).run(noop, value as never), label).to.equal('ok');
        expect(await runWithTimeout(noop, '1s', value as never), label).to.equal('ok');
      }
      for (const { label, value } of sameOptionsReshaped({ tokens: 2, maxWait: '1s' }))
        expect(await new RateLimiter({ rate: 5 }).run(noop, value as never), label).to.equal('ok');
      for (const { label, value } of sameOptionsReshaped({ timeout: '1s' }))
        expect(new Timeout(value as never).timeout, label).to.equal(1000);
    });

    it('registry.configure accepts them at every level', () => {
      for (const { label, value } of sameOptionsReshaped({ maxAttempts: 5 })) {
        const entries = sameOptionsReshaped({ payments: value });
        for (const { value: named } of entries) {
          for (const { value: config } of sameOptionsReshaped({ retry: named })) {
            const policies = new ResilienceRegistry(config as never);
            expect(policies.retry('payments').options.maxAttempts, label).to.equal(5);
          }
        }
      }
    });

    it('reads each option once, so what was checked is what is used', () => {
      let reads = 0;
      const options = Object.defineProperty({}, 'maxAttempts', {
        enumerable: true,
        get: () => (++reads === 1 ? 4 : 'not a number'),
      });
      expect(new RetryPolicy(options).options.maxAttempts).to.equal(4);
      expect(reads).to.equal(1);
    });

    describe('per-call options: read once, own keys only', () => {
      const entries: [string, (options: unknown) => Promise<unknown>][] = [
        ['RetryPolicy.execute', (o) => new RetryPolicy().execute(noop, o as never)],
        ['CircuitBreaker.protect', (o) => new CircuitBreaker().protect(noop, o as never)],
        ['RateLimiter.run', (o) => new RateLimiter({ rate: 10 }).run(noop, o as never)],
        ['RateLimiter.acquire', (o) => new RateLimiter({ rate: 10 }).acquire(1, o as never)],
        ['ConcurrencyLimiter.run', (o) => new ConcurrencyLimiter(1).run(noop, o as never)],
        ['ConcurrencyLimiter.acquire', (o) => new ConcurrencyLimiter(1).acquire(o as never)],
        [
          'AdaptiveConcurrencyLimiter.run',
          (o) => new AdaptiveConcurrencyLimiter().run(noop, o as never),
        ],
        [
          'FallbackPolicy.execute',
          (o) => new FallbackPolicy(() => 'fallback').execute(noop, [], o as never),
        ],
        ['HedgePolicy.execute', (o) => new HedgePolicy({ delay: 10 }).execute(noop, o as never)],
        ['Timeout.run', (o) => new Timeout('1s').run(noop, o as never)],
        ['runWithTimeout', (o) => runWithTimeout(noop, '1s', o as never)],
      ];

      for (const [name, call] of entries) {
        it(`${name} uses the signal it checked, read once, even when a getter answers differently later`, async () => {
          let reads = 0;
          const signal = new AbortController().signal;
          const options = Object.defineProperty({}, 'signal', {
            enumerable: true,
            get: () => (++reads === 1 ? signal : 'not a signal'),
          });
          await call(options);
          expect(reads).to.equal(1);
        });

        it(`${name} ignores options inherited from Object.prototype`, async () => {
          const aborted = AbortSignal.abort(new Error('inherited abort'));
          const proto = Object.prototype as Record<string, unknown>;
          Object.defineProperty(proto, 'signal', { value: aborted, configurable: true });
          Object.defineProperty(proto, 'polluted', {
            value: 1,
            enumerable: true,
            configurable: true,
          });
          try {
            await call({});
          } finally {
            delete proto.signal;
            delete proto.polluted;
          }
        });

        it(`${name} does not read a key its options object does not list`, async () => {
          await call(unlistedThrowing('signal'));
        });
      }
    });
  });

  it('takes a bridge target from its own keys: an inherited module does not make {} a module target', () => {
    Object.defineProperty(Object.prototype, 'module', {
      value: 'node:path',
      enumerable: true,
      configurable: true,
      writable: true,
    });
    try {
      expect(() => syncToAsync({} as never)).to.throw(
        ConfigError,
        /^fn: expected a self-contained function or \{ module, export \}/,
      );
    } finally {
      delete (Object.prototype as Record<string, unknown>).module;
    }
  });
});
