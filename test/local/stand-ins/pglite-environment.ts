import { PGlite } from '@electric-sql/pglite';
import NodeEnvironment from 'jest-environment-node';

/**
 * PGlite loads its WebAssembly through dynamic import(), which Jest's VM sandbox refuses
 * without --experimental-vm-modules. Test environments load in Node's own context, so this
 * one imports PGlite here and hands the class to the tests as `globalThis.NativePGlite`
 * (see `warehouse.ts`). Its objects come from another realm: compare them structurally,
 * never with instanceof.
 */
export default class PGliteEnvironment extends NodeEnvironment {
  async setup(): Promise<void> {
    await super.setup();
    this.global.NativePGlite = PGlite;
  }
}
