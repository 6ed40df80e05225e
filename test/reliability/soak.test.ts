// The bounded soak: the same harness as `npm run soak`, with 20,000 calls in real time (a few seconds).
import { expect } from 'chai';
import {
  brokenInvariants,
  formatReport,
  leakedHandles,
  runSoak,
  type SoakReport,
} from './soak-harness.js';

describe('reliability: soak with faults (20,000 calls, real time)', function () {
  this.timeout(60_000);
  let report: SoakReport;

  before(async () => {
    report = await runSoak({ calls: 20_000, callers: 64, seed: 11, timeoutMs: 10 });
    if (process.env.SOAK_REPORT) console.log(formatReport(report));
  });

  it('settles every call exactly once, each rejection with an Error', () => {
    expect([report.unsettled, report.settledTwice, report.nonErrorRejections]).to.deep.equal([
      0, 0, 0,
    ]);
  });

  it('raises no unhandled rejection and no uncaught exception', () => {
    expect([report.unhandledRejections, report.uncaughtExceptions]).to.deep.equal([0, 0]);
  });

  it('ends each call with an outcome the faults explain', () => {
    expect(report.unexpected, report.unexpectedSample).to.equal(0);
    for (const outcome of ['ok', 'fallback (open circuit)', 'caller abort', 'rate limited'])
      expect(report.outcomes[outcome] ?? 0, outcome).to.be.above(0);
    expect(report.timeouts, 'tries timed out').to.be.above(0);
  });

  it('makes only legal breaker transitions, and makes some', () => {
    expect(report.illegalTransitions).to.equal(0);
    expect(report.breakerTransitions).to.be.above(0);
  });

  it('never admits more than the token bucket holds, nor more calls than the concurrency limit', () => {
    expect(report.overAdmissions).to.equal(0);
    expect(report.maxActive).to.be.at.most(report.concurrencyLimit);
  });

  it('leaves no active handle behind that was not there before', () => {
    expect(leakedHandles(report)).to.deep.equal([]);
  });

  it('keeps the heap after GC within 8 MB of the start', () => {
    expect(report.heapAfterMb - report.heapBeforeMb).to.be.below(8);
  });

  it('keeps every invariant (summary)', () => {
    expect(brokenInvariants(report, 8)).to.deep.equal([]);
  });
});
