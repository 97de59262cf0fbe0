import { describe, expect, it } from 'vitest';
import { ResetError } from '../../../lib/errors.ts';
import {
  outcomeOfFailure,
  type SendKind,
  type SendOutcome,
  TRANSITIONS,
  type Whose,
} from '../../../lib/rotation/state-machine.ts';

// The transition table read as the protocol's rules (docs/rotation-protocol.md).

const WHOSE: Whose[] = ['own', 'other'];
const OUTCOMES: SendOutcome[] = ['applied', 'refused', 'refused-for-now', 'unknown'];
const KINDS: SendKind[] = ['first', 'resend'];
const every = WHOSE.flatMap((whose) =>
  OUTCOMES.flatMap((outcome) => KINDS.map((kind) => ({ whose, outcome, kind }))),
);
const transition = (whose: Whose, outcome: SendOutcome, kind: SendKind) =>
  TRANSITIONS[`${whose} ${outcome} ${kind}`];

describe('the transition table', () => {
  it('has exactly one transition for every outcome of a send', () => {
    expect(Object.keys(TRANSITIONS).sort()).toEqual(
      every.map((c) => `${c.whose} ${c.outcome} ${c.kind}`).sort(),
    );
  });

  it('an applied send always makes its version current, whoever sent it', () => {
    for (const { whose, kind } of every) {
      expect(transition(whose, 'applied', kind)).toEqual({
        record: 'applied',
        labels: 'make-current',
        lease: 'clear-doubt',
        key: 'unchanged',
        afterwards: 'continue',
      });
    }
  });

  it('an unknown outcome changes nothing but the doubt, which stays until the lease expires', () => {
    for (const { whose, kind } of every) {
      expect(transition(whose, 'unknown', kind)).toEqual({
        record: 'unchanged',
        labels: 'keep-pending',
        lease: 'stay-in-doubt',
        key: 'unchanged',
        afterwards: 'fail',
      });
    }
  });

  it('a refused re-send proves nothing: the version stays pending as "sent", nothing is discarded', () => {
    for (const whose of WHOSE) {
      for (const outcome of ['refused', 'refused-for-now'] as const) {
        // This holder's own send was answered, so a clean lease's doubt clears.
        expect(transition(whose, outcome, 'resend')).toEqual({
          record: 'unchanged',
          labels: 'keep-pending',
          lease: 'clear-doubt',
          key: 'unchanged',
          afterwards: 'fail',
        });
      }
    }
  });

  it('only a first send refused for good discards the own version and answers the key for good', () => {
    const final = every.filter(
      ({ whose, outcome, kind }) => transition(whose, outcome, kind).key === 'record-refusal',
    );
    expect(final).toEqual([{ whose: 'own', outcome: 'refused', kind: 'first' }]);
    expect(transition('own', 'refused', 'first')).toEqual({
      record: 'discarded',
      labels: 'remove-pending',
      lease: 'clear-doubt',
      key: 'record-refusal',
      afterwards: 'fail',
    });
    expect(transition('own', 'refused-for-now', 'first')).toEqual({
      record: 'refused',
      labels: 'keep-pending',
      lease: 'clear-doubt',
      key: 'unchanged',
      afterwards: 'fail',
    });
  });

  it('another attempt’s password refused at its first send is given up, and the rotation goes on', () => {
    for (const outcome of ['refused', 'refused-for-now'] as const) {
      expect(transition('other', outcome, 'first')).toEqual({
        record: 'discarded',
        labels: 'remove-pending',
        lease: 'clear-doubt',
        key: 'unchanged',
        afterwards: 'continue',
      });
    }
  });

  it('classifies a failed send: a refusal for good, a refusal for now, or unknown', () => {
    expect(outcomeOfFailure(new ResetError('PASSWORD_POLICY_VIOLATION', 'x'))).toBe('refused');
    expect(outcomeOfFailure(new ResetError('CLUSTER_NOT_FOUND', 'x'))).toBe('refused');
    expect(outcomeOfFailure(new ResetError('PROVIDER_AUTH_FAILED', 'x'))).toBe('refused');
    expect(outcomeOfFailure(new ResetError('PRECONDITION_FAILED', 'x'))).toBe('refused');
    expect(outcomeOfFailure(new ResetError('PROVIDER_REJECTED', 'x'))).toBe('refused');
    expect(outcomeOfFailure(new ResetError('CLUSTER_STATE_CONFLICT', 'x'))).toBe('refused-for-now');
    expect(outcomeOfFailure(new ResetError('PROVIDER_THROTTLED', 'x'))).toBe('refused-for-now');
    expect(outcomeOfFailure(new ResetError('PROVIDER_UNAVAILABLE', 'x'))).toBe('unknown');
    expect(outcomeOfFailure(new ResetError('INTERNAL', 'x'))).toBe('unknown');
    expect(outcomeOfFailure(new Error('socket hang up'))).toBe('unknown');
  });
});
