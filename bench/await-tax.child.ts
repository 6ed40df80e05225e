/*
 * Child process of await-tax.bench: measures the cost of a bare `await` in a process set up one of three
 * ways, then prints `{"mode":…,"nsPerAwait":…,"asyncContext":…}` as its last line (`asyncContext`: in mode
 * dspu, whether dspu's call context follows awaits by default on this Node). Nothing is imported statically beyond the
 * dependency-free harness, so mode "none" really has nothing else loaded.
 *
 * Modes: none (nothing else imported), dspu (dspu imported and its retry and timeout paths exercised,
 * including a timeout that fires and a signal that is read), als (one AsyncLocalStorage.run(), for contrast).
 * Modes none and als run an equivalent amount of plain async work instead of dspu's.
 */
import { bareAsyncCall, measure } from './harness.js';

type Mode = 'none' | 'dspu' | 'als';

const fast = async (): Promise<number> => 1;

let asyncContext: boolean | undefined;

async function exerciseDspu(): Promise<void> {
  const dspu = await import('../src/index.js');
  asyncContext = dspu.isAsyncContextEnabled();
  const retried = dspu.retry(fast, { maxAttempts: 3 });
  const budget = new dspu.Timeout(5000);
  for (let i = 0; i < 50_000; i++) {
    await retried();
    await dspu.runWithTimeout(() => fast(), 5000);
    await budget.run(() => fast());
  }
  // The less travelled paths too: a signal asked for, a timeout that fires, a retry that waits.
  for (let i = 0; i < 1_000; i++) await budget.run(async (signal) => signal.aborted);
  await dspu.runWithTimeout(() => new Promise<never>(() => {}), 5).catch((error: unknown) => error);
  let failures = 0;
  await dspu.retry(
    async () => {
      if (failures++ === 0) throw new Error('first try fails');
      return 1;
    },
    { baseDelay: 1 },
  )();
}

// The same amount of async work without dspu, so that every mode measures a process with a similar history
// (grown heap, compiled promise builtins) and differs only in what was imported and run.
async function exercisePlainCode(): Promise<void> {
  const wrapped = async (): Promise<number> => await fast();
  const settled = (): Promise<number> =>
    new Promise<number>((resolve, reject) => {
      fast().then(resolve, reject);
    });
  for (let i = 0; i < 50_000; i++) {
    await wrapped();
    await settled();
    await settled();
  }
}

async function prepare(mode: Mode): Promise<void> {
  if (mode === 'als') {
    const { AsyncLocalStorage } = await import('node:async_hooks');
    new AsyncLocalStorage<number>().run(1, () => {});
  }
  if (mode === 'dspu') await exerciseDspu();
  else await exercisePlainCode();
}

const mode = process.argv[2] as Mode;
if (!['none', 'dspu', 'als'].includes(mode)) throw new Error(`unknown mode "${mode}"`);
await prepare(mode);
const { nsPerCall } = await measure('bare await', bareAsyncCall, { repeats: 7, sampleMs: 40 });
console.log(JSON.stringify({ mode, nsPerAwait: nsPerCall, asyncContext }));
