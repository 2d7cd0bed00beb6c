// A jest reporter: once every test file has run, the slowest ones, each with its wall time, so that
// whoever keeps the suite's time down (it runs on 2 cores) sees where it goes. Set
// JEST_SLOWEST_SUITES=0 to leave it out, or a number for how many to list (default 15).
class SlowestSuites {
  constructor(globalConfig, options = {}) {
    this.count = Number(process.env.JEST_SLOWEST_SUITES ?? options.count ?? 15);
    this.rootDir = globalConfig.rootDir;
  }

  onRunComplete(_contexts, results) {
    const suites = results.testResults
      .map((suite) => ({ file: suite.testFilePath, seconds: (suite.perfStats.end - suite.perfStats.start) / 1000 }))
      .filter((suite) => Number.isFinite(suite.seconds) && suite.seconds > 0)
      .sort((a, b) => b.seconds - a.seconds);
    if (!this.count || suites.length < 2) return;
    const total = suites.reduce((sum, suite) => sum + suite.seconds, 0);
    const lines = suites.slice(0, this.count).map((suite) => `  ${suite.seconds.toFixed(1).padStart(7)} s  ${suite.file.slice(this.rootDir.length + 1)}`);
    process.stderr.write(`\nslowest test files (of ${suites.length}, ${total.toFixed(0)} s of test-file time in all):\n${lines.join('\n')}\n`);
  }
}

module.exports = SlowestSuites;
