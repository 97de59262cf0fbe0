import { expect, it } from 'vitest';
import type { InjectedFault } from '../../sandbox/http-util.ts';
import { lambdaContext } from '../support/events.ts';
import { report, useSuite } from './suite.ts';

// Every step of a rotation fails, by an error answer (HTTP 500), by a dropped connection, and for
// writes by a write that is applied but whose answer is lost, for both providers; then the caller
// retries, as Step Functions or EventBridge would, with the same idempotency key or with a new
// one. After the failure the provider must hold a password we stored (AWSCURRENT or AWSPENDING),
// the old one still current where nothing was sent; after the retries, the provider's password
// must be the AWSCURRENT one. A scenario that ends otherwise has lost a password. A fault that
// never fired proves nothing and fails the matrix; one that fired after the rotation completed is
// reported apart, not as convergence.

const suite = useSuite();
const RETRYABLE = new Set([
  'ClusterStateConflict',
  'ProviderThrottled',
  'ProviderUnavailable',
  'RotationInProgress',
  'SecretStoreFailed',
]);

type Kind = 'error' | 'drop' | 'applied-lost';
interface Step {
  name: string;
  inject(providerId: string, clusterId: string, kind: Kind): void;
}

const awsFailure = (kind: Kind, type: string): Omit<InjectedFault, 'operation'> =>
  // More than the SDK's three attempts, so that the step really fails.
  kind === 'drop'
    ? { drop: true, times: 5 }
    : kind === 'applied-lost'
      ? { applyThenDrop: true, times: 5 }
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

// In the order of the protocol: bind the key, take the lease (and read it back), check the
// cluster, read the secret, write the pending version, mark the lease in doubt, record "sent",
// reset, record "applied", promote, start the record's retention, clear the doubt, settle, record
// the key, release.
const STEPS: Array<Step & { write?: boolean; afterCompletion?: boolean }> = [
  { name: 'reading the key record', inject: dynamo('GetItem') },
  { name: 'binding the key', inject: dynamo('PutItem'), write: true },
  { name: 'taking the lease', inject: dynamo('UpdateItem'), write: true },
  { name: 'reading the lease back', inject: dynamo('GetItem', 1) },
  { name: 'checking the cluster state', inject: provider('state') },
  { name: 'reading the secret', inject: secrets('DescribeSecret') },
  { name: 'reading the version record', inject: dynamo('GetItem', 2) },
  { name: 'writing the pending version', inject: secrets('PutSecretValue'), write: true },
  { name: 'marking the lease in doubt', inject: dynamo('UpdateItem', 1), write: true },
  { name: 'recording the version sent', inject: dynamo('PutItem', 1), write: true },
  { name: 'sending the reset', inject: provider('reset') },
  {
    name: 'sending the reset (applied, answer lost)',
    inject: (providerId, clusterId) =>
      suite.harness(providerId).addFault({ operation: 'reset', clusterId, applyThenDrop: true }),
  },
  { name: 'recording the version applied', inject: dynamo('PutItem', 2), write: true },
  { name: 'moving AWSCURRENT', inject: secrets('UpdateSecretVersionStage'), write: true },
  { name: 'clearing AWSPENDING', inject: secrets('UpdateSecretVersionStage', 1), write: true },
  {
    name: 'starting the record’s retention',
    inject: dynamo('UpdateItem', 2),
    write: true,
    afterCompletion: true,
  },
  { name: 'clearing the lease’s doubt', inject: dynamo('UpdateItem', 3), write: true, afterCompletion: true },
  { name: 'waiting for the cluster to settle', inject: provider('state', 1, 3), afterCompletion: true },
  { name: 'recording the result', inject: dynamo('PutItem', 3), write: true, afterCompletion: true },
  { name: 'releasing the lease', inject: dynamo('DeleteItem'), write: true, afterCompletion: true },
];

