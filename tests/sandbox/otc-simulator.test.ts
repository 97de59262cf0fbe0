import { AKSKSigner } from '@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner.js';
import type { ICredential } from '@huaweicloud/huaweicloud-sdk-core/auth/ICredential.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signCssRequest } from '../../lib/providers/css/signer.ts';
import { OtcCssSimulator } from '../../sandbox/otc-css.ts';
import { type Served, serve } from '../support/serve.ts';

// The simulator verifies signatures with its own code; these tests hold it to the reference
// signer and show that it refuses what the gateway would refuse.

const PROJECT = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const CLUSTER = '4f3deec3-efa8-4598-bf91-560aad1377a3';
const AK = 'QTWAOYTTINDUT2QVKYUC';
const SK = 'sk-otc-simulator-test';
const CLUSTER_PATH = `/v1.0/${PROJECT}/clusters/${CLUSTER}`;
const RESET_PATH = `${CLUSTER_PATH}/password/reset`;

let sim: OtcCssSimulator;
let server: Served;
let baseUrl: string;

beforeEach(async () => {
  sim = new OtcCssSimulator({ changingMs: 80 });
  sim.addKey(AK, SK);
  sim.addCluster({ region: 'eu-de', projectId: PROJECT, clusterId: CLUSTER, password: 'Old-Admin-Pass1' });
  server = await serve((req, res) => sim.handle(req, res));
  baseUrl = server.url;
});

afterEach(() => server.close());

interface Call {
  method?: string;
  path?: string;
  body?: string;
  headers?: Record<string, string>;
  secretKey?: string;
  date?: Date;
  /** Changes the request after it was signed. */
  tamper?: (request: { url: string; method: string; headers: Record<string, string>; body?: string }) => void;
}

