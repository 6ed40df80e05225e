import type { ResolvedRetryOptions } from './retry.options.js';

/**
 * The wait before try `attempt + 1`, without jitter: exponential `base * 2^(attempt-1)`, linear
 * `base * attempt`, constant `base`, capped by `maxDelay`. Always a finite number in [0, maxDelay], whatever
 * the attempt: an attempt below 1 (or NaN) counts as the first.
 */
export function backoffDelay(options: ResolvedRetryOptions, attempt: number): number {
  const { baseDelay, maxDelay } = options;
  // A zero base stays zero: past try 1024, 2^(n-1) is Infinity and 0 × Infinity is NaN.
  if (baseDelay === 0) return 0;
  const n = attempt >= 1 ? attempt : 1;
  let delay: number;
  switch (options.strategy) {
    case 'exponential':
      delay = baseDelay * 2 ** (n - 1);
      break;
    case 'linear':
      delay = baseDelay * n;
      break;
    default:
      delay = baseDelay;
  }
  return Math.min(delay, maxDelay);
}

/** Applies jitter to a computed delay: full → [0, d], equal → [d/2, d], none → d. */
export function applyJitter(
  delay: number,
  jitter: ResolvedRetryOptions['jitter'],
  random = Math.random,
): number {
  if (jitter === 'full') return random() * delay;
  if (jitter === 'equal') return delay / 2 + (random() * delay) / 2;
  return delay;
}