const faultsTaken = () =>
  suite.sandbox.aws.faults.taken +
  suite.sandbox.dynamoFaults.taken +
  suite.sandbox.ncloud.faults.taken +
  suite.sandbox.otc.faults.taken;

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
  const counts = { scenarios: 0, converged: 0, completedDespiteFault: 0, lost: 0, notFired: 0 };
  for (const providerId of ['ncloud-cdss', 'otc-css']) {
    for (const step of STEPS) {
      const kinds: Kind[] = step.name.includes('applied, answer lost')
        ? ['drop']
        : step.write
          ? ['error', 'drop', 'applied-lost']
          : ['error', 'drop'];
      for (const kind of kinds) {
        for (const retryWith of ['same key', 'new key'] as const) {
          counts.scenarios++;
          const { id } = suite.cluster(providerId);
          const harness = suite.harness(providerId);
          expect((await retry(providerId, id, `baseline-${id}`)).ok).toBe(true);
          const baseline = stored(providerId, id) as string;
          suite.secretsUsed.add(baseline);
          const resetsBefore = harness.calls(id, 'reset').length;

          const takenBefore = faultsTaken();
          step.inject(providerId, id, kind);
          const failed = await rotate(providerId, id, `first-${id}`);
          const fired = faultsTaken() > takenBefore;
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
          const safe = final.ok && recoverable && untouched && now === stored(providerId, id);
          // A fault after completion leaves the first answer ok: that proves the answer, not the recovery.
          const verdict = !fired
            ? 'NOT FIRED'
            : !safe
              ? 'LOST'
              : failed.ok
                ? 'completed despite the fault'
                : 'converged';
          if (verdict === 'NOT FIRED') counts.notFired++;
          else if (verdict === 'LOST') counts.lost++;
          else if (failed.ok) counts.completedDespiteFault++;
          else counts.converged++;
          if (failed.ok && !step.afterCompletion && verdict !== 'NOT FIRED') {
            // Only faults the protocol absorbs may leave the first attempt ok: say which.
            rows.push(`  (note) ${providerId} ${step.name} ${kind}: the first attempt absorbed the fault`);
          }
          rows.push(
            `${verdict.padEnd(28)} ${providerId.padEnd(11)} ${step.name.padEnd(40)} ${kind.padEnd(12)} ` +
              `first: ${failed.ok ? 'ok' : failed.name}, retry with ${retryWith}: ${final.ok ? 'ok' : final.name}`,
          );
        }
      }
    }
  }
  report(['fault matrix:', ...rows.map((row) => `  ${row}`)].join('\n'));
  report(
    `fault matrix: ${counts.scenarios} scenarios: ${counts.converged} failed and converged, ` +
      `${counts.completedDespiteFault} completed despite the fault, ${counts.lost} lost, ${counts.notFired} faults never fired`,
  );
  expect(rows.filter((row) => row.startsWith('LOST') || row.startsWith('NOT FIRED'))).toEqual([]);
  // Faults before completion must make the first attempt fail, unless the protocol absorbs them.
  expect(counts.converged).toBeGreaterThanOrEqual(80);
  expect(counts.scenarios).toBeGreaterThanOrEqual(120);
}, 300_000);

it.each([['ncloud-cdss'], ['otc-css']])(
  '%s: a refused request retried with the same key answers the same failure, sending nothing; a new key rotates',
  async (providerId) => {
    const { id } = suite.cluster(providerId);
    const harness = suite.harness(providerId);
    expect((await retry(providerId, id, `baseline-${id}`)).ok).toBe(true);
    for (const refusal of harness.resetAnswers.filter(
      (a) => !a.fault.delayMs && a.status < 500 && a.status !== 409 && a.status !== 429,
    )) {
      harness.addFault({ operation: 'reset', clusterId: id, ...refusal.fault });
      const first = await rotate(providerId, id, `refused-${refusal.status}-${id}`);
      expect(first.ok, refusal.name).toBe(false);
      const resets = harness.calls(id, 'reset').length;
      const again = await rotate(providerId, id, `refused-${refusal.status}-${id}`);
      expect(again, refusal.name).toEqual(first);
      expect(harness.calls(id, 'reset').length, refusal.name).toBe(resets);
      expect(stored(providerId, id, 'AWSPENDING'), refusal.name).toBeUndefined();
      expect((await rotate(providerId, id, `after-${refusal.status}-${id}`)).ok, refusal.name).toBe(true);
      expect(harness.clusterPassword(id)).toBe(stored(providerId, id));
    }
  },
);

it.each([['ncloud-cdss'], ['otc-css']])(
  '%s: a rotation whose lease expires mid-way cannot overwrite a newer AWSCURRENT',
  async (providerId) => {
    const { id } = suite.cluster(providerId);
    const harness = suite.harness(providerId);
    expect((await retry(providerId, id, `baseline-${id}`)).ok).toBe(true);
    // A stalls after the provider applied its password, before promoting it, past its 1 s lease.
    suite.sandbox.aws.faults.add({ operation: 'secretsmanager.UpdateSecretVersionStage', delayMs: 2_500 });
    const a = rotate(providerId, id, `a-${id}`);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    // B takes the expired lease, finishes A's applied version, then rotates to its own.
    const b = await rotate(providerId, id, `b-${id}`);
    expect(b.ok).toBe(true);
    const afterB = stored(providerId, id);
    expect(harness.clusterPassword(id)).toBe(afterB);
    // A's stalled promotion names a current version that is no longer current: refused.
    const aAnswer = await a;
    expect(aAnswer.ok).toBe(false);
    expect(stored(providerId, id)).toBe(afterB);
    expect(harness.clusterPassword(id)).toBe(afterB);
  },
);

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
