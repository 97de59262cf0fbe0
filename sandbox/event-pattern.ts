// EventBridge event-pattern matching for the subset the project's rules use: objects nest; a list
// of values matches when one of the event's leaf values at that key equals one of them;
// `{"exists": true | false}` matches on whether the key has a leaf value at all;
// `{"anything-but": value | [values]}` matches when the key has a leaf value that is none of them
// (an absent key matches no anything-but, as in EventBridge); and `"$or": [pattern, …]` matches
// when one of its patterns does. Other content filters (prefix, numeric, anything-but's prefix, …)
// are not implemented and never match.
//
// Leaf values, as EventBridge sees them: a scalar (`null` included) is one; an array gives its
// scalars (and those of arrays nested in it); an object is an intermediate node and gives none.
// So, as in EventBridge ("exists matching only works on leaf nodes"), `{"exists": false}` matches
// a key that is absent, an empty array, or an object.

type Pattern = { [key: string]: Pattern | ReadonlyArray<unknown> };

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const isScalar = (value: unknown): boolean =>
  value === null || ['string', 'number', 'boolean'].includes(typeof value);

const leafValues = (value: unknown): unknown[] => {
  if (Array.isArray(value)) return value.flatMap(leafValues);
  return value === undefined || isObject(value) ? [] : [value];
};

const matchesFilter = (filter: Record<string, unknown>, values: unknown[]): boolean => {
  const [name, ...others] = Object.keys(filter);
  if (others.length > 0) return false;
  if (name === 'exists' && typeof filter.exists === 'boolean') {
    return values.length > 0 === filter.exists;
  }
  if (name === 'anything-but') {
    const excluded = Array.isArray(filter[name]) ? (filter[name] as unknown[]) : [filter[name]];
    if (!excluded.every(isScalar)) return false;
    return values.some((value) => !excluded.includes(value));
  }
  return false;
};

export const matchesPattern = (pattern: Pattern, event: unknown): boolean =>
  Object.entries(pattern).every(([key, expected]) => {
    if (key === '$or') {
      return (
        Array.isArray(expected) &&
        expected.some((alternative) => isObject(alternative) && matchesPattern(alternative as Pattern, event))
      );
    }
    const actual = isObject(event) ? event[key] : undefined;
    if (Array.isArray(expected)) {
      const values = leafValues(actual);
      return expected.some((candidate) =>
        isObject(candidate) ? matchesFilter(candidate, values) : values.includes(candidate),
      );
    }
    return isObject(expected) && matchesPattern(expected as Pattern, actual);
  });
