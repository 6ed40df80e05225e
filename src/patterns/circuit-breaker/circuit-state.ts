import { now } from '../../core/clock.js';
import type { WindowSnapshot } from './sliding-window.js';

/** The states of a circuit breaker. */
export const CircuitState = {
  /** Healthy: calls go through; consecutive counted failures are counted. */
  CLOSED: 'closed',
  /** Tripped: calls are rejected at once until the open timeout has passed. */
  OPEN: 'open',
  /** Testing recovery: a limited number of trial calls go through. */
  HALF_OPEN: 'half_open',
} as const;
/** One of the {@link CircuitState} values: `'closed' | 'open' | 'half_open'`. */
export type CircuitState = (typeof CircuitState)[keyof typeof CircuitState];

/**
 * Everything a breaker remembers, as plain data: what `toJSON()` returns and `initialState` accepts, so the
 * state can be saved across restarts (or, later, kept in a shared store).
 */
export interface CircuitSnapshot {
  /** The state (an OPEN state whose timeout has passed reads as HALF_OPEN on the next look). */
  state: CircuitState;
  /** Consecutive counted failures while CLOSED. */
  failures: number;
  /** Successful trial calls while HALF_OPEN. */
  successes: number;
  /** When the circuit last opened (ms since the epoch), or null if it never did. */
  openedAt: number | null;
  /** True when forced open by `isolate()`: it stays open until `reset()`. */
  isolated: boolean;
  /**
   * How long the current (or last) open period lasts, in ms; null before the first open (the `timeout` applies).
   * A re-open from HALF_OPEN doubles it, up to `maxTimeout`.
   */
  openMs: number | null;
  /** Rate mode: the outcomes of the sliding window. */
  window?: WindowSnapshot;
}

/** A fresh closed circuit. */
export function closedSnapshot(): CircuitSnapshot {
  return {
    state: CircuitState.CLOSED,
    failures: 0,
    successes: 0,
    openedAt: null,
    isolated: false,
    openMs: null,
  };
}

const STATES: readonly unknown[] = Object.values(CircuitState);

/**
 * Reads a saved state (a {@link CircuitSnapshot} or a bare {@link CircuitState}), or returns the rule it
 * breaks.
 */
export function parseSnapshot(value: unknown): CircuitSnapshot | string {
  const fresh = closedSnapshot();
  if (STATES.includes(value)) {
    const state = value as CircuitState;
    // A bare OPEN starts a full timeout now: there is no record of when it opened.
    return { ...fresh, state, openedAt: state === CircuitState.OPEN ? now() : null };
  }
  const rule = `a CircuitState ('closed', 'open', 'half_open') or a breaker's toJSON() output`;
  if (typeof value !== 'object' || value === null) return rule;
  let raw: Partial<Record<keyof CircuitSnapshot, unknown>>;
  try {
    // Each field read once: a getter or a Proxy cannot pass the check and then say something else.
    const given = value as Partial<Record<keyof CircuitSnapshot, unknown>>;
    const { state, failures, successes, openedAt, isolated, openMs, window } = given;
    raw = { state, failures, successes, openedAt, isolated, openMs, window };
  } catch {
    return rule;
  }
  return readSnapshot(raw) ?? rule;
}

function readSnapshot(
  raw: Partial<Record<keyof CircuitSnapshot, unknown>>,
): CircuitSnapshot | undefined {
  const count = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 0;
  const openedAt = raw.openedAt ?? null;
  const openMs = raw.openMs ?? null;
  const window = raw.window;
  const ok =
    STATES.includes(raw.state) &&
    count(raw.failures ?? 0) &&
    count(raw.successes ?? 0) &&
    (openedAt === null || (typeof openedAt === 'number' && Number.isFinite(openedAt))) &&
    (openMs === null || (typeof openMs === 'number' && Number.isFinite(openMs) && openMs >= 0)) &&
    (window === undefined || isWindowSnapshot(window)) &&
    (raw.isolated === undefined || raw.isolated === false || raw.state === CircuitState.OPEN) &&
    (raw.isolated === undefined || typeof raw.isolated === 'boolean') &&
    !(raw.state === CircuitState.OPEN && openedAt === null && raw.isolated !== true);
  if (!ok) return undefined;
  return {
    state: raw.state as CircuitState,
    failures: (raw.failures as number | undefined) ?? 0,
    successes: (raw.successes as number | undefined) ?? 0,
    openedAt: openedAt,
    isolated: raw.isolated === true,
    openMs: openMs,
    ...(window === undefined ? {} : { window: window as WindowSnapshot }),
  };
}

function isWindowSnapshot(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const saved = value as { type?: unknown; outcomes?: unknown; buckets?: unknown };
  const small = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 0;
  if (saved.type === 'calls')
    return (
      Array.isArray(saved.outcomes) && saved.outcomes.every((n) => small(n) && (n as number) < 4)
    );
  if (saved.type === 'time')
    return (
      Array.isArray(saved.buckets) &&
      saved.buckets.every(
        (bucket) =>
          Array.isArray(bucket) &&
          bucket.length === 4 &&
          Number.isFinite(bucket[0]) &&
          bucket.slice(1).every(small) &&
          (bucket[2] as number) <= (bucket[1] as number) &&
          (bucket[3] as number) <= (bucket[1] as number),
      )
    );
  return false;
}
