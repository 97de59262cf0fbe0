import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/** Naver's special characters, as the provider publishes them (lib/providers/ncloud/password-policy.ts). */
const NCLOUD_SPECIALS = '~!@#$%^*()-_=[]{};:,.<>?';

// The stage's excludeCharacters becomes PASSWORD_EXCLUDE_CHARACTERS, checked at package time
// against every provider's password rule (deploy/password-exclusion.cjs).

const exclusion = createRequire(import.meta.url)('../../deploy/password-exclusion.cjs') as (options: {
  resolveVariable: (name: string) => Promise<unknown>;
}) => Promise<string>;
const withParam = (value: unknown) => exclusion({ resolveVariable: async () => value });

describe('excludeCharacters at package time', () => {
  it("passes the default, an empty setting and any set every provider's rule survives", async () => {
    expect(await withParam('/@"\'\\')).toBe('/@"\'\\');
    expect(await withParam('')).toBe('');
    expect(await withParam(undefined)).toBe('');
    expect(await withParam(';,~`')).toBe(';,~`');
  });

  it('refuses a set that leaves a provider rule impossible, naming the parameter, the provider and why', async () => {
    await expect(withParam(NCLOUD_SPECIALS)).rejects.toThrow(
      `excludeCharacters ${JSON.stringify(NCLOUD_SPECIALS)} leaves a provider's password rule impossible: ncloud-cdss: excluding them leaves no special characters: 2 character classes where the rule needs 3`,
    );
    // No digits and no specials: every provider is named.
    await expect(withParam(`0123456789${NCLOUD_SPECIALS}&+\\|/`)).rejects.toThrow(
      /ncloud-cdss: .*; otc-css: .*; huaweicloud-css: /,
    );
  });

  it('refuses a value that is not a string', async () => {
    await expect(withParam(['/'])).rejects.toThrow('excludeCharacters must be a string of characters');
  });

  it('stops `serverless package` before anything is built', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sls-exclusion-'));
    try {
      const failure = await promisify(execFile)(
        'npx',
        [
          'serverless',
          'package',
          '--stage',
          'ci',
          '--package',
          dir,
          '--param',
          `excludeCharacters=${NCLOUD_SPECIALS}`,
        ],
        {
          env: {
            ...process.env,
            SLS_TELEMETRY_DISABLED: '1',
            ESBUILD_WORK_FOLDER: '.esbuild-exclusion-test',
          },
          timeout: 120_000,
        },
      ).then(
        () => undefined,
        (error: { stdout: string; stderr: string }) => `${error.stdout}${error.stderr}`,
      );
      expect(failure).toContain("leaves a provider's password rule impossible: ncloud-cdss");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
