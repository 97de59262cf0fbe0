import { describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode, ResetError, validationFailed } from '../../lib/errors.ts';

describe('error codes', () => {
  it.each(Object.keys(ERROR_CODES) as ErrorCode[])('%s is named in PascalCase for Step Functions', (code) => {
    const error = new ResetError(code, 'x');
    const pascal = code
      .toLowerCase()
      .split('_')
      .map((word) => word[0]?.toUpperCase() + word.slice(1))
      .join('');
    expect(error.name).toBe(code === 'INTERNAL' ? 'InternalError' : pascal);
    expect(error.httpStatus).toBe(ERROR_CODES[code].httpStatus);
  });

  it('marks exactly the documented retryable codes as retryable', () => {
    const retryable = (Object.keys(ERROR_CODES) as ErrorCode[]).filter((code) => ERROR_CODES[code].retryable);
    expect(retryable.sort()).toEqual(
      [
        'CLUSTER_STATE_CONFLICT',
        'PROVIDER_THROTTLED',
        'PROVIDER_UNAVAILABLE',
        'ROTATION_IN_PROGRESS',
        'SECRET_STORE_FAILED',
      ].sort(),
    );
  });

  it('quotes and cuts field names that a caller made up', () => {
    const error = validationFailed([
      { field: ' ', rule: 'is not a field of this request' },
      { field: `a\u0000${'x'.repeat(100)}`, rule: 'is not a field of this request' },
    ]);
    expect(error.fields?.[0]?.field).toBe('" "');
    expect(error.fields?.[1]?.field).toBe(`"a\\u0000${'x'.repeat(62)}…"`);
    expect(error.message).not.toContain('\u0000');
  });

  it('lists every field and rule in a validation message', () => {
    const error = validationFailed([
      { field: 'region', rule: 'must be one of KR, SGN, JPN' },
      { field: 'clusterId', rule: 'is required' },
    ]);
    expect(error.message).toBe('Invalid request: region must be one of KR, SGN, JPN; clusterId is required');
    expect(error.fields).toHaveLength(2);
  });
});
