// onAbort against the reference its promise names: abort listeners as the DOM specifies them. Random programs add
// and remove subscriptions (the same callback more than once, stops repeated, stops after the abort), abort the
// signal at a random step, and have callbacks stop or add others while the abort runs. The calls seen through
// onAbort must be those seen through addEventListener/removeEventListener on a second signal, in the same order,
// and the signal must hold at most one listener of dspu's at any time. One deviation of Node's own is left out of
// the reference: Node also calls a listener added to a signal while its abort is being dispatched, which the DOM
// (and onAbort) never call, since the signal had already aborted when it was added.
import { expect } from 'chai';
import fc from 'fast-check';
import { getEventListeners } from 'node:events';
import { onAbort } from '../../src/core/abort-listener.js';

type Step =
  | { op: 'add'; callback: number; onAbortStops?: number; onAbortAdds?: number }
  | { op: 'stop'; subscription: number }
  | { op: 'abort' };

/** One side: what subscribing and stopping mean there, and the calls it saw. */
interface Side {
  readonly controller: AbortController;
  readonly seen: string[];
  /** The most abort listeners the signal may hold at once. */
  readonly mostListeners: number;
  add(callback: () => void): () => void;
}

function platform(): Side {
  const controller = new AbortController();
  return {
    controller,
    seen: [],
    mostListeners: Infinity,
    add(callback) {
      if (controller.signal.aborted) return () => undefined; // too late: never called
      // One listener object per subscription: the same callback added twice is two subscriptions on both sides.
      const listener = () => callback();
      controller.signal.addEventListener('abort', listener, { once: true });
      return () => controller.signal.removeEventListener('abort', listener);
    },
  };
}

function dspu(): Side {
  const controller = new AbortController();
  return {
    controller,
    seen: [],
    mostListeners: 1,
    add: (callback) => onAbort(controller.signal, callback),
  };
}

function run(side: Side, steps: readonly Step[]): string[] {
  const stops: (() => void)[] = [];
  const subscribe = (step: Extract<Step, { op: 'add' }>, label: string) => {
    stops.push(
      side.add(() => {
        side.seen.push(label);
        if (step.onAbortStops !== undefined) stops[step.onAbortStops % stops.length]?.();
        if (step.onAbortAdds !== undefined)
          subscribe({ op: 'add', callback: step.onAbortAdds }, `added by ${label}`);
      }),
    );
  };
  for (const step of steps) {
    if (step.op === 'add') subscribe(step, `callback ${step.callback}`);
    else if (step.op === 'stop') stops[step.subscription % Math.max(1, stops.length)]?.();
    else side.controller.abort();
    expect(getEventListeners(side.controller.signal, 'abort').length).to.be.at.most(
      side.mostListeners,
    );
  }
  return side.seen;
}

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record(
    {
      op: fc.constant('add' as const),
      callback: fc.nat(3),
      onAbortStops: fc.nat(10),
      onAbortAdds: fc.nat(3),
    },
    { requiredKeys: ['op', 'callback'] },
  ),
  fc.record({ op: fc.constant('stop' as const), subscription: fc.nat(10) }),
  fc.constant({ op: 'abort' as const }),
);

describe('onAbort against the platform’s abort listeners (property)', () => {
  it('calls back exactly what addEventListener would, in the same order, with one listener', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        const reference = platform();
        const subject = dspu();
        expect(run(subject, steps)).to.deep.equal(run(reference, steps));
        if (!subject.controller.signal.aborted) {
          // Whatever is still subscribed hears the abort when it comes, as on the platform.
          subject.controller.abort();
          reference.controller.abort();
          expect(subject.seen).to.deep.equal(reference.seen);
        }
      }),
      { numRuns: 300 },
    );
  });
});
