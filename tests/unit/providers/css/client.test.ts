import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readConfig } from '../../../../lib/config.ts';
import { otcCss } from '../../../../lib/providers/css/otc.ts';
import type { Target } from '../../../../lib/providers/types.ts';
import { type OtcClusterInput, OtcCssSimulator } from '../../../../sandbox/otc-css.ts';
import { rejection } from '../../../support/rejection.ts';
import { type Served, serve } from '../../../support/serve.ts';

const PROJECT = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const CLUSTER = '4f3deec3-efa8-4598-bf91-560aad1377a3';
const ACCESS_KEY = 'QTWAOYTTINDUT2QVKYUC';
const SECRET_KEY = 'sk-otc-client-test-secret';
const NEW_PASSWORD = 'N3w-Admin-Pass!';

let sim: OtcCssSimulator;
let server: Served;
let baseUrl: string;

beforeEach(async () => {
  sim = new OtcCssSimulator({ changingMs: 100 });
  sim.addKey(ACCESS_KEY, SECRET_KEY);
  server = await serve((req, res) => sim.handle(req, res));
  baseUrl = server.url;
});

afterEach(() => server.close());

const addCluster = (overrides: Partial<OtcClusterInput> = {}) =>
  sim.addCluster({
    region: 'eu-de',
    projectId: PROJECT,
    clusterId: CLUSTER,
    password: 'Old-Admin-Pass1',
    ...overrides,
  });

const client = (
  options: { secretKey?: string; endpoint?: string; target?: Partial<Target>; deadlineMs?: number } = {},
) =>
  otcCss.createClient({
    credentials: { accessKey: ACCESS_KEY, secretKey: options.secretKey ?? SECRET_KEY },
    target: {
      provider: 'otc-css',
      region: 'eu-de',
      clusterId: CLUSTER,
      projectId: PROJECT,
      ...options.target,
    },
    config: readConfig({
      OTC_CSS_ENDPOINT: options.endpoint ?? baseUrl,
      PROVIDER_TIMEOUT_MS: '300',
      STATE_POLL_INTERVAL_MS: '20',
    }),
    deadline: Date.now() + (options.deadlineMs ?? 10_000),
  });

const operations = () => sim.calls.map((call) => `${call.operation}:${call.status}`);

