import { describe, expect, it } from 'vitest';
import { readConfig } from '../../../lib/config.ts';
import { clusterBinding } from '../../../lib/middleware/cluster-binding.ts';
import { invocationMode, ResetRequest } from '../../../lib/middleware/invocation.ts';
import { normalizeEvent } from '../../../lib/middleware/normalize-event.ts';
import { validate } from '../../../lib/middleware/validate.ts';
import { ncloudCdss } from '../../../lib/providers/ncloud/index.ts';
import type { Binding, Bindings } from '../../../lib/rotation/binding.ts';
import { runChain } from '../../support/chain.ts';

const config = readConfig({ STAGE: 'test' });
const NAME = 'cluster-password-reset/test/ncloud-cdss/KR/1009123';

const chainWith = (bound: Binding | undefined, reads: unknown[] = []) => [
  invocationMode(),
  normalizeEvent({ provider: 'ncloud-cdss' }),
  validate({ provider: ncloudCdss, config }),
  clusterBinding({
    provider: 'ncloud-cdss',
    secretPrefix: 'cluster-password-reset/test',
    bindings: {
      read: async (target: unknown) => {
        reads.push(target);
        return bound;
      },
    } as unknown as Bindings,
  }),
];
const request = (fields: Record<string, unknown> = {}) => ({ region: 'KR', clusterId: '1009123', ...fields });
const envelopeOf = (run: { event?: unknown }) => (run.event as ResetRequest).envelope;

describe('cluster-binding', () => {
  it('leaves a request for an unbound cluster as it is', async () => {
    const reads: unknown[] = [];
    const run = await runChain(chainWith(undefined, reads), request({ account: 'team-a' }));
    expect(run.error).toBeUndefined();
    expect(reads).toEqual([{ provider: 'ncloud-cdss', region: 'KR', clusterId: '1009123' }]);
    expect(envelopeOf(run)).toMatchObject({ account: 'team-a' });
    expect(envelopeOf(run).secretId).toBeUndefined();
  });

  it('refuses another secret than the default one for an unbound cluster', async () => {
    const run = await runChain(chainWith(undefined), request({ secretId: `${NAME}-mine` }));
    expect(run.error).toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ field: 'secretId' }] });
    const own = await runChain(chainWith(undefined), request({ secretId: NAME }));
    expect(own.error).toBeUndefined();
  });

  it('gives a request for a bound cluster its secret and account when it names neither', async () => {
    const run = await runChain(chainWith({ secretName: NAME, account: 'team-a' }), request());
    expect(run.event).toBeInstanceOf(ResetRequest);
    expect(envelopeOf(run)).toMatchObject({ secretId: NAME, account: 'team-a' });
  });

  it('accepts the bound secret and account named explicitly', async () => {
    const run = await runChain(
      chainWith({ secretName: NAME, account: 'team-a' }),
      request({ secretId: NAME, account: 'team-a' }),
    );
    expect(run.error).toBeUndefined();
  });

  it.each([
    ['another secret', { secretId: `${NAME}-copy` }, 'secretId'],
    ['another account', { account: 'team-b' }, 'account'],
  ])('refuses %s than the bound one, naming the field', async (_, fields, field) => {
    const run = await runChain(chainWith({ secretName: NAME, account: 'team-a' }), request(fields));
    expect(run.error).toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ field }] });
  });
});
