import type { LimitWindow } from '../../../../src/patterns/concurrency/adaptive/limit-algorithm.js';

/** What a window of a fully used limit looks like in front of a server of `capacity` slots of `latency` ms. */
export function windowAt(
  limit: number,
  end: number,
  { capacity = 100, latency = 100, drops = 0 } = {},
): LimitWindow {
  const rtt = latency * Math.max(1, Math.floor(limit) / capacity);
  return {
    samples: 10,
    drops,
    meanRtt: rtt,
    minRtt: rtt,
    maxRtt: rtt,
    maxInflight: Math.floor(limit),
    end,
  };
}

/** A window with the given latency and use. */
export function window(fields: Partial<LimitWindow> & { end: number }): LimitWindow {
  return {
    samples: 10,
    drops: 0,
    meanRtt: 100,
    minRtt: 100,
    maxRtt: 100,
    maxInflight: 1_000,
    ...fields,
  };
}