describe('OTC CSS client against the simulator', () => {
  it('checks the state, resets the password, and waits for the cluster to settle', async () => {
    addCluster();
    const otc = client();
    await otc.assertReady();
    const outcome = await otc.reset(NEW_PASSWORD);
    expect(outcome.providerRequestId).toMatch(/^[0-9a-f]{32}$/);
    expect(sim.cluster('eu-de', CLUSTER)?.password).toBe(NEW_PASSWORD);
    expect(sim.cluster('eu-de', CLUSTER)?.actions).toEqual(['RESET_PASSWORD']);
    expect(operations()).toEqual(['state:200', 'reset:200']);
    expect(sim.calls.every((call) => call.projectId === PROJECT && call.region === 'eu-de')).toBe(true);

    expect(await otc.awaitSettled(Date.now() + 2_000)).toBe('ready');
    expect(sim.cluster('eu-de', CLUSTER)?.actions).toEqual([]);
    expect(sim.operationCalls('state').length).toBeGreaterThan(1);
  });

  it.each([
    ['an action running', { actions: ['RESIZING'] }],
    ['status 100 (in progress)', { status: '100' }],
    ['status 303 (unavailable)', { status: '303' }],
  ])('answers CLUSTER_STATE_CONFLICT for %s and sends no reset', async (_, state) => {
    addCluster(state);
    const error = await rejection(client().assertReady());
    expect(error).toMatchObject({ code: 'CLUSTER_STATE_CONFLICT', retryable: true });
    expect(sim.operationCalls('reset')).toEqual([]);
    expect(operations()).toEqual(['state:200']);
  });

  it('answers PRECONDITION_FAILED when security mode is off, and sends no reset', async () => {
    addCluster({ authorityEnable: false });
    const error = await rejection(client().assertReady());
    expect(error).toMatchObject({ code: 'PRECONDITION_FAILED', retryable: false });
    expect(error.message).toContain('security mode');
    expect(sim.operationCalls('reset')).toEqual([]);
  });

  it('answers CLUSTER_NOT_FOUND for a cluster the project does not have', async () => {
    addCluster({ projectId: 'ffffffffffffffffffffffffffffffff' });
    const error = await rejection(client().assertReady());
    expect(error).toMatchObject({ code: 'CLUSTER_NOT_FOUND', providerStatus: 404, providerCode: 'CSS.0047' });
  });

  it('answers PROVIDER_AUTH_FAILED when the secret key is wrong, without quoting it', async () => {
    addCluster();
    const wrong = 'sk-wrong-secret-key';
    const state = await rejection(client({ secretKey: wrong }).assertReady());
    expect(state).toMatchObject({
      code: 'PROVIDER_AUTH_FAILED',
      providerStatus: 401,
      providerCode: 'APIGW.0301',
    });
    const reset = await rejection(client({ secretKey: wrong }).reset(NEW_PASSWORD));
    expect(reset.code).toBe('PROVIDER_AUTH_FAILED');
    for (const error of [state, reset]) {
      expect(error.message).not.toContain(wrong);
      expect(error.message).not.toContain(NEW_PASSWORD);
    }
    expect(sim.cluster('eu-de', CLUSTER)?.password).toBe('Old-Admin-Pass1');
  });

  it('answers PROVIDER_UNAVAILABLE when the provider does not answer within PROVIDER_TIMEOUT_MS', async () => {
    addCluster();
    sim.faults.add({ operation: 'reset', delayMs: 800, status: 200 });
    const started = Date.now();
    const error = await rejection(client().reset(NEW_PASSWORD));
    expect(error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', retryable: true });
    expect(error.message).toContain('did not answer within 300 ms');
    expect(Date.now() - started).toBeLessThan(800);
  });

  it('answers CLUSTER_STATE_CONFLICT for HTTP 202 with CSS.0011: not a success', async () => {
    addCluster();
    sim.faults.add({
      operation: 'reset',
      status: 202,
      body: { error_code: 'CSS.0011', error_msg: 'Another operation is being performed on the cluster' },
    });
    const error = await rejection(client().reset(NEW_PASSWORD));
    expect(error).toMatchObject({
      code: 'CLUSTER_STATE_CONFLICT',
      providerStatus: 202,
      providerCode: 'CSS.0011',
    });
    expect(sim.cluster('eu-de', CLUSTER)?.password).toBe('Old-Admin-Pass1');
  });

  it('answers CLUSTER_STATE_CONFLICT for the 409 of a cluster that became busy after the check', async () => {
    addCluster();
    const otc = client();
    await otc.assertReady();
    (sim.cluster('eu-de', CLUSTER) as { actions: string[] }).actions = ['RESTARTING'];
    const error = await rejection(otc.reset(NEW_PASSWORD));
    expect(error).toMatchObject({
      code: 'CLUSTER_STATE_CONFLICT',
      providerStatus: 409,
      providerCode: 'CSS.0011',
    });
  });

  it('answers PASSWORD_POLICY_VIOLATION when CSS refuses the password, without quoting it', async () => {
    addCluster();
    const error = await rejection(client().reset('only-lower-case'));
    expect(error).toMatchObject({ code: 'PASSWORD_POLICY_VIOLATION', providerCode: 'CSS.0050' });
    expect(error.message).not.toContain('only-lower-case');
  });

  it('builds and signs the reset for a dry run without sending anything or holding the password', () => {
    addCluster();
    const prepared = client().prepareReset(NEW_PASSWORD);
    expect(prepared).toEqual({
      method: 'POST',
      url: `${baseUrl}/v1.0/${PROJECT}/clusters/${CLUSTER}/password/reset`,
      signedHeaders: ['content-type', 'host', 'x-project-id', 'x-sdk-date'],
    });
    expect(JSON.stringify(prepared)).not.toContain(NEW_PASSWORD);
    expect(sim.calls).toEqual([]);
  });

  it('reaches the region named in the endpoint pattern', async () => {
    sim.addCluster({ region: 'eu-nl', projectId: PROJECT, clusterId: CLUSTER, password: 'Old-Admin-Pass1' });
    const otc = client({ endpoint: `${baseUrl}/{region}`, target: { region: 'eu-nl' } });
    await otc.assertReady();
    await otc.reset(NEW_PASSWORD);
    expect(sim.cluster('eu-nl', CLUSTER)?.password).toBe(NEW_PASSWORD);
    expect(sim.calls.map((call) => call.region)).toEqual(['eu-nl', 'eu-nl']);
  });

  it('reports, never throws, a cluster still busy or unreachable at the deadline', async () => {
    addCluster({ actions: ['RESIZING'] });
    expect(await client().awaitSettled(Date.now() + 100)).toBe('changing');
    sim.faults.add({ operation: 'state', drop: true, times: 1_000 });
    expect(await client().awaitSettled(Date.now() + 100)).toBeUndefined();
    expect(await client().awaitSettled(Date.now() - 1)).toBeUndefined();
  });

  it.each([
    ['100', [], 'changing'],
    ['200', [], 'ready'],
    ['200', ['RESET_PASSWORD'], 'changing'],
    ['303', [], 'error'],
    ['303', ['REBOOTING'], 'error'],
    ['100', ['GROWING'], 'changing'],
    ['999', [], 'changing'],
    ['constructor', [], 'changing'],
  ])('reports status %s with actions %j as %s', async (status, actions, state) => {
    addCluster({ status, actions });
    // A ready cluster answers at the first poll; any other is still what it was at the deadline.
    expect(await client().awaitSettled(Date.now() + 60)).toBe(state);
  });

  it.each([
    ['100', 'changing'],
    ['303', 'error'],
  ])('reports a cluster still at status %s at the end as %s', async (status, state) => {
    addCluster({ status });
    expect(await client().awaitSettled(Date.now() + 100)).toBe(state);
    expect(sim.operationCalls('state').length).toBeGreaterThan(1);
  });

  it('keeps the state last seen when the later polls fail', async () => {
    addCluster({ actions: ['RESIZING'] });
    sim.faults.add({ operation: 'state', skip: 1, drop: true, times: 1_000 });
    expect(await client().awaitSettled(Date.now() + 150)).toBe('changing');
    expect(sim.operationCalls('state')[0]?.status).toBe(200);
  });

  it("stops waiting at the client's deadline even when asked to wait longer", async () => {
    addCluster({ actions: ['RESIZING'] });
    const started = Date.now();
    expect(await client({ deadlineMs: 100 }).awaitSettled(started + 60_000)).toBe('changing');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('accepts eu-ch2 only with an explicit endpoint', () => {
    const target = { provider: 'otc-css' as const, region: 'eu-ch2', clusterId: CLUSTER, projectId: PROJECT };
    const options = { credentials: { accessKey: 'a', secretKey: 's' }, target, deadline: Date.now() + 1_000 };
    expect(() => otcCss.createClient({ ...options, config: readConfig({}) })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED' }),
    );
    const overridden = otcCss.createClient({
      ...options,
      config: readConfig({ OTC_CSS_ENDPOINT: 'https://css.{region}.sc.otc.t-systems.com' }),
    });
    expect(overridden.prepareReset('x').url).toBe(
      `https://css.eu-ch2.sc.otc.t-systems.com/v1.0/${PROJECT}/clusters/${CLUSTER}/password/reset`,
    );
  });
});
