import { expect, it } from 'vitest';
import { lambdaContext } from '../support/events.ts';
import { report, useSuite } from './suite.ts';

// 100 requests for one cluster at once, with 20 idempotency keys each sent 5 times: the lease
// lets one rotation through at a time, and the stored password is the provider's. Then each key
// again: the winner's duplicates answer its first result, the others rotate in turn.

// A lease longer than the whole burst: with the suites' usual 1 s lease, a winner slowed by 99
// others can outlive its lease, and the next holder then rolls its version forward (a second
// reset for one rotation: correct, but not what this test counts).
const suite = useSuite({ env: { LEASE_SECONDS: '60' } });

it.each([['ncloud-cdss'], ['otc-css']])('%s: 100 concurrent requests for one cluster', async (providerId) => {
  const { id } = suite.cluster(providerId);
  const harness = suite.harness(providerId);
  const keys = Array.from({ length: 20 }, (_, i) => `key-${i}`);
  const requests = keys.flatMap((key) => Array.from({ length: 5 }, () => key));
  const started = Date.now();
  const answers = await Promise.all(
    requests.map(async (key) => {
      const context = lambdaContext();
      const envelope = { provider: providerId, region: harness.region, clusterId: id, idempotencyKey: key };
      try {
        const result = (await suite.handler(providerId)(envelope, context)) as {
          requestId: string;
          password: unknown;
        };
        return { key, kind: result.requestId === context.awsRequestId ? 'rotated' : 'deduplicated', result };
      } catch (error) {
        return { key, kind: (error as Error).name };
      }
    }),
  );
  const count = (kind: string) => answers.filter((a) => a.kind === kind).length;
  const rotated = answers.filter((a) => a.kind === 'rotated');
  const resets = harness.calls(id, 'reset').length;
  report(
    `concurrency (${providerId}): 100 requests, 20 keys, ${Date.now() - started} ms: ${count('rotated')} rotated, ` +
      `${count('deduplicated')} deduplicated, ${count('RotationInProgress')} RotationInProgress, ` +
      `${resets} resets at the provider`,
  );
  expect(count('rotated') + count('deduplicated') + count('RotationInProgress')).toBe(100);
  expect(count('rotated')).toBeGreaterThanOrEqual(1);
  // Exactly one reset per rotation that won the lease, and no key rotated twice.
  expect(resets).toBe(count('rotated'));
  expect(new Set(rotated.map((a) => a.key)).size).toBe(rotated.length);
  let current = suite.sandbox.aws.secretValue(suite.secretName(providerId, id))?.password as string;
  suite.secretsUsed.add(current);
  expect(harness.clusterPassword(id)).toBe(current);

  // Then every key once more, one after the other, as callers retry: a key that rotated answers
  // its first result again without a reset; a key that was refused rotates now.
  for (const key of keys) {
    const resetsBefore = harness.calls(id, 'reset').length;
    const envelope = { provider: providerId, region: harness.region, clusterId: id, idempotencyKey: key };
    const again = (await suite.handler(providerId)(envelope, lambdaContext())) as { requestId: string };
    const original = rotated.find((a) => a.key === key);
    if (original) {
      expect(again).toEqual(original.result);
      expect(harness.calls(id, 'reset').length).toBe(resetsBefore);
    } else {
      expect(harness.calls(id, 'reset').length).toBe(resetsBefore + 1);
    }
  }
  current = suite.sandbox.aws.secretValue(suite.secretName(providerId, id))?.password as string;
  suite.secretsUsed.add(current);
  expect(harness.clusterPassword(id)).toBe(current);
  expect(harness.calls(id, 'reset')).toHaveLength(keys.length);
});
