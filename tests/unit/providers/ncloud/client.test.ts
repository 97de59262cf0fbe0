import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readConfig } from '../../../../lib/config.ts';
import { createNcloudClient } from '../../../../lib/providers/ncloud/client.ts';
import { NcloudCdssSimulator } from '../../../../sandbox/ncloud-cdss.ts';
import { rejection } from '../../../support/rejection.ts';
import { type Served, serve } from '../../../support/serve.ts';

const ACCESS_KEY = 'ncp-client-test-AK';
const SECRET_KEY = 'ncp-client-test-secret-key';
const CLUSTER = '1009123';
const NEW_PASSWORD = 'N3w-Manager-pw!';

let sim: NcloudCdssSimulator;
let server: Served;

beforeEach(async () => {
  sim = new NcloudCdssSimulator({ changingMs: 50 });
  sim.addKey(ACCESS_KEY, SECRET_KEY);
  server = await serve((req, res) => sim.handle(req, res));
});

afterEach(() => server.close());

const client = (env: Record<string, string> = {}, region = 'KR', deadlineMs = 5_000) =>
  createNcloudClient({
    credentials: { accessKey: ACCESS_KEY, secretKey: SECRET_KEY },
    target: { provider: 'ncloud-cdss', region, clusterId: CLUSTER },
    config: readConfig({
      NCLOUD_CDSS_ENDPOINT: server.url,
      PROVIDER_TIMEOUT_MS: '500',
      STATE_POLL_INTERVAL_MS: '10',
      ...env,
    }),
    deadline: Date.now() + deadlineMs,
  });

const addCluster = (region = 'KR', managerUserName = 'kafkamanager') =>
  sim.addCluster({ region, serviceGroupInstanceNo: CLUSTER, password: 'Old-Manager-pw1!', managerUserName });

const paths = () => sim.calls.map((call) => `${call.api}:${call.region}:${call.status}`);

describe('Naver Cloud CDSS client against the simulator', () => {
  it('checks the cluster (naming its manager account), resets through resetMGMTPassword, waits for it to be ready', async () => {
    addCluster('KR', 'ops-cmak');
    const ncloud = client();
    expect(await ncloud.assertReady()).toEqual({ username: 'ops-cmak' });
    expect(await ncloud.reset(NEW_PASSWORD)).toEqual({ providerRequestId: expect.any(String) });
    expect(sim.cluster('KR', CLUSTER)?.password).toBe(NEW_PASSWORD);
    expect(await ncloud.awaitSettled(Date.now() + 2_000)).toBe('ready');
    expect(paths().slice(0, 2)).toEqual(['getClusterInfoList:KR:200', 'resetMGMTPassword:KR:200']);
  });

  it('uses the retired resetCMAKPassword only when configured, for an account that still has it', async () => {
    addCluster();
    sim.retiredResetAvailable = true;
    await client({ NCLOUD_CDSS_RESET_API: 'resetCMAKPassword' }).reset(NEW_PASSWORD);
    expect(paths()).toEqual(['resetCMAKPassword:KR:200']);
    expect(sim.cluster('KR', CLUSTER)?.password).toBe(NEW_PASSWORD);
  });

  it('explains a 404 from the retired API as the API, not the cluster, and changes nothing', async () => {
    addCluster();
    const error = await rejection(client({ NCLOUD_CDSS_RESET_API: 'resetCMAKPassword' }).reset(NEW_PASSWORD));
    expect(error).toMatchObject({
      code: 'PROVIDER_REJECTED',
      retryable: false,
      providerStatus: 404,
      providerCode: '300',
    });
    expect(error.message).toBe(
      'Naver Cloud answered HTTP 404 to resetCMAKPassword: the reset API is not available to this account (see NCLOUD_CDSS_RESET_API)',
    );
    expect(sim.cluster('KR', CLUSTER)?.password).toBe('Old-Manager-pw1!');
  });

  it('reaches the government site south region under /api/krs-v1', async () => {
    addCluster('KRS');
    const ncloud = client({ NCLOUD_CDSS_SITE: 'gov' }, 'KRS');
    await ncloud.assertReady();
    await ncloud.reset(NEW_PASSWORD);
    expect(paths()).toEqual(['getClusterInfoList:KRS:200', 'resetMGMTPassword:KRS:200']);
    expect(sim.cluster('KRS', CLUSTER)?.password).toBe(NEW_PASSWORD);
  });

  it('answers CLUSTER_STATE_CONFLICT while the cluster is not running, and sends no reset', async () => {
    addCluster().status = 'changing';
    const error = await rejection(client().assertReady());
    expect(error).toMatchObject({ code: 'CLUSTER_STATE_CONFLICT', retryable: true });
    expect(paths()).toEqual(['getClusterInfoList:KR:200']);
  });

  it('answers CLUSTER_NOT_FOUND for a cluster the account does not have', async () => {
    const error = await rejection(client().assertReady());
    expect(error).toMatchObject({ code: 'CLUSTER_NOT_FOUND', providerStatus: 404 });
  });

  it('leaves the username out when the cluster info does not name one', async () => {
    sim.addCluster({
      region: 'KR',
      serviceGroupInstanceNo: CLUSTER,
      password: 'Old-Manager-pw1!',
      managerUserName: '',
    });
    expect(await client().assertReady()).toEqual({});
  });

  it.each([
    ['running', 'ready'],
    ['creating', 'changing'],
    ['changing', 'changing'],
    ['deleting', 'changing'],
    ['error', 'error'],
    ['return', 'error'],
    ['suspended', 'changing'],
    ['constructor', 'changing'],
  ])('reports the cluster status %s as %s', async (status, state) => {
    addCluster().status = status;
    // A running cluster answers at the first poll; any other is still what it was at the deadline.
    expect(await client().awaitSettled(Date.now() + 40)).toBe(state);
  });

  it.each([
    ['changing', 'changing'],
    ['error', 'error'],
  ])('reports a cluster still %s at the end as %s, never throwing', async (status, state) => {
    addCluster().status = status;
    expect(await client().awaitSettled(Date.now() + 60)).toBe(state);
    expect(sim.operationCalls('state').length).toBeGreaterThan(1);
  });

  it('keeps the state last seen when the later polls fail', async () => {
    addCluster().status = 'changing';
    sim.faults.add({ operation: 'state', skip: 1, drop: true, times: 1_000 });
    expect(await client().awaitSettled(Date.now() + 100)).toBe('changing');
    expect(sim.operationCalls('state')[0]?.status).toBe(200);
  });

  it('answers undefined when no poll succeeds, or when the time is already up', async () => {
    addCluster();
    sim.faults.add({ operation: 'state', drop: true, times: 1_000 });
    expect(await client().awaitSettled(Date.now() + 100)).toBeUndefined();
    expect(await client().awaitSettled(Date.now() - 1)).toBeUndefined();
  });

  it("stops waiting at the client's deadline even when asked to wait longer", async () => {
    addCluster().status = 'changing';
    const started = Date.now();
    expect(await client({}, 'KR', 100).awaitSettled(started + 60_000)).toBe('changing');
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
