import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generatePassword, type PasswordPolicy, passwordViolations } from '../../../lib/password/policy.ts';
import { ncloudCmakPasswordPolicy } from '../../../lib/providers/ncloud/password-policy.ts';

// Naver's published specials less the ones its API reference forbids (see password-policy.ts).
const NCLOUD_SPECIALS = '~!@#$%^*()-_=[]{};:,.<>?';

const policy = ncloudCmakPasswordPolicy;
// Naver's forbidden characters and white space, plus specials outside Naver's Terraform set.
const FORBIDDEN = ["'", '"', '`', '₩', '/', '&', ' ', '\t', '\n', '+', '\\', '|', 'é', '가', '😀'];

describe('the CMAK password policy', () => {
  it('accepts every one of 10,000 generated passwords', () => {
    for (let i = 0; i < 10_000; i++) {
      const password = generatePassword(policy);
      expect(password).toHaveLength(20);
      expect(passwordViolations(policy, password)).toEqual([]);
    }
  });

  it('generates passwords that differ (CSPRNG, not a fixed value)', () => {
    const seen = new Set(Array.from({ length: 1000 }, () => generatePassword(policy)));
    expect(seen.size).toBe(1000);
  });

  it('refuses every forbidden character wherever it stands in an otherwise valid password', () => {
    fc.assert(
      fc.property(fc.constantFrom(...FORBIDDEN), fc.nat(12), (bad, at) => {
        const valid = 'Abc123!xyz45';
        const password = valid.slice(0, at) + bad + valid.slice(at);
        expect(passwordViolations(policy, password)).toContain(
          `must use only letters, digits, special characters (${NCLOUD_SPECIALS})`,
        );
      }),
      { numRuns: 500 },
    );
  });

  it('refuses passwords outside 8 to 20 characters', () => {
    expect(passwordViolations(policy, 'Ab1!xyz')).toEqual(['must be 8 to 20 characters long']);
    expect(passwordViolations(policy, 'Ab1!xyzw')).toEqual([]);
    expect(passwordViolations(policy, `Ab1!${'x'.repeat(16)}`)).toEqual([]);
    expect(passwordViolations(policy, `Ab1!${'x'.repeat(17)}`)).toEqual(['must be 8 to 20 characters long']);
  });

  it('requires a letter, a digit and a special character', () => {
    const rule = 'must contain at least one of each: letters, digits, special characters';
    expect(passwordViolations(policy, 'abcdefgh1')).toEqual([rule]);
    expect(passwordViolations(policy, 'abcdefgh!')).toEqual([rule]);
    expect(passwordViolations(policy, '12345678!')).toEqual([rule]);
    expect(passwordViolations(policy, 'asd123!@#')).toEqual([]); // Naver's own example
  });

  it('never quotes the password in a rule', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 5, maxLength: 40 }), (password) => {
        for (const rule of passwordViolations(policy, password)) expect(rule).not.toContain(password);
      }),
    );
  });

  it('counts classes for "at least N of" rules and refuses forbidden values case-insensitively', () => {
    const threeOfFour: PasswordPolicy = {
      minLength: 5,
      maxLength: 32,
      classes: [
        { name: 'lower', chars: 'abcdefghijklmnopqrstuvwxyz' },
        { name: 'upper', chars: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' },
        { name: 'digits', chars: '0123456789' },
        { name: 'specials', chars: '!?' },
      ],
      minClasses: 3,
      forbiddenValues: ['admin'],
      generatedLength: 12,
    };
    expect(passwordViolations(threeOfFour, 'abcDEF12')).toEqual([]);
    expect(passwordViolations(threeOfFour, 'abcdef12')).toEqual([
      'must contain at least 3 of: lower, upper, digits, specials',
    ]);
    expect(passwordViolations({ ...threeOfFour, minClasses: 1 }, 'ADMIN')).toEqual([
      'must not be any of: admin',
    ]);
    for (let i = 0; i < 1000; i++)
      expect(passwordViolations(threeOfFour, generatePassword(threeOfFour))).toEqual([]);
  });

  it('refuses to generate for a length the policy does not allow', () => {
    expect(() => generatePassword({ ...policy, generatedLength: 21 })).toThrow('generatedLength');
  });
});
