import type { SuccessResult } from '../result.ts';

// Results answered again (from a key's record, or a native step with nothing left to do) are not a
// new attempt, so they get no outcome event and count in no metric. The mark is kept apart from the
// result itself, which must be answered exactly as the first time.

const replays = new WeakSet<object>();

/** Whether `result` was marked by replayOf; anything else, objects or not, is no replay. */
export const isReplay = (result: unknown): boolean =>
  // WeakSet.prototype.has answers false for a value that is not an object.
  replays.has(result as object);

export const replayOf = (result: SuccessResult): SuccessResult => {
  replays.add(result);
  return result;
};
