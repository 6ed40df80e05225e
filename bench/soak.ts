// `npm run soak`: a million calls through a service decorated with every policy, with faults injected;
// prints the figures and exits non-zero when an invariant broke. Real time: a soak is not a unit test.
import { brokenInvariants, formatReport, runSoak } from '../test/reliability/soak-harness.js';

const calls = Number(process.env.SOAK_CALLS ?? 1_000_000);
const report = await runSoak({
  calls,
  callers: 64,
  seed: Number(process.env.SOAK_SEED ?? 11),
  timeoutMs: 10,
  progress: (line) => console.log(line),
});
console.log(formatReport(report));
const broken = brokenInvariants(report, 16);
if (broken.length > 0) {
  console.error(`soak FAILED:\n  ${broken.join('\n  ')}`);
  process.exitCode = 1;
} else console.log('soak passed: every invariant held');
