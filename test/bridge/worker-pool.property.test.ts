// WorkerPool against a reference model of its queue, on real worker threads. Each call blocks in its worker until
// the test releases it (through shared memory), so the order in which calls end is the test's own, random, and no
// outcome depends on how fast the machine is. The model: calls start in arrival order, at most `size` at once; a
// call ends with its own value or error; a call whose worker exits rejects with a BridgeError and the call queued
// next still runs, on a new worker; close() rejects what runs and what waits, with a BridgeError.
import { expect } from 'chai';
import fc from 'fast-check';
import { BridgeError, WorkerPool } from '../../src/index.js';

type Kind = 'value' | 'throw' | 'exit';
type Step = { op: 'submit'; kind: Kind } | { op: 'release'; pick: number } | { op: 'close' };

const steps: fc.Arbitrary<Step[]> = fc.array(
  fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        op: fc.constant('submit' as const),
        kind: fc.constantFrom<Kind>('value', 'value', 'throw', 'exit'),
      }),
    },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('release' as const), pick: fc.nat(5) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('close' as const) }) },
  ),
  { maxLength: 10 },
);

/** Runs in the worker (sent as source): says it started, waits to be released, then ends as `kind` says. */
function controlled(flags: Int32Array, i: number, kind: Kind): number {
  Atomics.store(flags, 2 * i, 1);
  Atomics.wait(flags, 2 * i + 1, 0);
  if (kind === 'throw') throw new RangeError(`call ${i}`);
  if (kind === 'exit') process.exit(3);
  return i;
}

/** Resolves once `check` holds, polling (a worker starts in tens of ms); fails after five seconds. */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`never: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

interface Call {
  readonly kind: Kind;
  state: 'queued' | 'running' | 'ended' | 'closed-queued' | 'closed-running' | 'refused';
  outcome?: { value: unknown } | { error: unknown };
}

describe('WorkerPool (property): against a reference model of its queue', function () {
  this.timeout(120_000);

  it('starts calls in arrival order, at most size at once, each ending as its own', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), steps, async (size, program) => {
        const pool = new WorkerPool({ size });
        const flags = new Int32Array(new SharedArrayBuffer(4 * 2 * 16));
        const calls: Call[] = [];
        let closed = false;
        const started = (i: number) => Atomics.load(flags, 2 * i) === 1;
        const settle = (i: number) =>
          until(() => calls[i].outcome !== undefined, `call ${i} settles`);
        // The model's step: queued calls start, oldest first, while fewer than `size` run.
        const fill = () => {
          if (closed) return;
          let running = calls.filter((c) => c.state === 'running').length;
          for (const call of calls) {
            if (running >= size) break;
            if (call.state === 'queued') {
              call.state = 'running';
              running++;
            }
          }
        };
        const check = async () => {
          for (const [i, call] of calls.entries()) {
            if (call.state === 'running') await until(() => started(i), `call ${i} starts`);
          }
          calls.forEach((call, i) => {
            if (call.state === 'queued' || call.state === 'closed-queued')
              expect(started(i), `call ${i} started while queued`).to.equal(false);
          });
          expect(pool.pending).to.equal(
            closed ? 0 : calls.filter((c) => c.state === 'queued').length,
          );
        };
        const release = async (i: number) => {
          calls[i].state = 'ended';
          Atomics.store(flags, 2 * i + 1, 1);
          Atomics.notify(flags, 2 * i + 1);
          await settle(i);
          fill();
        };

        try {
          for (const step of program) {
            if (step.op === 'submit') {
              const i = calls.length;
              const call: Call = { kind: step.kind, state: closed ? 'refused' : 'queued' };
              calls.push(call);
              pool.run(controlled, flags, i, step.kind).then(
                (value) => (call.outcome = { value }),
                (error: unknown) => (call.outcome = { error }),
              );
              if (closed) {
                await settle(i);
                expect((call.outcome as { error: unknown }).error).to.be.instanceOf(BridgeError);
              }
              fill();
            } else if (step.op === 'release') {
              const running = calls
                .map((c, i) => [c, i] as const)
                .filter(([c]) => c.state === 'running');
              if (running.length === 0) continue;
              await check();
              await release(running[step.pick % running.length][1]);
            } else if (!closed) {
              await check();
              closed = true;
              for (const call of calls) {
                if (call.state === 'queued') call.state = 'closed-queued';
                if (call.state === 'running') call.state = 'closed-running';
              }
              await pool.close();
            }
            await check();
          }
          // Whatever still runs is released, oldest first, until nothing is left.
          for (let i = 0; i < calls.length; i++) {
            if (calls[i].state === 'queued')
              await until(() => calls[i].state === 'running' || started(i), `call ${i} queued`);
            if (calls[i].state === 'running') {
              await check();
              await release(i);
            }
          }
          for (let i = 0; i < calls.length; i++) await settle(i);
          calls.forEach((call, i) => {
            const outcome = call.outcome!;
            if (['closed-queued', 'closed-running', 'refused'].includes(call.state)) {
              expect(outcome, `call ${i}`)
                .to.have.property('error')
                .that.is.instanceOf(BridgeError);
            } else if (call.kind === 'value')
              expect(outcome, `call ${i}`).to.deep.equal({ value: i });
            else if (call.kind === 'throw') {
              expect(outcome, `call ${i}`).to.have.property('error').that.is.instanceOf(RangeError);
              expect((outcome as { error: Error }).error.message).to.equal(`call ${i}`);
            } else
              expect(outcome, `call ${i}`)
                .to.have.property('error')
                .that.is.instanceOf(BridgeError);
          });
          expect(pool.pending).to.equal(0);
        } finally {
          for (let i = 0; i < 16; i++) Atomics.store(flags, 2 * i + 1, 1);
          Atomics.notify(flags, 0);
          for (let i = 0; i < 16; i++) Atomics.notify(flags, 2 * i + 1);
          await pool.close();
        }
      }),
      { numRuns: 25 },
    );
  });
});
