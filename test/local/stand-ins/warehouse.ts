import type { PGlite } from '@electric-sql/pglite';

/** A fresh in-memory warehouse; needs `@jest-environment ./test/local/stand-ins/pglite-environment.ts`. */
export async function createWarehouse(): Promise<PGlite> {
  const nativePGlite = (globalThis as { NativePGlite?: typeof PGlite }).NativePGlite;
  if (!nativePGlite) {
    throw new Error(
      'PGlite is not available: add the docblock @jest-environment ./test/local/stand-ins/pglite-environment.ts',
    );
  }
  return nativePGlite.create();
}