const send = async (call: Call = {}) => {
  const method = call.method ?? 'POST';
  const url = `${baseUrl}${call.path ?? RESET_PATH}`;
  const body =
    call.body ?? (method === 'GET' ? undefined : JSON.stringify({ newpassword: 'N3w-Admin-Pass!' }));
  const headers = { 'content-type': 'application/json', 'x-project-id': PROJECT, ...call.headers };
  const signature = signCssRequest({
    method,
    url,
    headers,
    body,
    accessKey: AK,
    secretKey: call.secretKey ?? SK,
    date: call.date ?? new Date(),
  });
  const request = { url, method, headers: { ...headers, ...signature.headers }, body };
  call.tamper?.(request);
  const response = await fetch(request.url, {
    method: request.method,
    headers: request.headers,
    ...(request.body === undefined ? {} : { body: request.body }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : undefined };
};

describe('OTC CSS simulator', () => {
  it('accepts a request signed by the reference signer, query string included', async () => {
    const data = { newpassword: 'Ref-Signed-Pass1' };
    const headers = AKSKSigner.sign(
      {
        endpoint: `${baseUrl}${RESET_PATH}`,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'X-Project-Id': PROJECT },
        queryParams: { b: 'x y', a: ['2', '1'], ü: '~*' },
        data,
      },
      { getAk: () => AK, getSk: () => SK } as unknown as ICredential,
    ) as Record<string, string>;
    const response = await fetch(`${baseUrl}${RESET_PATH}?b=x%20y&a=2&a=1&%C3%BC=~%2A`, {
      method: 'POST',
      headers,
      body: JSON.stringify(data),
    });
    expect(response.status).toBe(200);
    expect(sim.cluster('eu-de', CLUSTER)?.password).toBe('Ref-Signed-Pass1');
  });

  it('answers 200 {} with an x-request-id, then shows the cluster busy until it settles', async () => {
    const answer = await send();
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({});
    expect(answer.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/);
    const busy = await send({ method: 'GET', path: CLUSTER_PATH });
    expect(busy.json).toMatchObject({
      id: CLUSTER,
      status: '200',
      authorityEnable: true,
      actions: ['RESET_PASSWORD'],
    });
    expect(JSON.stringify(busy.json)).not.toContain('N3w-Admin-Pass!');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await send({ method: 'GET', path: CLUSTER_PATH })).json).toMatchObject({ actions: [] });
  });

  it.each([
    ['the body changed', { tamper: (r: { body?: string }) => (r.body = '{"newpassword":"Other-Pass-123"}') }],
    ['the path changed', { tamper: (r: { url: string }) => (r.url = r.url.replace('/reset', '/reset?x=1')) }],
    [
      'a signed header changed',
      { tamper: (r: { headers: Record<string, string> }) => (r.headers['content-type'] = 'text/plain') },
    ],
    ['the wrong secret key', { secretKey: 'sk-wrong' }],
    ['a date 16 minutes old', { date: new Date(Date.now() - 16 * 60_000) }],
    ['a date 16 minutes ahead', { date: new Date(Date.now() + 16 * 60_000) }],
    [
      'host left out of SignedHeaders',
      {
        tamper: (r: { headers: Record<string, string> }) => {
          r.headers.authorization = (r.headers.authorization as string).replace(
            'content-type;host;',
            'content-type;',
          );
        },
      },
    ],
    [
      'SignedHeaders out of order',
      {
        tamper: (r: { headers: Record<string, string> }) => {
          r.headers.authorization = (r.headers.authorization as string).replace(
            'content-type;host;',
            'host;content-type;',
          );
        },
      },
    ],
    [
      'an unknown access key',
      {
        tamper: (r: { headers: Record<string, string> }) => {
          r.headers.authorization = (r.headers.authorization as string).replace(
            `Access=${AK}`,
            'Access=UNKNOWNKEY',
          );
        },
      },
    ],
    [
      'no Authorization header',
      { tamper: (r: { headers: Record<string, string> }) => delete r.headers.authorization },
    ],
  ])('refuses %s with 401 APIGW.0301', async (_, call) => {
    const answer = await send(call as Call);
    expect(answer.status).toBe(401);
    expect(answer.json).toMatchObject({ error_code: 'APIGW.0301' });
    expect(sim.cluster('eu-de', CLUSTER)?.password).toBe('Old-Admin-Pass1');
  });

  it('accepts a date 14 minutes off', async () => {
    expect(
      (await send({ method: 'GET', path: CLUSTER_PATH, date: new Date(Date.now() - 14 * 60_000) })).status,
    ).toBe(200);
  });

  it('refuses an X-Project-Id that is not the project of the path', async () => {
    const answer = await send({ headers: { 'x-project-id': 'ffffffffffffffffffffffffffffffff' } });
    expect(answer.status).toBe(403);
  });

  it('answers the published rules: 400 CSS.0050, 404 CSS.0047, 409 CSS.0011, 412, unknown routes', async () => {
    expect((await send({ body: '{"newpassword":"short1A"}' })).json).toMatchObject({
      error_code: 'CSS.0050',
    });
    expect((await send({ body: '{"newpassword":"abcdefgh12"}' })).status).toBe(400);
    expect((await send({ body: '{"newpassword":"Abcdefgh 12"}' })).status).toBe(400);
    expect((await send({ body: 'not json' })).status).toBe(400);

    const missing = await send({ path: RESET_PATH.replace(CLUSTER, '00000000-0000-4000-8000-000000000000') });
    expect(missing).toMatchObject({ status: 404, json: { error_code: 'CSS.0047' } });

    (sim.cluster('eu-de', CLUSTER) as { actions: string[] }).actions = ['RESIZING'];
    expect(await send()).toMatchObject({ status: 409, json: { error_code: 'CSS.0011' } });
    (sim.cluster('eu-de', CLUSTER) as { actions: string[] }).actions = [];
    (sim.cluster('eu-de', CLUSTER) as { authorityEnable: boolean }).authorityEnable = false;
    expect((await send()).status).toBe(412);

    expect((await send({ method: 'GET' })).status).toBe(404);
    expect((await send({ path: '/v2.0/x' })).json).toMatchObject({ error_code: 'APIGW.0101' });
    expect(sim.cluster('eu-de', CLUSTER)?.password).toBe('Old-Admin-Pass1');
  });

  it('injects faults: a 202 CSS.0011, and a reset applied before the connection drops', async () => {
    sim.faults.add({ operation: 'reset', status: 202, body: { error_code: 'CSS.0011', error_msg: 'busy' } });
    const answer = await send();
    expect(answer).toMatchObject({ status: 202, json: { error_code: 'CSS.0011' } });
    expect(answer.headers.get('x-request-id')).toBeTruthy();
    expect(sim.cluster('eu-de', CLUSTER)?.password).toBe('Old-Admin-Pass1');

    sim.faults.add({ operation: 'reset', applyThenDrop: true });
    await expect(send()).rejects.toThrow();
    expect(sim.cluster('eu-de', CLUSTER)?.password).toBe('N3w-Admin-Pass!');
    expect(sim.operationCalls('reset').map((call) => call.status)).toEqual([202, 0]);
  });
});
