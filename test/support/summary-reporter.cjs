// Quiet: prints nothing while tests run, then mocha's epilogue (counts, and each failure in full) and one
// closing line a CI can read: "N passed, N failed[, N skipped]".
const { Base } = require('mocha').reporters;

class SummaryReporter extends Base {
  constructor(runner, options) {
    super(runner, options);
    runner.once('end', () => {
      this.epilogue();
      const { passes, failures, pending } = this.stats;
      Base.consoleLog(
        `${passes} passed, ${failures} failed${pending ? `, ${pending} skipped` : ''}`,
      );
    });
  }
}

module.exports = SummaryReporter;
