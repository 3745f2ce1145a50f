import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.cjs';

// zod/mini keeps Lambda bundles small (zod's classic build brings every locale along,
// ~450 KB); English messages are the one locale the handlers need. Import `zod/mini`
// directly where schemas are written: a re-exported namespace would defeat tree-shaking.
z.config(en());

/** A string matching `pattern`, with the message a person can act on. */
export function matching(pattern: RegExp, message: string) {
  return z.string().check(z.regex(pattern, message));
}
