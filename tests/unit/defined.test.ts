import { describe, expect, it } from 'vitest';
import { definedOnly } from '../../lib/defined.ts';

describe('definedOnly', () => {
  it('drops undefined properties and keeps every other value, falsy ones included', () => {
    expect(definedOnly({ a: 1, b: undefined, c: 0, d: '', e: null, f: false })).toStrictEqual({
      a: 1,
      c: 0,
      d: '',
      e: null,
      f: false,
    });
    expect(Object.keys(definedOnly({ a: undefined }))).toEqual([]);
  });
});
