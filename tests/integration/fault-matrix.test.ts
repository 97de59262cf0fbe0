import { expect, it } from 'vitest';
import type { InjectedFault } from '../../sandbox/http-util.ts';
import { lambdaContext } from '../support/events.ts';
import { report, useSuite } from './suite.ts';

// Every step of a rotation fails once, by an error answer (HTTP 500) and by a dropped connection,
// for both providers; then the caller retries, as Step Functions or EventBridge would, with the
// same idempotency key or with a new one. After the failure the provider must hold a password we
// stored (AWSCURRENT or AWSPENDING), the old one still current where nothing was sent; after the
// retries, the provider's password must be the AWSCURRENT one. A scenario that ends otherwise
// has lost a password.

const suite = useSuite();
const RETRYABLE = new Set([
  'ClusterStateConflict',
  'ProviderThrottled',
  'ProviderUnavailable',
  'RotationInProgress',
  'SecretStoreFailed',
]);

type Kind = 'error' | 'drop';
interface Step {
  name: string;
  inject(providerId: string, clusterId: string, kind: Kind): void;
}

const awsFailure = (kind: Kind, type: string): Omit<InjectedFault, 'operation'> =>
  // More than the SDK's three attempts, so that the step really fails.
  kind === 'drop'
    ? { drop: true, times: 5 }
    : { status: 500, body: { __type: type, message: 'injected' }, times: 5 };

const dynamo =
  (operation: string, skip = 0): Step['inject'] =>
  (_, __, kind) =>
    suite.sandbox.dynamoFaults.add({
      operation: `DynamoDB_20120810.${operation}`,
      skip,
      ...awsFailure(kind, 'InternalServerError'),
    });

const secrets =
  (operation: string, skip = 0): Step['inject'] =>
  (_, __, kind) =>
    suite.sandbox.aws.faults.add({
      operation: `secretsmanager.${operation}`,
      skip,
      ...awsFailure(kind, 'InternalServiceError'),
    });

const provider =
  (operation: 'state' | 'reset', skip = 0, times = 1): Step['inject'] =>
  (providerId, clusterId, kind) =>
    suite.harness(providerId).addFault({
      operation,
      clusterId,
      skip,
      times,
      ...(kind === 'drop' ? { drop: true } : { status: 500, text: 'injected' }),
    });

const STEPS: Step[] = [
  { name: 'looking up a completed rotation', inject: dynamo('GetItem') },
  { name: 'taking the lease', inject: dynamo('PutItem') },
  { name: 'reading the secret', inject: secrets('DescribeSecret') },
  { name: 'writing the pending version', inject: secrets('PutSecretValue') },
  { name: 'checking the cluster state', inject: provider('state') },
  { name: 'sending the reset', inject: provider('reset') },
  {
    name: 'sending the reset (applied, answer lost)',
    inject: (providerId, clusterId) =>
      suite.harness(providerId).addFault({ operation: 'reset', clusterId, applyThenDrop: true }),
  },
  { name: 'moving AWSCURRENT', inject: secrets('UpdateSecretVersionStage') },
  { name: 'clearing AWSPENDING', inject: secrets('UpdateSecretVersionStage', 1) },
  { name: 'waiting for the cluster to settle', inject: provider('state', 1, 3) },
  { name: 'recording the result', inject: dynamo('PutItem', 1) },
  { name: 'releasing the lease', inject: dynamo('DeleteItem') },
];

const clearFaults = () => {
  suite.sandbox.aws.faults.clear();
  suite.sandbox.dynamoFaults.clear();
  suite.sandbox.ncloud.faults.clear();
  suite.sandbox.otc.faults.clear();
};

const rotate = async (providerId: string, clusterId: string, idempotencyKey: string) => {
  const envelope = {
    provider: providerId,
    region: suite.harness(providerId).region,
    clusterId,
    idempotencyKey,
  };
  try {
    return { ok: true, result: await suite.handler(providerId)(envelope, lambdaContext()) };
  } catch (error) {
    return { ok: false, name: (error as Error).name };
  }
};

/**
 * Retries as Step Functions would: on retryable errors, a little later, up to a limit that
 * outlasts a lease nobody released (LEASE_SECONDS is 1 in these suites).
 */
