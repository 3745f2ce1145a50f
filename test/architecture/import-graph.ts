import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

/** Repository-relative path of a file → the repository files it imports (relative imports only). */
export type ImportGraph = Map<string, string[]>;

/** Folders that are not the project's source: dependencies, build output, and the tests themselves. */
const SKIPPED_FOLDERS = new Set(['node_modules', 'cdk.out', 'coverage', 'test']);

function sourceFiles(root: string, folder = ''): string[] {
  return fs.readdirSync(path.join(root, folder), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.posix.join(folder, entry.name);
    if (entry.isDirectory()) {
      return entry.name.startsWith('.') || SKIPPED_FOLDERS.has(entry.name) ? [] : sourceFiles(root, relative);
    }
    const isSource = entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts');
    return isSource && !entry.name.endsWith('.test.ts') ? [relative] : [];
  });
}

/** The file a relative specifier names, as Node and TypeScript resolve it; undefined when none exists. */
function resolveImport(root: string, from: string, specifier: string): string | undefined {
  const base = path.posix.join(path.posix.dirname(from), specifier);
  return [base, `${base}.ts`, `${base}/index.ts`].find((candidate) => {
    const full = path.join(root, candidate);
    return fs.existsSync(full) && fs.statSync(full).isFile();
  });
}

/**
 * Every non-test TypeScript file under `root` with the repository files it imports: `import`,
 * `import type`, `export … from`, `import()` and `require()` with a literal relative path.
 */
export function readImportGraph(root: string): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const file of sourceFiles(root)) {
    const { importedFiles } = ts.preProcessFile(fs.readFileSync(path.join(root, file), 'utf8'), true, true);
    const targets = importedFiles
      .map((imported) => imported.fileName)
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier) => {
        const target = resolveImport(root, file, specifier);
        if (!target) throw new Error(`${file} imports ${specifier}, which names no file`);
        return target;
      });
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** Files that import each other: all of them, and one loop of imports through them. */
export interface ImportCircle {
  files: string[];
  loop: string[];
}

/**
 * Each set of files that import each other (a strongly connected component of more than one
 * file, or a file importing itself), with the shortest loop from its first file.
 */
export function importCircles(graph: ImportGraph): ImportCircle[] {
  const index = new Map<string, number>();
  const lowLink = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  // Tarjan's algorithm: one depth-first pass finds every strongly connected component.
  const visit = (file: string) => {
    index.set(file, index.size);
    lowLink.set(file, index.get(file) as number);
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!index.has(target)) {
        visit(target);
        lowLink.set(file, Math.min(lowLink.get(file) as number, lowLink.get(target) as number));
      } else if (onStack.has(target)) {
        lowLink.set(file, Math.min(lowLink.get(file) as number, index.get(target) as number));
      }
    }
    if (lowLink.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop() as string;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    components.push(component);
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return components
    .filter((component) => component.length > 1 || graph.get(component[0])?.includes(component[0]))
    .map((component) => ({ files: component.sort(), loop: loopThrough(graph, component) }));
}

/** The shortest loop from the component's first file back to itself, staying inside the component. */
function loopThrough(graph: ImportGraph, component: string[]): string[] {
  const members = new Set(component);
  const start = component[0];
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.shift() as string;
    for (const target of graph.get(file) ?? []) {
      if (!members.has(target)) continue;
      if (target === start) {
        const loop = [start];
        for (let at: string | undefined = file; at !== undefined && at !== start; at = cameFrom.get(at)) {
          loop.splice(1, 0, at);
        }
        return [...loop, start];
      }
      if (!cameFrom.has(target)) {
        cameFrom.set(target, file);
        queue.push(target);
      }
    }
  }
  return component;
}

/** Imports from a file under one of `lower` into a file under one of `higher`: `from -> to`. */
export function importsAgainstTheGrain(
  graph: ImportGraph,
  lower: readonly string[],
  higher: readonly string[],
): string[] {
  const under = (file: string, folders: readonly string[]) =>
    folders.some((folder) => file.startsWith(`${folder}/`));
  return [...graph].flatMap(([file, targets]) =>
    under(file, lower)
      ? targets.filter((target) => under(target, higher)).map((target) => `${file} -> ${target}`)
      : [],
  );
}

/** `a.ts -> b.ts -> a.ts`, and the circle's other files when the loop does not pass them all. */
export function describeCircle(circle: ImportCircle): string {
  const others = circle.files.filter((file) => !circle.loop.includes(file));
  return `${circle.loop.join(' -> ')}${others.length > 0 ? ` (in the same circle: ${others.join(', ')})` : ''}`;
}
