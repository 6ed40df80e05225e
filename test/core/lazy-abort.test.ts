import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { LazyAbort } from '../../src/core/lazy-abort.js';

describe('LazyAbort', () => {
  it('is not aborted and has no reason until aborted', () => {
    const abort = new LazyAbort();
    expect(abort.aborted).to.equal(false);
    expect(abort.reason).to.equal(undefined);
    expect(abort.parent).to.equal(undefined);
  });

  it('keeps the first reason it is aborted with, whether or not its signal was asked for', () => {
    const [first, second] = [new Error('first'), new Error('second')];
    const unasked = new LazyAbort();
    unasked.abort(first);
    unasked.abort(second);
    expect(unasked.aborted).to.equal(true);
    expect(unasked.reason).to.equal(first);
    const asked = new LazyAbort();
    const signal = asked.signal;
    asked.abort(first);
    asked.abort(second);
    expect(signal.aborted).to.equal(true);
    expect(signal.reason).to.equal(first);
    expect(asked.reason).to.equal(first);
  });

  it('hands out a signal already aborted, with the reason, when asked for it after the abort', () => {
    const reason = new Error('over');
    const abort = new LazyAbort();
    abort.abort(reason);
    expect(abort.signal.aborted).to.equal(true);
    expect(abort.signal.reason).to.equal(reason);
  });

  it('reads as aborted, with the ancestor’s reason, once an ancestor aborts, with no signal asked for', () => {
    const reason = new Error('outer gave up');
    const controller = new AbortController();
    const middle = new LazyAbort(controller.signal);
    const inner = new LazyAbort(middle);
    expect(inner.parent).to.equal(middle);
    expect(middle.parent).to.equal(controller.signal);
    expect(inner.aborted).to.equal(false);
    controller.abort(reason);
    expect(inner.aborted).to.equal(true);
    expect(inner.reason).to.equal(reason);
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
  });

  it('its own reason wins over an ancestor’s that aborted later', () => {
    const parent = new LazyAbort();
    const child = new LazyAbort(parent);
    const own = new Error('own');
    child.abort(own);
    parent.abort(new Error('parent'));
    expect(child.reason).to.equal(own);
  });

  it('aborts its signal when an ancestor does, and stops listening to it once released', () => {
    const controller = new AbortController();
    const linked = new LazyAbort(controller.signal);
    const signal = linked.signal;
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(1);
    const released = new LazyAbort(controller.signal);
    void released.signal;
    released.release();
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(1);
    const reason = new Error('stop');
    controller.abort(reason);
    expect(signal.aborted).to.equal(true);
    expect(signal.reason).to.equal(reason);
    expect(released.signal.aborted).to.equal(false);
  });
});
