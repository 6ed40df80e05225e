// LinkedQueue against arrays: two queues and a handful of nodes, under random pushes, shifts and removals (through
// the queue holding the node, through another queue, and through the static remove). Each queue must hold what its
// array holds, in order, with the same size, head and tail, and each node must know which queue holds it. A node
// pushed while another queue holds it moves: it leaves that queue first, so neither is corrupted.
import { expect } from 'chai';
import fc from 'fast-check';
import { LinkedQueue, type QueueNode } from '../../src/index.js';

interface Node extends QueueNode {
  readonly id: number;
}

type Op =
  | { op: 'push'; queue: number; node: number }
  | { op: 'shift'; queue: number }
  | { op: 'remove'; queue: number; node: number }
  | { op: 'removeAnywhere'; node: number };

const NODES = 6;
const ops: fc.Arbitrary<Op[]> = fc.array(
  fc.oneof(
    fc.record({
      op: fc.constant('push' as const),
      queue: fc.integer({ min: 0, max: 1 }),
      node: fc.integer({ min: 0, max: NODES - 1 }),
    }),
    fc.record({ op: fc.constant('shift' as const), queue: fc.integer({ min: 0, max: 1 }) }),
    fc.record({
      op: fc.constant('remove' as const),
      queue: fc.integer({ min: 0, max: 1 }),
      node: fc.integer({ min: 0, max: NODES - 1 }),
    }),
    fc.record({
      op: fc.constant('removeAnywhere' as const),
      node: fc.integer({ min: 0, max: NODES - 1 }),
    }),
  ),
  { maxLength: 60 },
);

/** The queue's nodes from head to tail, and from tail to head, checking the links agree. */
function contents(queue: LinkedQueue<Node>): number[] {
  const forward: number[] = [];
  for (let node = queue.head; node !== undefined; node = node.next as Node | undefined) {
    forward.push(node.id);
    if (forward.length > NODES) throw new Error('a cycle');
  }
  const backward: number[] = [];
  for (let node = queue.tail; node !== undefined; node = node.previous as Node | undefined) {
    backward.unshift(node.id);
    if (backward.length > NODES) throw new Error('a cycle');
  }
  expect(backward).to.deep.equal(forward);
  return forward;
}

describe('LinkedQueue (property): against arrays', () => {
  it('holds what the arrays hold, in order, whatever is pushed, shifted or removed', () => {
    fc.assert(
      fc.property(ops, (steps) => {
        const queues = [new LinkedQueue<Node>(), new LinkedQueue<Node>()];
        const nodes: Node[] = Array.from({ length: NODES }, (_, id) => ({
          id,
          previous: undefined,
          next: undefined,
          queue: undefined,
        }));
        const model: number[][] = [[], []];
        const holder = (id: number) => model.findIndex((ids) => ids.includes(id));
        for (const step of steps) {
          switch (step.op) {
            case 'push': {
              const from = holder(step.node);
              if (from >= 0) model[from].splice(model[from].indexOf(step.node), 1);
              model[step.queue].push(step.node);
              queues[step.queue].push(nodes[step.node]);
              break;
            }
            case 'shift':
              expect(queues[step.queue].shift()?.id).to.equal(model[step.queue].shift());
              break;
            case 'remove': {
              const held = holder(step.node) === step.queue;
              if (held) model[step.queue].splice(model[step.queue].indexOf(step.node), 1);
              expect(queues[step.queue].remove(nodes[step.node])).to.equal(held);
              break;
            }
            case 'removeAnywhere': {
              const from = holder(step.node);
              if (from >= 0) model[from].splice(model[from].indexOf(step.node), 1);
              expect(LinkedQueue.remove(nodes[step.node])).to.equal(from >= 0);
              break;
            }
          }
          queues.forEach((queue, i) => {
            expect(contents(queue), `queue ${i}`).to.deep.equal(model[i]);
            expect(queue.size).to.equal(model[i].length);
          });
          for (const node of nodes) {
            const from = holder(node.id);
            expect(node.queue).to.equal(from >= 0 ? queues[from] : undefined);
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
