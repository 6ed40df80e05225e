// `npm run soak`: a million calls through a service decorated with every policy, with faults injected;
// prints the figures and exits non-zero when an invariant broke. Real time: a soak is not a unit test.
import { enableAsyncContext } from '../src/index.js';
import { brokenInvariants, formatReport, runSoak } from '../test/reliability/soak-harness.js';

const calls = Number(process.env.SOAK_CALLS ?? 1_000_000);
const seed = Number(process.env.SOAK_SEED ?? 11);
// SOAK_ASYNC_CONTEXT=1 soaks the AsyncLocalStorage context path instead of the synchronous one.
if (process.env.SOAK_ASYNC_CONTEXT === '1') enableAsyncContext();
// Printed first: the first write opens stdout's handle, which must not count as a handle the soak left.
console.log(
  `soak: ${calls} calls, 64 callers, seed ${seed}${process.env.SOAK_ASYNC_CONTEXT === '1' ? ', async context' : ''}`,
);
const report = await runSoak({
  calls,
  callers: 64,
  seed,
  timeoutMs: 10,
  progress: (line) => console.log(line),
});
console.log(formatReport(report));
const broken = brokenInvariants(report, 16);
if (broken.length > 0) {
  console.error(`soak FAILED:\n  ${broken.join('\n  ')}`);
  process.exitCode = 1;
} else console.log('soak passed: every invariant held');