const retry = async (providerId: string, clusterId: string, key: string) => {
  for (let attempt = 0; attempt < 60; attempt++) {
    const answer = await rotate(providerId, clusterId, key);
    if (answer.ok || !RETRYABLE.has(answer.name as string)) return answer;
    await new Promise((resolve) => setTimeout(resolve, 60));
  }
  return { ok: false, name: 'GaveUp' };
};

const stored = (providerId: string, clusterId: string, stage = 'AWSCURRENT') =>
  suite.sandbox.aws.secretValue(suite.secretName(providerId, clusterId), stage)?.password as
    | string
    | undefined;

it('loses no password when any step fails, however the caller retries', async () => {
  const rows: string[] = [];
  let scenarios = 0;
  let converged = 0;
  for (const providerId of ['ncloud-cdss', 'otc-css']) {
    for (const step of STEPS) {
      for (const kind of ['error', 'drop'] as const) {
        if (step.name.includes('applied') && kind === 'error') continue;
        for (const retryWith of ['same key', 'new key'] as const) {
          scenarios++;
          const { id } = suite.cluster(providerId);
          const harness = suite.harness(providerId);
          expect((await retry(providerId, id, `baseline-${id}`)).ok).toBe(true);
          const baseline = stored(providerId, id) as string;
          suite.secretsUsed.add(baseline);
          const resetsBefore = harness.calls(id, 'reset').length;

          step.inject(providerId, id, kind);
          const failed = await rotate(providerId, id, `first-${id}`);
          clearFaults();

          // Right after the failure: the provider holds a password we stored…
          const held = harness.clusterPassword(id) as string;
          suite.secretsUsed.add(held);
          const recoverable =
            held === stored(providerId, id) || held === stored(providerId, id, 'AWSPENDING');
          // …and where no reset reached the provider, the old password stands and is still current.
          const untouched =
            harness.calls(id, 'reset').length > resetsBefore ||
            (held === baseline && stored(providerId, id) === baseline);

          const final = await retry(
            providerId,
            id,
            retryWith === 'same key' ? `first-${id}` : `second-${id}`,
          );
          const now = harness.clusterPassword(id) as string;
          suite.secretsUsed.add(now);
          const ok = final.ok && recoverable && untouched && now === stored(providerId, id);
          if (ok) converged++;
          rows.push(
            `${ok ? 'converged' : 'LOST     '}  ${providerId.padEnd(11)} ${step.name.padEnd(40)} ${kind.padEnd(5)} ` +
              `first: ${failed.ok ? 'ok' : failed.name}, retry with ${retryWith}: ${final.ok ? 'ok' : final.name}`,
          );
        }
      }
    }
  }
  report(['fault matrix:', ...rows.map((row) => `  ${row}`)].join('\n'));
  report(`fault matrix: ${scenarios} scenarios, ${converged} converged, ${scenarios - converged} lost`);
  expect(rows.filter((row) => row.startsWith('LOST'))).toEqual([]);
  expect(scenarios).toBeGreaterThanOrEqual(80);
}, 240_000);

it.each([['ncloud-cdss'], ['otc-css']])(
  '%s: a new rotation first rolls forward a password the provider applied for an earlier one',
  async (providerId) => {
    const { id } = suite.cluster(providerId);
    const harness = suite.harness(providerId);
    expect((await retry(providerId, id, `baseline-${id}`)).ok).toBe(true);
    harness.addFault({ operation: 'reset', clusterId: id, applyThenDrop: true });
    expect((await rotate(providerId, id, `a-${id}`)).name).toBe('ProviderUnavailable');
    const applied = harness.clusterPassword(id) as string;
    suite.secretsUsed.add(applied);
    // The outcome was unknown, so A's lease is kept: another key waits for it to expire.
    expect((await rotate(providerId, id, `b-${id}`)).name).toBe('RotationInProgress');
    // Leases expire at whole seconds: one of LEASE_SECONDS=1 has surely expired after two.
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    // The next rotation's own reset is refused: without the roll-forward, AWSCURRENT would keep
    // the baseline while the provider holds the earlier attempt's password.
    harness.addFault({
      operation: 'reset',
      clusterId: id,
      skip: 1,
      status: 400,
      body: { error_code: 'X.400' },
    });
    const refused = await rotate(providerId, id, `b-${id}`);
    expect(refused.ok).toBe(false);
    expect(harness.clusterPassword(id)).toBe(applied);
    expect(stored(providerId, id)).toBe(applied);
  },
);
