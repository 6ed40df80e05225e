import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { onAbort } from '../../src/core/abort-listener.js';

describe('onAbort: one listener per signal, however many wait on it', () => {
  it('calls every callback once, in the order they were added, while the signal aborts', () => {
    const controller = new AbortController();
    const calls: string[] = [];
    onAbort(controller.signal, () => calls.push(`a:${controller.signal.aborted}`));
    onAbort(controller.signal, () => calls.push('b'));
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(1);
    controller.abort();
    expect(calls).to.deep.equal(['a:true', 'b']);
    controller.abort();
    expect(calls).to.have.length(2);
  });

  it('stops one subscription at a time, and lets go of the signal when none is left', () => {
    const controller = new AbortController();
    const calls: string[] = [];
    const callback = () => calls.push('x');
    const first = onAbort(controller.signal, callback);
    const second = onAbort(controller.signal, callback); // the same function twice: two subscriptions
    first();
    first(); // again: nothing
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(1);
    second();
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
    const third = onAbort(controller.signal, callback); // listens again after letting go
    controller.abort();
    expect(calls).to.deep.equal(['x']);
    third(); // after the abort: nothing
  });

  it('never calls back for a signal already aborted, as addEventListener would not', () => {
    const signal = AbortSignal.abort();
    let called = false;
    const stop = onAbort(signal, () => (called = true));
    stop();
    expect(called).to.equal(false);
  });

  it('skips a callback that an earlier one stopped, and does not call one added meanwhile', () => {
    const controller = new AbortController();
    const calls: string[] = [];
    let stopLater: () => void = () => undefined;
    onAbort(controller.signal, () => {
      calls.push('first');
      stopLater();
      onAbort(controller.signal, () => calls.push('added during the abort'));
    });
    stopLater = onAbort(controller.signal, () => calls.push('stopped'));
    controller.abort();
    expect(calls).to.deep.equal(['first']);
  });

  it('keeps one listener when a callback subscribes again while the signal aborts and then stops itself', () => {
    const controller = new AbortController();
    const stop = onAbort(controller.signal, () => {
      onAbort(controller.signal, () => undefined);
      stop();
    });
    controller.abort();
    onAbort(controller.signal, () => undefined);
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(1);
  });
});
