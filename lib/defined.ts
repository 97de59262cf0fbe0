/**
 * The object without its undefined-valued properties, so that an optional field is absent rather
 * than present as `undefined` (answers and records are JSON; their readers test `in` and `toEqual`).
 */
export const definedOnly = <T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } =>
  Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
