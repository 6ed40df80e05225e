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
