import type { SuccessResult } from '../result.ts';

// Results answered again (from a key's record, or a native step with nothing left to do) are not a
// new attempt, so they get no outcome event and count in no metric. The mark is kept apart from the
// result itself, which must be answered exactly as the first time.

const replays = new WeakSet<object>();

export const isReplay = (result: unknown): boolean =>
  typeof result === 'object' && result !== null && replays.has(result);

export const replayOf = (result: SuccessResult): SuccessResult => {
  replays.add(result);
  return result;
};
