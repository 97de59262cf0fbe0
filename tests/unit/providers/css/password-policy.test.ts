import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DIGITS,
  generatePassword,
  LOWER,
  passwordViolations,
  UPPER,
} from '../../../../lib/password/policy.ts';
import { cssAdminPasswordPolicy as policy } from '../../../../lib/providers/css/password-policy.ts';
import { cssPasswordProblem } from '../../../../sandbox/otc-css.ts';

// The published rule: 8–32 characters, at least three of upper case, lower case, digits and
// ~!@#$%^&*()-_=+\|[{}];:,<.>/?, nothing else. The simulator's rule is written apart from the
// policy, so each property is checked against both.

const PUBLISHED_SPECIALS = '~!@#$%^&*()-_=+\\|[{}];:,<.>/?';
const CLASSES = [LOWER, UPPER, DIGITS, PUBLISHED_SPECIALS];
const ALLOWED = CLASSES.join('');

/** A password made of the given classes only, using each of them at least once. */
const passwordOf = (classes: string[], minLength = 8, maxLength = 32) =>
  fc
    .tuple(
      fc.tuple(...classes.map((chars) => fc.constantFrom(...chars))),
      fc.array(fc.constantFrom(...classes.join('')), {
        minLength: minLength - classes.length,
        maxLength: maxLength - classes.length,
      }),
    )
    .chain(([required, rest]) => {
      const chars = [...required, ...rest];
      return fc.shuffledSubarray(chars, { minLength: chars.length, maxLength: chars.length });
    })
    .map((chars) => chars.join(''));

const validPassword = fc.subarray(CLASSES, { minLength: 3 }).chain((classes) => passwordOf(classes));
const twoClassPassword = fc
  .subarray(CLASSES, { minLength: 2, maxLength: 2 })
  .chain((classes) => passwordOf(classes));

const outsideChar = fc
  .integer({ min: 0, max: 0x10ffff })
  .filter((cp) => (cp < 0xd800 || cp > 0xdfff) && !ALLOWED.includes(String.fromCodePoint(cp)))
  .map((cp) => String.fromCodePoint(cp));

describe('OTC CSS admin password policy', () => {
  it('accepts 10,000 passwords built to the rule, as does the simulator', () => {
    fc.assert(
      fc.property(validPassword, (password) => {
        expect(passwordViolations(policy, password)).toEqual([]);
        expect(cssPasswordProblem(password)).toBeUndefined();
      }),
      { numRuns: 10_000 },
    );
  });

  it('generates 10,000 passwords of 32 characters that pass the rule', () => {
    for (let i = 0; i < 10_000; i++) {
      const password = generatePassword(policy);
      expect(password).toHaveLength(32);
      expect(passwordViolations(policy, password)).toEqual([]);
      expect(cssPasswordProblem(password)).toBeUndefined();
    }
  });

  it('refuses any character outside the allowed set, wherever it is', () => {
    fc.assert(
      fc.property(passwordOf([LOWER, UPPER, DIGITS], 8, 31), outsideChar, fc.nat(), (base, char, at) => {
        const position = at % (base.length + 1);
        const password = base.slice(0, position) + char + base.slice(position);
        expect(passwordViolations(policy, password)).toContainEqual(expect.stringMatching(/^must use only/));
        expect(cssPasswordProblem(password)).toBe('contains a character that is not allowed');
      }),
      { numRuns: 2_000 },
    );
  });

  it('allows exactly the published special characters among printable ASCII', () => {
    const refused = [];
    for (let code = 0x20; code < 0x7f; code++) {
      const char = String.fromCharCode(code);
      if (passwordViolations(policy, `Abcdef1${char}`).length > 0) refused.push(char);
    }
    expect(refused).toEqual([' ', '"', "'", '`']);
  });

  it('refuses passwords that use only two classes', () => {
    fc.assert(
      fc.property(twoClassPassword, (password) => {
        expect(passwordViolations(policy, password)).toEqual([
          'must contain at least 3 of: lower-case letters, upper-case letters, digits, special characters',
        ]);
        expect(cssPasswordProblem(password)).toMatch(/at least three/);
      }),
      { numRuns: 2_000 },
    );
  });

  it('refuses 7 and 33 characters, accepts 8 and 32', () => {
    expect(passwordViolations(policy, 'Abcde1!')).toEqual(['must be 8 to 32 characters long']);
    expect(passwordViolations(policy, `Ab1!${'x'.repeat(29)}`)).toEqual(['must be 8 to 32 characters long']);
    expect(passwordViolations(policy, 'Abcdef1!')).toEqual([]);
    expect(passwordViolations(policy, `Ab1!${'x'.repeat(28)}`)).toEqual([]);
  });

  it('refuses admin and admin reversed, in any case (tested without the length rule)', () => {
    // Both are shorter than 8 characters, so the length rule refuses them first; a copy of the
    // policy without it shows that the values themselves are refused.
    const shortPolicy = { ...policy, minLength: 1, minClasses: 1 };
    for (const value of ['admin', 'ADMIN', 'Admin', 'nimda', 'NiMdA']) {
      expect(passwordViolations(shortPolicy, value)).toEqual(['must not be any of: admin, nimda']);
    }
    expect(passwordViolations(shortPolicy, 'admins')).toEqual([]);
    expect(passwordViolations(policy, 'admin').length).toBeGreaterThan(0);
  });
});
