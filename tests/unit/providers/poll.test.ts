import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pollUntilSettled } from '../../../lib/providers/poll.ts';

type State = 'ready' | 'changing' | 'error';

/**
 * A fake clock: sleeping moves it on by exactly the time asked, and each read may take time too.
 * Every read and sleep is logged with the time it started, so that a test can see the whole run.
 */
const fakeClock = (start = 1_000) => {
  let time = start;
  const log: string[] = [];
  return {
    now: () => time,
    advance: (ms: number) => {
      time += ms;
    },
    log,
    sleep: async (ms: number) => {
      log.push(`sleep ${ms} at ${time}`);
      time += ms;
    },
  };
};

/** A reader that answers the given outcomes in turn (an Error is thrown), then the last one for ever. */
const scripted = (clock: ReturnType<typeof fakeClock>, outcomes: (State | Error)[], readMs = 0) => {
  let index = 0;
  return async (end: number): Promise<State> => {
    clock.log.push(`read at ${clock.now()} (end ${end})`);
    const outcome = outcomes[Math.min(index++, outcomes.length - 1)] as State | Error;
    clock.advance(readMs);
    if (outcome instanceof Error) throw outcome;
    return outcome;
  };
};

const poll = (
  clock: ReturnType<typeof fakeClock>,
  options: Omit<Parameters<typeof pollUntilSettled<State>>[0], 'isSettled' | 'sleep' | 'now'>,
) =>
  pollUntilSettled<State>({
    isSettled: (state) => state === 'ready',
    sleep: clock.sleep,
    now: clock.now,
    ...options,
  });

describe('pollUntilSettled', () => {
  it('answers at once, without sleeping, when the first read is settled', async () => {
    const clock = fakeClock();
    const state = await poll(clock, {
      read: scripted(clock, ['ready']),
      until: 2_000,
      deadline: 3_000,
      intervalMs: 100,
    });
    expect(state).toBe('ready');
    expect(clock.log).toEqual(['read at 1000 (end 2000)']);
  });

  it('polls every intervalMs until a read is settled', async () => {
    const clock = fakeClock();
    const state = await poll(clock, {
      read: scripted(clock, ['changing', 'changing', 'ready']),
      until: 2_000,
      deadline: 3_000,
      intervalMs: 100,
    });
    expect(state).toBe('ready');
    expect(clock.log).toEqual([
      'read at 1000 (end 2000)',
      'sleep 100 at 1000',
      'read at 1100 (end 2000)',
      'sleep 100 at 1100',
      'read at 1200 (end 2000)',
    ]);
  });

  it('stops at the deadline when it comes before until, the last sleep cut short to end there', async () => {
    const clock = fakeClock();
    const state = await poll(clock, {
      read: scripted(clock, ['changing']),
      until: 9_000,
      deadline: 1_250,
      intervalMs: 100,
    });
    expect(state).toBe('changing');
    expect(clock.log).toEqual([
      'read at 1000 (end 1250)',
      'sleep 100 at 1000',
      'read at 1100 (end 1250)',
      'sleep 100 at 1100',
      'read at 1200 (end 1250)',
      'sleep 50 at 1200',
    ]);
    expect(clock.now()).toBe(1_250);
  });

  it('stops at until when it comes before the deadline', async () => {
    const clock = fakeClock();
    const state = await poll(clock, {
      read: scripted(clock, ['error']),
      until: 1_150,
      deadline: 9_000,
      intervalMs: 100,
    });
    expect(state).toBe('error');
    expect(clock.log).toEqual([
      'read at 1000 (end 1150)',
      'sleep 100 at 1000',
      'read at 1100 (end 1150)',
      'sleep 50 at 1100',
    ]);
    expect(clock.now()).toBe(1_150);
  });

  it('does not sleep when a read has used up the time left', async () => {
    const clock = fakeClock();
    const state = await poll(clock, {
      read: scripted(clock, ['changing'], 300),
      until: 1_200,
      deadline: 9_000,
      intervalMs: 100,
    });
    expect(state).toBe('changing');
    expect(clock.log).toEqual(['read at 1000 (end 1200)']);
  });

  it('keeps the last state seen when later reads fail', async () => {
    const clock = fakeClock();
    const state = await poll(clock, {
      read: scripted(clock, ['changing', new Error('timed out')]),
      until: 1_300,
      deadline: 9_000,
      intervalMs: 100,
    });
    expect(state).toBe('changing');
    expect(clock.log.filter((entry) => entry.startsWith('read'))).toHaveLength(3);
  });

  it('goes on polling after a failed read, and answers a state settled later', async () => {
    const clock = fakeClock();
    const state = await poll(clock, {
      read: scripted(clock, ['changing', new Error('dropped'), 'ready']),
      until: 2_000,
      deadline: 9_000,
      intervalMs: 100,
    });
    expect(state).toBe('ready');
    expect(clock.now()).toBe(1_200);
  });

  it('answers undefined when no read succeeded', async () => {
    const clock = fakeClock();
    const state = await poll(clock, {
      read: scripted(clock, [new Error('unreachable')]),
      until: 1_250,
      deadline: 9_000,
      intervalMs: 100,
    });
    expect(state).toBeUndefined();
    expect(clock.now()).toBe(1_250);
  });

  it('reads nothing when the end has already passed', async () => {
    const clock = fakeClock();
    const state = await poll(clock, {
      read: scripted(clock, ['ready']),
      until: 1_000,
      deadline: 9_000,
      intervalMs: 100,
    });
    expect(state).toBeUndefined();
    expect(clock.log).toEqual([]);
  });

  it('never sleeps past the end nor reads at or after it, whatever the timings', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          until: fc.integer({ min: 0, max: 2_000 }),
          deadline: fc.integer({ min: 0, max: 2_000 }),
          intervalMs: fc.integer({ min: 1, max: 500 }),
          readMs: fc.integer({ min: 0, max: 300 }),
          failing: fc.boolean(),
        }),
        async ({ until, deadline, intervalMs, readMs, failing }) => {
          const clock = fakeClock(0);
          const end = Math.min(until, deadline);
          const sleeps: { at: number; ms: number }[] = [];
          const reads: { at: number; end: number }[] = [];
          await pollUntilSettled<State>({
            read: async (given) => {
              reads.push({ at: clock.now(), end: given });
              clock.advance(readMs);
              if (failing) throw new Error('failed');
              return 'changing';
            },
            isSettled: (state) => state === 'ready',
            until,
            deadline,
            intervalMs,
            now: clock.now,
            sleep: async (ms) => {
              sleeps.push({ at: clock.now(), ms });
              clock.advance(ms);
            },
          });
          for (const sleep of sleeps) {
            expect(sleep.ms).toBeGreaterThan(0);
            expect(sleep.ms).toBeLessThanOrEqual(intervalMs);
            expect(sleep.at + sleep.ms).toBeLessThanOrEqual(end);
          }
          for (const read of reads) {
            expect(read.at).toBeLessThan(end);
            expect(read.end).toBe(end);
          }
        },
      ),
    );
  });

  it('waits on the real clock by default, and stops at the end', async () => {
    const started = Date.now();
    const state = await pollUntilSettled<State>({
      read: async () => 'changing',
      isSettled: (s) => s === 'ready',
      until: started + 60,
      deadline: started + 10_000,
      intervalMs: 10,
    });
    expect(state).toBe('changing');
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
