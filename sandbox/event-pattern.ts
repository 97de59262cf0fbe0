// EventBridge event-pattern matching for the subset the project's rules use: objects nest, and a
// list of values matches when the event's value (or any element of an event's array) equals one
// of them. Content filters (prefix, numeric, exists, …) are not implemented and never match.

type Pattern = { [key: string]: Pattern | ReadonlyArray<unknown> };

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

export const matchesPattern = (pattern: Pattern, event: unknown): boolean =>
  Object.entries(pattern).every(([key, expected]) => {
    const actual = isObject(event) ? event[key] : undefined;
    if (Array.isArray(expected)) {
      const values = Array.isArray(actual) ? actual : [actual];
      return expected.some((candidate) => !isObject(candidate) && values.includes(candidate));
    }
    return isObject(expected) && matchesPattern(expected as Pattern, actual);
  });
