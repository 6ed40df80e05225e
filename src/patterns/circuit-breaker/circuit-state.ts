import { now } from '../../core/clock.js';
import { copyArray, isPlainObject, readOwnProperties, unreadable } from '../../core/validate.js';
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
  /**
   * The open time the backoff has reached, in ms, when a failure's `retryAfter` made the current open period
   * longer (`openMs`); absent otherwise, the backoff being `openMs`. The next re-open doubles this, not `openMs`.
   */
  backoffMs?: number;
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
const SNAPSHOT_KEYS: readonly string[] = [
  'state',
  'failures',
  'successes',
  'openedAt',
  'isolated',
  'openMs',
  'backoffMs',
  'window',
];
// A time window keeps its counts in 32-bit buckets.
const MAX_BUCKET_COUNT = 2 ** 32 - 1;

/**
 * Reads a saved state (a {@link CircuitSnapshot} or a bare {@link CircuitState}), or returns the rule it
 * breaks. Own properties only, each read once into a copy of our own (the window's arrays too), so a getter or
 * a Proxy cannot pass the check and then say something else, and nothing set on `Object.prototype` is read.
 * Throws a ConfigError naming the field when one cannot be read. An `openedAt` later than now is taken as now:
 * a snapshot from a machine whose clock runs ahead opens for its `openMs` from now, not longer.
 */
export function parseSnapshot(value: unknown): CircuitSnapshot | string {
  const fresh = closedSnapshot();
  if (STATES.includes(value)) {
    const state = value as CircuitState;
    // A bare OPEN starts a full timeout now: there is no record of when it opened.
    return { ...fresh, state, openedAt: state === CircuitState.OPEN ? now() : null };
  }
  const rule = `a CircuitState ('closed', 'open', 'half_open') or a breaker's toJSON() output`;
  const raw = readFields(value, 'initialState', SNAPSHOT_KEYS);
  if (raw === undefined) return `${rule}, with only its fields (${SNAPSHOT_KEYS.join(', ')})`;
  return readSnapshot(raw) ?? rule;
}

/**
 * A copy of a plain object's own properties, or undefined when it is not a plain object or has a key outside
 * `fields` (refused before anything is read). Throws a ConfigError naming the field that cannot be read.
 */
function readFields(
  value: unknown,
  path: string,
  fields: readonly string[],
): Record<PropertyKey, unknown> | undefined {
  if (!isPlainObject(value)) return undefined;
  let keys: (string | symbol)[];
  try {
    keys = Reflect.ownKeys(value);
  } catch (error) {
    throw unreadable(path, error);
  }
  if (keys.some((key) => typeof key !== 'string' || !fields.includes(key))) return undefined;
  return readOwnProperties(value, path);
}

function readSnapshot(raw: Record<PropertyKey, unknown>): CircuitSnapshot | undefined {
  const count = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 0;
  const duration = (n: unknown) => typeof n === 'number' && Number.isFinite(n) && n >= 0;
  const openedAt = raw.openedAt ?? null;
  const openMs = raw.openMs ?? null;
  const backoffMs = raw.backoffMs ?? null;
  const window = raw.window === undefined ? undefined : readWindow(raw.window);
  const ok =
    STATES.includes(raw.state) &&
    count(raw.failures ?? 0) &&
    count(raw.successes ?? 0) &&
    (openedAt === null || (typeof openedAt === 'number' && Number.isFinite(openedAt))) &&
    (openMs === null || duration(openMs)) &&
    (backoffMs === null || duration(backoffMs)) &&
    (raw.window === undefined || window !== undefined) &&
    (raw.isolated === undefined || raw.isolated === false || raw.state === CircuitState.OPEN) &&
    (raw.isolated === undefined || typeof raw.isolated === 'boolean') &&
    !(raw.state === CircuitState.OPEN && openedAt === null && raw.isolated !== true);
  if (!ok) return undefined;
  return {
    state: raw.state as CircuitState,
    failures: (raw.failures as number | undefined) ?? 0,
    successes: (raw.successes as number | undefined) ?? 0,
    openedAt: openedAt === null ? null : Math.min(openedAt, now()),
    isolated: raw.isolated === true,
    openMs: openMs as number | null,
    ...(backoffMs === null ? {} : { backoffMs: backoffMs as number }),
    ...(window === undefined ? {} : { window }),
  };
}

/** A copy of a saved window, or undefined when it is not one (or cannot be read). */
function readWindow(value: unknown): WindowSnapshot | undefined {
  const saved = readFields(value, 'initialState.window', ['type', 'outcomes', 'buckets']);
  if (saved === undefined) return undefined;
  const small = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 0;
  if (saved.type === 'calls' && saved.buckets === undefined) {
    const outcomes = copyArray(saved.outcomes);
    const ok = outcomes?.every((n) => small(n) && (n as number) < 4);
    return ok ? { type: 'calls', outcomes: outcomes as number[] } : undefined;
  }
  if (saved.type === 'time' && saved.outcomes === undefined) {
    const buckets = copyArray(saved.buckets)?.map(copyArray);
    const latest = now();
    const ok = buckets?.every(
      (bucket) =>
        bucket !== undefined &&
        bucket.length === 4 &&
        Number.isFinite(bucket[0]) &&
        bucket.slice(1).every((n) => small(n) && (n as number) <= MAX_BUCKET_COUNT) &&
        (bucket[2] as number) <= (bucket[1] as number) &&
        (bucket[3] as number) <= (bucket[1] as number),
    );
    if (!ok) return undefined;
    // A bucket that starts after now (a clock running ahead) is counted in the bucket of now.
    const copies = (buckets as number[][]).map(([start, ...counts]) => [
      Math.min(start, latest),
      ...counts,
    ]);
    return { type: 'time', buckets: copies };
  }
  return undefined;
}
