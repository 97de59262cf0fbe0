import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readConfig } from '../../../lib/config.ts';
import { resetMiddleware, resetOperation } from '../../../lib/handler.ts';
import {
  DEFAULT_EXCLUDE_CHARACTERS,
  excludingCharacters,
  exclusionProblem,
  generatePassword,
  passwordViolations,
} from '../../../lib/password/policy.ts';

/** The special characters each provider publishes (each password-policy.ts under lib/providers). */
const NCLOUD_SPECIALS = '~!@#$%^*()-_=[]{};:,.<>?';
const OTC_CSS_SPECIALS = '~!@#$%^&*()-_=+\\|[{}];:,<.>/?';

import { PROVIDERS } from '../../../lib/providers/registry.ts';

// PASSWORD_EXCLUDE_CHARACTERS: generated passwords leave the characters out and still meet every
// provider's rule; a setting that leaves a rule impossible is refused.

const byId = Object.fromEntries(PROVIDERS.map((provider) => [provider.id, provider]));
const ncloud = byId['ncloud-cdss']?.passwordPolicy;
const otc = byId['otc-css']?.passwordPolicy;
if (!ncloud || !otc) throw new Error('provider missing from the registry');

/** Every character some provider's rule admits, and a few that none does. */
const ALPHABET = [
  ...new Set(
    PROVIDERS.flatMap((provider) => provider.passwordPolicy.classes.flatMap((cls) => [...cls.chars])),
  ),
  ' ',
  'é',
  '`',
];

describe('generated passwords without the excluded characters', () => {
  it.each(PROVIDERS.map((provider) => [provider.id, provider] as const))(
    '%s: never contain an excluded character and always meet the rule (property)',
    (_id, provider) => {
      fc.assert(
        fc.property(
          fc.uniqueArray(fc.constantFrom(...ALPHABET), { maxLength: 60 }).map((chars) => chars.join('')),
          (exclude) => {
            const problem = exclusionProblem(provider.passwordPolicy, exclude);
            if (problem !== undefined) {
              expect(() => excludingCharacters(provider.passwordPolicy, exclude, 'setting')).toThrow(
                `setting: ${problem}`,
              );
              return;
            }
            const policy = excludingCharacters(provider.passwordPolicy, exclude, 'setting');
            for (let i = 0; i < 20; i++) {
              const password = generatePassword(policy);
              expect([...password].filter((char) => exclude.includes(char))).toEqual([]);
              expect(passwordViolations(provider.passwordPolicy, password)).toEqual([]);
              expect(password).toHaveLength(provider.passwordPolicy.generatedLength);
            }
          },
        ),
        { numRuns: 300 },
      );
    },
  );

  it('are still drawn at random from what is left (no fixed value)', () => {
    const policy = excludingCharacters(ncloud, DEFAULT_EXCLUDE_CHARACTERS, 'setting');
    expect(new Set(Array.from({ length: 500 }, () => generatePassword(policy))).size).toBe(500);
  });

  it("exclude AWS's default set by default, which every provider's rule allows", () => {
    expect(DEFAULT_EXCLUDE_CHARACTERS).toBe('/@"\'\\');
    expect(readConfig({}).passwordExcludeCharacters).toBe(DEFAULT_EXCLUDE_CHARACTERS);
    expect(readConfig({ PASSWORD_EXCLUDE_CHARACTERS: '' }).passwordExcludeCharacters).toBe('');
    for (const provider of PROVIDERS) {
      expect(
        exclusionProblem(provider.passwordPolicy, DEFAULT_EXCLUDE_CHARACTERS),
        provider.id,
      ).toBeUndefined();
    }
    // Empty: the policy as it is.
    expect(excludingCharacters(otc, '', 'setting')).toBe(otc);
  });

  it('do not change what a supplied password may hold: the rule is checked alone', () => {
    const policy = excludingCharacters(otc, DEFAULT_EXCLUDE_CHARACTERS, 'setting');
    expect(passwordViolations(policy, 'Abc/def@123x\\')).toEqual([]);
  });
});

describe('a setting that leaves a rule impossible', () => {
  it('is refused for Naver when it excludes every special character Naver allows, and says why', () => {
    expect(exclusionProblem(ncloud, NCLOUD_SPECIALS)).toBe(
      'excluding them leaves no special characters: 2 character classes where the rule needs 3',
    );
    // OTC needs three of four classes: without specials, letters of both cases and digits remain.
    expect(exclusionProblem(otc, OTC_CSS_SPECIALS)).toBeUndefined();
    expect(exclusionProblem(otc, `${OTC_CSS_SPECIALS}0123456789`)).toBe(
      'excluding them leaves no digits, no special characters: 2 character classes where the rule needs 3',
    );
  });

  it('stops the handler at start, naming the setting and the provider; other providers start', () => {
    const config = readConfig({ STAGE: 'test', PASSWORD_EXCLUDE_CHARACTERS: NCLOUD_SPECIALS });
    const ncloudCdss = byId['ncloud-cdss'];
    const otcCss = byId['otc-css'];
    if (!ncloudCdss || !otcCss) throw new Error('provider missing');
    const expected = `PASSWORD_EXCLUDE_CHARACTERS ${JSON.stringify(NCLOUD_SPECIALS)} leaves the ncloud-cdss password rule impossible: excluding them leaves no special characters`;
    expect(() => resetMiddleware(ncloudCdss, config)).toThrow(expected);
    expect(() => resetOperation(ncloudCdss, config)).toThrow(expected);
    expect(() => resetMiddleware(otcCss, config)).not.toThrow();
  });
});
