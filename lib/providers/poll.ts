import { sleep as realSleep } from './http.ts';

interface PollOptions<S> {
  /** Reads the state once. Given the end of the whole poll, so that a request can time out within it. */
  read: (end: number) => Promise<S>;
  isSettled: (state: S) => boolean;
  /** Epoch ms the caller is willing to wait until. */
  until: number;
  /** Epoch ms by which every provider call must have ended; the poll never outlasts it. */
  deadline: number;
  intervalMs: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/**
 * Polls `read` until a state is settled or min(until, deadline) comes, and answers the last state
 * seen (undefined when no poll succeeded). Never throws for a failed poll: it runs after the reset
 * was accepted, when an error would misreport a change that did happen, and a poll that fails,
 * as the last may for want of time, must not erase what an earlier one saw.
 */
export const pollUntilSettled = async <S>({
  read,
  isSettled,
  until,
  deadline,
  intervalMs,
  sleep = realSleep,
  now = Date.now,
}: PollOptions<S>): Promise<S | undefined> => {
  const end = Math.min(until, deadline);
  let last: S | undefined;
  while (now() < end) {
    try {
      last = await read(end);
      if (isSettled(last)) return last;
    } catch {
      // `last` keeps the earlier answer; the next poll may still see the cluster settle.
    }
    const wait = Math.min(intervalMs, end - now());
    if (wait <= 0) break;
    await sleep(wait);
  }
  return last;
};
