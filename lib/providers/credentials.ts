import * as z from 'zod/mini';

// The field rule of every provider's credential set. zod/mini carries no message catalogue, so each
// rule says what it wants; no message ever quotes the value.

/** An access key or secret key: a non-empty string. */
export const secretString = z
  .string({ error: 'must be a string' })
  .check(z.minLength(1, { error: 'must not be empty' }));
