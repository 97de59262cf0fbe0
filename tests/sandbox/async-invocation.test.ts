import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { asyncInvoker, type OnFailureRecord } from '../../sandbox/async-invocation.ts';
import type { Invoke } from '../../sandbox/lambda-invoke.ts';

// The sandbox's stand-in for Lambda's asynchronous invocation, with an injected invoke instead
// of serverless-offline.

const FUNCTION = 'cluster-password-reset-local-otcCssResetAdminPassword';
const EVENT = {
  version: '0',
  id: 'c9d34a27-8503-4050-ba24-6c439c83605b',
  'detail-type': 'Cluster Password Reset Requested',
  source: 'cluster-password-reset',
  detail: { provider: 'otc-css', region: 'eu-de', clusterId: '00000000-0000-4000-8000-000000000000' },
};

const named = (name: string, message: string) => Object.assign(new Error(message), { name });

/** An invoke that fails with the given errors in turn, then succeeds. */
const scripted = (...failures: Error[]) => {
  const calls: unknown[] = [];
  const invoke: Invoke = async (payload) => {
    calls.push(payload);
    const failure = failures.shift();
    if (failure) throw failure;
    return { ok: true };
  };
  return { invoke, calls };
};

const setup = (invoke: Invoke, options: { onFailure?: boolean; now?: () => number } = {}) => {
  const records: OnFailureRecord[] = [];
  const lines: string[] = [];
  const deliver = asyncInvoker({
    functionName: FUNCTION,
    invoke,
    onFailure: options.onFailure === false ? undefined : (record) => records.push(record),
    maximumRetryAttempts: 2,
    maximumEventAgeSeconds: 3600,
    retryDelayMs: 1,
    log: (line) => lines.push(line),
    ...(options.now ? { now: options.now } : {}),
  });
  return { deliver, records, lines };
};

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeEach(() => {
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
});
afterEach(async () => {
  // Give a stray rejection the turn it needs to be reported.
  await new Promise((resolve) => setTimeout(resolve, 10));
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

describe('asyncInvoker', () => {
  it('invokes once when the first attempt succeeds', async () => {
    const { invoke, calls } = scripted();
    const { deliver, records, lines } = setup(invoke);
    await deliver(EVENT);
    expect(calls).toEqual([EVENT]);
    expect(records).toEqual([]);
    expect(lines).toEqual([]);
  });

  it('retries twice, then sends an onFailure record in the shape Lambda sends', async () => {
    const error = named('ClusterNotFound', 'Open Telekom Cloud answered HTTP 404: no such cluster');
    const { invoke, calls } = scripted(error, error, error);
    const { deliver, records } = setup(invoke);
    await deliver(EVENT);
    expect(calls).toHaveLength(3);
    expect(records).toEqual([
      {
        version: '1.0',
        timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        requestContext: {
          requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
          functionArn: `arn:aws:lambda:eu-central-1:000000000000:function:${FUNCTION}:$LATEST`,
          condition: 'RetriesExhausted',
          approximateInvokeCount: 3,
        },
        requestPayload: EVENT,
        responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
        responsePayload: {
          errorType: 'ClusterNotFound',
          errorMessage: 'Open Telekom Cloud answered HTTP 404: no such cluster',
        },
      },
    ]);
  });

  it('keeps the last attempt’s error', async () => {
    const { invoke } = scripted(
      named('ProviderUnavailable', 'first'),
      named('ProviderThrottled', 'second'),
      named('ClusterStateConflict', 'third'),
    );
    const { deliver, records } = setup(invoke);
    await deliver(EVENT);
    expect(records[0]?.responsePayload).toEqual({ errorType: 'ClusterStateConflict', errorMessage: 'third' });
  });

  it.each([1, 2])('succeeds after %i failed attempt(s): no dead letter, no log line', async (failures) => {
    const { invoke, calls } = scripted(...Array.from({ length: failures }, () => named('Boom', 'boom')));
    const { deliver, records, lines } = setup(invoke);
    await deliver(EVENT);
    expect(calls).toHaveLength(failures + 1);
    expect(records).toEqual([]);
    expect(lines).toEqual([]);
  });

  it('logs one line per failed delivery: function, error type and attempts, never the event', async () => {
    const { invoke } = scripted(
      ...Array.from({ length: 3 }, () => named('ValidationFailed', 'clusterId: not-a-uuid is invalid')),
    );
    const { deliver, lines } = setup(invoke);
    await deliver(EVENT);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(FUNCTION);
    expect(lines[0]).toContain('ValidationFailed');
    expect(lines[0]).toContain('3 attempts');
    for (const value of [EVENT.id, EVENT.detail.clusterId, 'not-a-uuid'])
      expect(lines[0]).not.toContain(value);
  });

  it('waits longer before each retry', async () => {
    const times: number[] = [];
    const deliver = asyncInvoker({
      functionName: FUNCTION,
      invoke: async () => {
        times.push(performance.now());
        throw named('Boom', 'boom');
      },
      retryDelayMs: 40,
    });
    await deliver(EVENT);
    expect(times).toHaveLength(3);
    const [first, second, third] = times as [number, number, number];
    expect(second - first).toBeGreaterThanOrEqual(35);
    expect(third - second).toBeGreaterThanOrEqual(75);
  });

  it('stops retrying once the event is older than maximumEventAge', async () => {
    let clock = 0;
    const { invoke, calls } = scripted(named('Boom', 'one'), named('Boom', 'two'), named('Boom', 'three'));
    const { deliver, records } = setup(
      async (payload) => {
        clock += 3_000_000; // each attempt "takes" 50 minutes
        return invoke(payload);
      },
      { now: () => clock },
    );
    await deliver(EVENT);
    expect(calls).toHaveLength(2);
    expect(records[0]?.requestContext).toMatchObject({
      condition: 'EventAgeExceeded',
      approximateInvokeCount: 2,
    });
  });

  it('drops the event without an onFailure destination', async () => {
    const { invoke } = scripted(named('Boom', 'a'), named('Boom', 'b'), named('Boom', 'c'));
    const { deliver, records, lines } = setup(invoke, { onFailure: false });
    await deliver(EVENT);
    expect(records).toEqual([]);
    expect(lines[0]).toContain('dropped');
  });

  it('never rejects: not on a synchronous throw, a non-Error rejection, or a broken destination', async () => {
    const throwing: Invoke = () => {
      throw new TypeError('sync');
    };
    const { deliver: first, records } = setup(throwing);
    await expect(first(EVENT)).resolves.toBeUndefined();
    expect(records[0]?.responsePayload.errorType).toBe('TypeError');

    const { deliver: second, records: more } = setup(() => Promise.reject('a string'));
    await expect(second(EVENT)).resolves.toBeUndefined();
    expect(more[0]?.responsePayload).toEqual({ errorType: 'Error', errorMessage: 'a string' });

    const broken = asyncInvoker({
      functionName: FUNCTION,
      invoke: () => Promise.reject(new Error('x')),
      retryDelayMs: 1,
      onFailure: () => {
        throw new Error('queue down');
      },
      log: () => {
        throw new Error('log down');
      },
    });
    await expect(broken(EVENT)).resolves.toBeUndefined();
  });

  it('does not hold up the caller: the first attempt starts, the rest runs in the background', async () => {
    let release: () => void = () => undefined;
    const invoke: Invoke = () => new Promise((resolve) => (release = () => resolve(undefined)));
    const { deliver } = setup(invoke);
    let settled = false;
    const delivery = deliver(EVENT).then(() => {
      settled = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(settled).toBe(false);
    release();
    await delivery;
    expect(settled).toBe(true);
  });

  it('delivers many failing events side by side, one record each', async () => {
    const { deliver, records } = setup(() => Promise.reject(named('ClusterNotFound', 'gone')));
    const events = Array.from({ length: 20 }, (_, i) => ({ ...EVENT, id: `event-${i}` }));
    await Promise.all(events.map((event) => deliver(event)));
    expect(records.map((r) => (r.requestPayload as { id: string }).id).sort()).toEqual(
      events.map((e) => e.id).sort(),
    );
    expect(new Set(records.map((r) => r.requestContext.requestId)).size).toBe(20);
  });
});
