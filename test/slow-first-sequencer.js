const Sequencer = require('@jest/test-sequencer').default;

/**
 * CI starts from a clean clone, so jest has no timings to order the suites by: the long
 * end-to-end suites go first, so that the two workers finish together instead of one waiting
 * on the last long suite.
 */
class SlowFirstSequencer extends Sequencer {
  sort(tests) {
    const weight = (test) =>
      test.path.includes('/e2e/scale.')
        ? 3
        : test.path.includes('/e2e/')
          ? 2
          : test.path.includes('/sql/')
            ? 1
            : 0;
    return [...super.sort(tests)].sort((a, b) => weight(b) - weight(a));
  }
}

module.exports = SlowFirstSequencer;
