import { describe, expect, it } from 'vitest';
import type { SuccessResult } from '../../../lib/result.ts';
import { isReplay, replayOf } from '../../../lib/rotation/replay.ts';

// The answer's normalizer asks isReplay of whatever a handler answered (a result, an error, nothing):
// only a result marked by replayOf is a replay, and the mark changes nothing in the result.

const result = (): SuccessResult =>
  ({
    ok: true,
    provider: 'ncloud-cdss',
    operation: 'reset-cmak-password',
    region: 'KR',
    clusterId: '1009123',
    dryRun: false,
    password: { source: 'generated', stored: false },
    requestId: 'lambda-req-1',
    idempotencyKey: 'key-1',
    completedAt: '2024-01-01T00:00:00.000Z',
  }) as SuccessResult;

describe('replays', () => {
  it('marks the very result it is given, which is answered exactly as it was', () => {
    const first = result();
    const replayed = replayOf(first);
    expect(replayed).toBe(first);
    expect(replayed).toEqual(result());
    expect(isReplay(replayed)).toBe(true);
  });

  it('is no replay for any other answer: an unmarked result, null, undefined, a string, a number', () => {
    replayOf(result());
    for (const answer of [result(), {}, null, undefined, 'ok', 0]) expect(isReplay(answer)).toBe(false);
  });
});
