import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { type ImportGraph, importCircles, importGraph } from '../support/import-graph.ts';

// The shape of lib/ (docs/design.md, Layering): data flows one way, so no module imports one that
// imports it back, type imports included; lib/ is what functions/, sandbox/, scripts/ and tests/
// build on, never the other way; providers know nothing of events, middleware or the rotation.

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const lib = importGraph(ROOT, 'lib');

/** Every import of a module under `from` whose target lies under one of `folders`, as `a → b`. */
const importsInto = (graph: ImportGraph, from: string, folders: readonly string[]): string[] =>
  [...graph].flatMap(([module, targets]) =>
    module.startsWith(from)
      ? targets
          .filter((target) => folders.some((folder) => target.startsWith(folder)))
          .map((t) => `${module} → ${t}`)
      : [],
  );

describe('the import walker', () => {
  const fixture = mkdtempSync(join(tmpdir(), 'import-graph-'));
  afterAll(() => rmSync(fixture, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(fixture, path)), { recursive: true });
    writeFileSync(join(fixture, path), text);
  };

  it('sees type-only imports, re-exports, dynamic imports and imports that leave the folder', () => {
    write('src/a.ts', "import type { B } from './b.ts';\nexport const a = 1;\n");
    write('src/b.ts', "export { c } from './deep/c.ts';\nexport type B = number;\n");
    write('src/deep/c.ts', "import { fake } from '../../tests/fake.ts';\nexport const c = fake;\n");
    write('src/d.ts', "import * as z from 'zod/mini';\nexport const d = () => import('./a.ts');\n");
    write('src/e.d.ts', "import type { B } from './b.ts';\n");
    expect(Object.fromEntries(importGraph(fixture, 'src'))).toEqual({
      'src/a.ts': ['src/b.ts'],
      'src/b.ts': ['src/deep/c.ts'],
      'src/deep/c.ts': ['tests/fake.ts'],
      'src/d.ts': ['src/a.ts'],
    });
  });

  it('finds every circle, a type-only one and a module importing itself included, and none in a tree', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c', 'x']],
      ['c', ['a']],
      ['d', ['d']],
      ['e', ['f', 'outside']],
      ['f', ['e']],
      ['x', []],
    ]);
    expect(importCircles(graph)).toEqual(
      expect.arrayContaining([
        ['a', 'b', 'c', 'a'],
        ['d', 'd'],
        ['e', 'f', 'e'],
      ]),
    );
    expect(importCircles(graph)).toHaveLength(3);
    expect(
      importCircles(
        new Map([
          ['a', ['b', 'c']],
          ['b', ['c']],
          ['c', []],
        ]),
      ),
    ).toEqual([]);
  });

  it('finds the circles lib/ had before the CSS API got its own folder', () => {
    write('before/errors.ts', "import type { ErrorReport } from './result.ts';\n");
    write('before/result.ts', "import type { ErrorCode } from './errors.ts';\n");
    write('before/otc/index.ts', "import { createCssClient } from './client.ts';\n");
    write('before/otc/client.ts', "import type { OtcCredentials } from './index.ts';\n");
    expect(importCircles(importGraph(fixture, 'before'))).toEqual(
      expect.arrayContaining([
        ['before/errors.ts', 'before/result.ts', 'before/errors.ts'],
        ['before/otc/client.ts', 'before/otc/index.ts', 'before/otc/client.ts'],
      ]),
    );
  });
});

describe('lib/', () => {
  it('is read whole (every folder of it)', () => {
    const folders = new Set([...lib.keys()].map((module) => module.split('/').slice(0, -1).join('/')));
    expect([...folders].sort()).toEqual(
      expect.arrayContaining([
        'lib',
        'lib/events',
        'lib/middleware',
        'lib/providers/css',
        'lib/providers/ncloud',
      ]),
    );
    expect(lib.get('lib/result.ts')).toContain('lib/errors.ts');
  });

  it('has no import circle, type-only imports included', () => {
    expect(importCircles(lib)).toEqual([]);
  });

  it('imports nothing from functions/, sandbox/, scripts/ or tests/', () => {
    const outside = [...lib.values()].flat().filter((target) => !target.startsWith('lib/'));
    expect(outside).toEqual([]);
  });

  it('has providers that know nothing of events, middleware or the rotation', () => {
    expect(importsInto(lib, 'lib/providers/', ['lib/events/', 'lib/middleware/', 'lib/rotation/'])).toEqual(
      [],
    );
  });
});
