import sinon from 'sinon';

/** Installs sinon fake timers (Date included) for the current mocha suite and returns the clock. */
export function useFakeClock(start = 0): { readonly clock: sinon.SinonFakeTimers } {
  const holder = {} as { clock: sinon.SinonFakeTimers };
  beforeEach(() => {
    holder.clock = sinon.useFakeTimers({ now: start });
  });
  afterEach(() => {
    holder.clock.restore();
  });
  return holder;
}

/** Settles `promise` into a record without letting a rejection go unhandled while time is advanced. */
export function observe<T>(promise: Promise<T>): { settled: boolean; value?: T; error?: unknown } {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

/** A promise that resolves after `ms` of the current clock: real time, or fake time under `useFakeClock`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * For property suites: fake timers (Date included) from time 0, and every unhandled rejection collected in
 * `unhandled`, for each test of the current mocha suite. A run clears both before it starts (`clock.reset()`).
 */
export function useFakeClockCatchingUnhandled(): {
  readonly clock: sinon.SinonFakeTimers;
  readonly unhandled: unknown[];
} {
  const holder = { unhandled: [] as unknown[] } as {
    clock: sinon.SinonFakeTimers;
    unhandled: unknown[];
  };
  const onUnhandled = (reason: unknown) => holder.unhandled.push(reason);
  beforeEach(() => {
    holder.clock = sinon.useFakeTimers({ now: 0 });
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(() => {
    holder.clock.restore();
    process.off('unhandledRejection', onUnhandled);
  });
  return holder;
}
