import { expect } from 'vitest';
import { ResetError } from '../../lib/errors.ts';

/** The ResetError a promise rejects with; fails the test if it resolves or rejects otherwise. */
export const rejection = async (promise: Promise<unknown>): Promise<ResetError> => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ResetError);
  return error as ResetError;
};
