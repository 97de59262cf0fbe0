import { randomInt } from 'node:crypto';

// A provider's password rule as data, so that one validator and one generator serve every
// provider and a generated password satisfies the rule by construction. Written by hand: the
// password libraries on npm either use Math.random or cannot express "three of four classes".

interface CharacterClass {
  name: string;
  chars: string;
}

export interface PasswordPolicy {
  minLength: number;
  maxLength: number;
  /** Every character must belong to one of these classes. */
  classes: ReadonlyArray<CharacterClass>;
  /** How many distinct classes a password must use. */
  minClasses: number;
  /** Whole values refused, compared case-insensitively. */
  forbiddenValues?: ReadonlyArray<string>;
  /** Length of generated passwords. */
  generatedLength: number;
  /**
   * Characters that generated passwords leave out (the stage's PASSWORD_EXCLUDE_CHARACTERS), set
   * with `excludingCharacters`. A supplied password is checked against the rule alone.
   */
  excludeFromGenerated?: string;
}

/**
 * What generated passwords leave out unless the stage says otherwise: AWS's rotation templates'
 * EXCLUDE_CHARACTERS default. Each breaks a common consumer when unquoted: `/` and `@` a URL's
 * user-info (`user:password@host/`), `"` `'` `\` a shell, a JAAS or a JSON string. Every provider's
 * rule keeps enough specials without them (checked at package time and at start).
 */
export const DEFAULT_EXCLUDE_CHARACTERS = '/@"\'\\';

export const LOWER = 'abcdefghijklmnopqrstuvwxyz';
export const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
export const DIGITS = '0123456789';

/**
 * The rules a password breaks, as sentences that never quote the password. An empty list means
 * the password is valid.
 */
export const passwordViolations = (policy: PasswordPolicy, password: string): string[] => {
  const rules: string[] = [];
  const chars = [...password];
  if (chars.length < policy.minLength || chars.length > policy.maxLength) {
    rules.push(`must be ${policy.minLength} to ${policy.maxLength} characters long`);
  }
  const used = new Set<string>();
  let outside = false;
  for (const char of chars) {
    const cls = policy.classes.find((candidate) => candidate.chars.includes(char));
    if (cls) used.add(cls.name);
    else outside = true;
  }
  if (outside) {
    rules.push(`must use only ${policy.classes.map(describeClass).join(', ')}`);
  }
  if (used.size < policy.minClasses) {
    const names = policy.classes.map((cls) => cls.name).join(', ');
    rules.push(
      policy.minClasses === policy.classes.length
        ? `must contain at least one of each: ${names}`
        : `must contain at least ${policy.minClasses} of: ${names}`,
    );
  }
  const lowered = password.toLowerCase();
  if (policy.forbiddenValues?.some((value) => value.toLowerCase() === lowered)) {
    rules.push(`must not be any of: ${policy.forbiddenValues.join(', ')}`);
  }
  return rules;
};

const describeClass = (cls: CharacterClass): string =>
  cls.chars === LOWER || cls.chars === UPPER || cls.chars === DIGITS || cls.chars === LOWER + UPPER
    ? cls.name
    : `${cls.name} (${cls.chars})`;

const pick = (chars: string): string => chars[randomInt(chars.length)] as string;

/** The policy's classes as generation may draw from them: without the excluded characters, none empty. */
const generationClasses = (policy: PasswordPolicy, exclude: string): CharacterClass[] => {
  const excluded = new Set(exclude);
  return policy.classes
    .map((cls) => ({ name: cls.name, chars: [...cls.chars].filter((char) => !excluded.has(char)).join('') }))
    .filter((cls) => cls.chars.length > 0);
};

/**
 * Why no password can be generated under the policy without `exclude`'s characters, as a sentence
 * that names the classes left; undefined when passwords can be.
 */
export const exclusionProblem = (policy: PasswordPolicy, exclude: string): string | undefined => {
  const left = generationClasses(policy, exclude);
  if (left.length >= policy.minClasses) return undefined;
  const emptied = policy.classes.filter((cls) => !left.some((kept) => kept.name === cls.name));
  return (
    `excluding them leaves no ${emptied.map((cls) => cls.name).join(', no ')}: ` +
    `${left.length} character class${left.length === 1 ? '' : 'es'} where the rule needs ${policy.minClasses}`
  );
};

/**
 * The policy, with generated passwords leaving out `exclude`'s characters. Throws `subject: why`
 * when that makes the policy impossible to satisfy, so that a bad setting stops the function at start.
 */
export const excludingCharacters = (
  policy: PasswordPolicy,
  exclude: string,
  subject: string,
): PasswordPolicy => {
  const problem = exclusionProblem(policy, exclude);
  if (problem) throw new Error(`${subject}: ${problem}`);
  return exclude === '' ? policy : { ...policy, excludeFromGenerated: exclude };
};

/** A password drawn from the CSPRNG that uses every class of the policy (less its excluded characters). */
export const generatePassword = (policy: PasswordPolicy): string => {
  const length = policy.generatedLength;
  if (length < policy.classes.length || length < policy.minLength || length > policy.maxLength) {
    throw new Error('generatedLength does not fit the policy');
  }
  const classes = generationClasses(policy, policy.excludeFromGenerated ?? '');
  if (classes.length < policy.minClasses) throw new Error('the excluded characters leave too few classes');
  const all = classes.map((cls) => cls.chars).join('');
  // One character from each class left guarantees minClasses (there are at least that many); the
  // rest is uniform over all of them.
  const chars = classes.map((cls) => pick(cls.chars));
  while (chars.length < length) chars.push(pick(all));
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j] as string, chars[i] as string];
  }
  return chars.join('');
};
