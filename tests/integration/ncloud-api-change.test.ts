import middy from '@middy/core';
import { describe, expect, it } from 'vitest';
import { readConfig } from '../../lib/config.ts';
import { resetMiddleware, resetOperation } from '../../lib/handler.ts';
import { ncloudCdss } from '../../lib/providers/ncloud/index.ts';
import { ncloudHttpEvent } from '../support/events.ts';
import { type Handler, invokeInMode, leakedLines, type Mode, useSuite } from './suite.ts';

// Naver retired resetCMAKPassword for resetMGMTPassword, and serves CDSS on a public, a government
// and a financial site. The real handler chain, built with each configuration, against the sandbox.

const suite = useSuite();
const MODES: Mode[] = ['http', 'eventbridge', 'direct'];

/** The unchanged ncloud handler composition, with configuration on top of the suite's environment. */
const handlerWith = (env: Record<string, string>): Handler => {
  const config = readConfig({ ...process.env, ...env });
  return middy()
    .use(resetMiddleware(ncloudCdss, config))
    .handler(resetOperation(ncloudCdss, config)) as Handler;
};

const invoke = (handler: Handler, mode: Mode, region: string, clusterId: string) =>
  invokeInMode(handler, mode, {
    envelope: { provider: 'ncloud-cdss', region, clusterId },
    httpEvent: (body, headers) => ncloudHttpEvent(region, clusterId, body, headers),
  });

const addCluster = (region: string, managerUserName = 'kafkamanager') => {
  const id = suite.harness('ncloud-cdss').newClusterId();
  const password = `Initial-${id.slice(-4)}a!`;
  suite.secretsUsed.add(password);
  suite.sandbox.ncloud.addCluster({ region, serviceGroupInstanceNo: id, password, managerUserName });
  return id;
};

const resetApis = (clusterId: string) =>
  suite.sandbox.ncloud.calls
    .filter((c) => c.clusterId === clusterId && c.operation === 'reset')
    .map((c) => c.api);

const stored = (region: string, clusterId: string) => {
  const value = suite.sandbox.aws.secretValue(`${suite.secretPrefix}/ncloud-cdss/${region}/${clusterId}`);
  if (typeof value?.password === 'string') suite.secretsUsed.add(value.password);
  return value;
};

describe('Naver Cloud CDSS after the API change', () => {
  it.each(MODES)(
    'sends resetMGMTPassword by default (%s) and stores the manager account with the password',
    async (mode) => {
      const id = addCluster('KR', `cmak-${mode}`);
      const result = await invoke(suite.handler('ncloud-cdss'), mode, 'KR', id);
      expect(result.ok).toBe(true);
      expect(resetApis(id)).toEqual(['resetMGMTPassword']);
      const value = stored('KR', id);
      expect(value).toMatchObject({
        username: `cmak-${mode}`,
        provider: 'ncloud-cdss',
        region: 'KR',
        clusterId: id,
      });
      expect(suite.sandbox.ncloud.cluster('KR', id)?.password).toBe(value?.password);
    },
  );

  it.each(MODES)(
    'sends the retired resetCMAKPassword only with NCLOUD_CDSS_RESET_API set (%s)',
    async (mode) => {
      const legacy = handlerWith({ NCLOUD_CDSS_RESET_API: 'resetCMAKPassword' });
      const id = addCluster('KR');
      suite.sandbox.ncloud.retiredResetAvailable = true;
      try {
        const result = await invoke(legacy, mode, 'KR', id);
        expect(result.ok).toBe(true);
      } finally {
        suite.sandbox.ncloud.retiredResetAvailable = false;
      }
      expect(resetApis(id)).toEqual(['resetCMAKPassword']);
      expect(suite.sandbox.ncloud.cluster('KR', id)?.password).toBe(stored('KR', id)?.password);
    },
  );

  it('answers the retired API as Naver does now: PROVIDER_REJECTED, nothing changed, nothing current', async () => {
    const legacy = handlerWith({ NCLOUD_CDSS_RESET_API: 'resetCMAKPassword' });
    const id = addCluster('KR');
    const before = suite.sandbox.ncloud.cluster('KR', id)?.password;
    const result = await invoke(legacy, 'http', 'KR', id);
    expect(result.error).toMatchObject({
      code: 'PROVIDER_REJECTED',
      providerStatus: 404,
      providerCode: '300',
    });
    expect(result.error.message).toContain('NCLOUD_CDSS_RESET_API');
    expect(suite.sandbox.ncloud.cluster('KR', id)?.password).toBe(before);
    expect(stored('KR', id)?.password).toBeUndefined();
  });

  it('refuses a government-site region on the public site, listing the allowed regions, and sends nothing', async () => {
    const id = addCluster('KRS');
    const http = await invoke(suite.handler('ncloud-cdss'), 'http', 'KRS', id);
    expect(http.error).toMatchObject({
      code: 'VALIDATION_FAILED',
      fields: [{ field: 'region', rule: 'must be one of KR, SGN, JPN' }],
    });
    const direct = await invoke(suite.handler('ncloud-cdss'), 'direct', 'KRS', id);
    expect(direct.thrown).toBe('ValidationFailed');
    expect(suite.sandbox.ncloud.calls.filter((c) => c.clusterId === id)).toEqual([]);
  });

  it.each(MODES)('accepts KRS on the government site and resets through /api/krs-v1 (%s)', async (mode) => {
    const gov = handlerWith({ NCLOUD_CDSS_SITE: 'gov' });
    const id = addCluster('KRS');
    const result = await invoke(gov, mode, 'KRS', id);
    expect(result).toMatchObject({ ok: true, region: 'KRS', clusterId: id });
    expect(suite.sandbox.ncloud.calls.filter((c) => c.clusterId === id && c.operation === 'reset')).toEqual([
      { operation: 'reset', api: 'resetMGMTPassword', region: 'KRS', clusterId: id, status: 200 },
    ]);
    expect(suite.sandbox.ncloud.cluster('KRS', id)?.password).toBe(stored('KRS', id)?.password);
  });

  it('refuses SGN on the government site and JPN on the financial site', async () => {
    const id = addCluster('SGN');
    const gov = await invoke(handlerWith({ NCLOUD_CDSS_SITE: 'gov' }), 'http', 'SGN', id);
    expect(gov.error.fields).toEqual([{ field: 'region', rule: 'must be one of KR, KRS' }]);
    const fin = await invoke(handlerWith({ NCLOUD_CDSS_SITE: 'fin' }), 'http', 'JPN', id);
    expect(fin.error.fields).toEqual([{ field: 'region', rule: 'must be one of KR' }]);
    expect(suite.sandbox.ncloud.calls.filter((c) => c.clusterId === id)).toEqual([]);
  });

  it('leaks no secret', () => {
    expect(leakedLines(suite).leaks).toEqual([]);
  });
});
