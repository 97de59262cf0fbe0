import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

// The imports between a folder's modules, read with TypeScript's own pre-processor (the scanner tsc
// uses to find a program's files): `import`, `import type`, `export … from` and `import()` alike,
// so that a circle made only of type imports is found too.

/** Module path (relative to the root, `/`-separated) to the paths of what it imports. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

const sourceFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
    .map((entry) => join(entry.parentPath, entry.name));

/**
 * The relative imports of every module under `dir`, as paths relative to `root`; an import that
 * leaves `dir` (e.g. `../tests/…`) is kept, so that layering rules can see it. Package imports are
 * left out.
 */
export const importGraph = (root: string, dir: string): ImportGraph => {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(join(root, dir)).sort()) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = importedFiles
      .map((reference) => reference.fileName)
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier) =>
        relative(root, resolve(dirname(file), specifier))
          .split('\\')
          .join('/'),
      );
    graph.set(relative(root, file).split('\\').join('/'), [...new Set(targets)]);
  }
  return graph;
};

/**
 * Every import circle, each once, as the modules on it with the first repeated at the end
 * (`a → b → a`). Tarjan's strongly connected components: a component of more than one module, or a
 * module that imports itself, holds a circle; one circle through it is shown.
 */
export const importCircles = (graph: ImportGraph): string[][] => {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node) as number);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) as number, low.get(next) as number));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) as number, index.get(next) as number));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string | undefined;
    do {
      member = stack.pop() as string;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    components.push(component);
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return components
    .filter(
      (component) =>
        component.length > 1 || (graph.get(component[0] as string) ?? []).includes(component[0] as string),
    )
    .map((component) => circleWithin(graph, new Set(component)));
};

/** One circle through a strongly connected component: a shortest way back to its first module. */
const circleWithin = (graph: ImportGraph, members: ReadonlySet<string>): string[] => {
  const start = [...members].sort()[0] as string;
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift() as string;
    for (const next of graph.get(node) ?? []) {
      if (!members.has(next)) continue;
      if (next === start) {
        const path = [node];
        while (path[0] !== start) path.unshift(cameFrom.get(path[0] as string) as string);
        return [...path, start];
      }
      if (!cameFrom.has(next)) {
        cameFrom.set(next, node);
        queue.push(next);
      }
    }
  }
  return [start];
};
