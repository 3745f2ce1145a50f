import { olderVersion } from '../../bench/consolidation';

/** Every older version of a key for a factor, oldest first, as the history bench seeds them. */
const versionsOf = (largeFactor: number) =>
  Array.from({ length: largeFactor - 1 }, (_, index) => olderVersion(index + 1, largeFactor));

const CURRENT_VERSIONS_FROM = '2025-01-01 00:00:00';

describe("the history bench's older versions of a key", () => {
  test.each([2, 3, 10, 14, 15, 40, 1000])(
    'with %i versions per key: back to back, each after the one before, all before the current version',
    (largeFactor) => {
      const versions = versionsOf(largeFactor);

      for (const [index, version] of versions.entries()) {
        const next = versions[index + 1];
        if (next) {
          expect(version.validTo).toBe(next.validFrom);
          expect(version.validFrom < (version.validTo as string)).toBe(true);
        } else {
          // The newest ends where its key's current version starts (from 2025-01-01 on).
          expect(version.validTo).toBeUndefined();
          expect(version.validFrom < CURRENT_VERSIONS_FROM).toBe(true);
        }
      }
      expect(versions[0].validFrom).toBe('2024-01-01 00:00:00');
    },
  );

  test('refuses a version the factor does not have', () => {
    expect(() => olderVersion(10, 10)).toThrow(/version 10 of 9 older versions/);
    expect(() => olderVersion(0, 10)).toThrow(/version 0 of 9/);
  });
});
