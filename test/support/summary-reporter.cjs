// Mocha's dot reporter, plus one closing line a CI can read: "N passed, N failed[, N skipped]".
const { Base, Dot } = require('mocha').reporters;

class SummaryReporter extends Dot {
  constructor(runner, options) {
    super(runner, options);
    runner.once('end', () => {
      const { passes, failures, pending } = this.stats;
      Base.consoleLog(
        `${passes} passed, ${failures} failed${pending ? `, ${pending} skipped` : ''}`,
      );
    });
  }
}

module.exports = SummaryReporter;
