// EventBridge event-pattern matching for the subset the project's rules use: objects nest; a list
// of values matches when one of the event's leaf values at that key equals one of them; and
// `{"exists": true | false}` matches on whether the key has a leaf value at all. Other content
// filters (prefix, numeric, anything-but, …) and `$or` are not implemented and never match.
//
// Leaf values, as EventBridge sees them: a scalar (`null` included) is one; an array gives its
// scalars (and those of arrays nested in it); an object is an intermediate node and gives none.
// So, as in EventBridge ("exists matching only works on leaf nodes"), `{"exists": false}` matches
// a key that is absent, an empty array, or an object.

type Pattern = { [key: string]: Pattern | ReadonlyArray<unknown> };

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const leafValues = (value: unknown): unknown[] => {
  if (Array.isArray(value)) return value.flatMap(leafValues);
  return value === undefined || isObject(value) ? [] : [value];
};

const matchesFilter = (filter: Record<string, unknown>, values: unknown[]): boolean => {
  const [name, ...others] = Object.keys(filter);
  if (name === 'exists' && others.length === 0 && typeof filter.exists === 'boolean') {
    return values.length > 0 === filter.exists;
  }
  return false;
};

export const matchesPattern = (pattern: Pattern, event: unknown): boolean =>
  Object.entries(pattern).every(([key, expected]) => {
    const actual = isObject(event) ? event[key] : undefined;
    if (Array.isArray(expected)) {
      const values = leafValues(actual);
      return expected.some((candidate) =>
        isObject(candidate) ? matchesFilter(candidate, values) : values.includes(candidate),
      );
    }
    return isObject(expected) && matchesPattern(expected as Pattern, actual);
  });
