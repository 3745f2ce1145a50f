import * as path from 'node:path';
import {
  describeCircle,
  type ImportGraph,
  importCircles,
  importsAgainstTheGrain,
  readImportGraph,
} from './import-graph';

const ROOT = path.join(__dirname, '..', '..');

/** What is deployed or operates the deployment: it must run without the local harness or the bench. */
const PRODUCT = ['ops', 'lib', 'lambdas', 'bin', 'config'];
const HARNESS = ['local', 'bench'];

describe('the import graph of the repository (tests aside)', () => {
  const graph = readImportGraph(ROOT);

  test('is read: every source folder has files, and their imports resolve to files', () => {
    const folders = new Set([...graph.keys()].map((file) => file.split('/')[0]));
    expect([...folders]).toEqual(expect.arrayContaining([...PRODUCT, ...HARNESS]));
    expect(graph.get('bin/app.ts')).toEqual(
      expect.arrayContaining(['config/environments.ts', 'lib/pipeline-stack.ts']),
    );
  });

  test('has no import circle (each is named as a loop of files)', () => {
    expect(importCircles(graph).map(describeCircle)).toEqual([]);
  });

  test(`has no import from ${PRODUCT.join('/, ')}/ into ${HARNESS.join('/ or ')}/ (each is named)`, () => {
    expect(importsAgainstTheGrain(graph, PRODUCT, HARNESS)).toEqual([]);
  });
});

describe('the checks themselves', () => {
  const graphOf = (edges: Record<string, string[]>): ImportGraph => new Map(Object.entries(edges));

  test('name each circle as a loop through its files, and only circles', () => {
    const graph = graphOf({
      'a.ts': ['b.ts'],
      'b.ts': ['c.ts', 'd.ts'],
      'c.ts': ['a.ts'],
      'd.ts': ['g.ts'],
      'g.ts': ['d.ts', 'h.ts'],
      'h.ts': ['g.ts'],
      'e.ts': ['e.ts'],
      'f.ts': ['d.ts'],
    });
    expect(importCircles(graph).map(describeCircle).sort()).toEqual([
      'a.ts -> b.ts -> c.ts -> a.ts',
      'd.ts -> g.ts -> d.ts (in the same circle: h.ts)',
      'e.ts -> e.ts',
    ]);
  });

  test('name each import from a lower folder into a higher one', () => {
    const graph = graphOf({
      'ops/cli.ts': ['local/runner/config.ts', 'lib/config.ts'],
      'local/runner/config.ts': ['lib/config.ts'],
      'lib/config.ts': [],
    });
    expect(importsAgainstTheGrain(graph, PRODUCT, HARNESS)).toEqual(['ops/cli.ts -> local/runner/config.ts']);
  });
});
