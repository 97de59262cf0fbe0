import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { retryAfterSeconds, sendProviderRequest, sleep, timeoutWithin } from '../../../lib/providers/http.ts';
import { rejection } from '../../support/rejection.ts';
import { type Served, serve } from '../../support/serve.ts';

// MAX_PROVIDER_RESPONSE_BYTES, written out rather than imported so that a changed cap fails here.
const CAP = 64 * 1024;

interface Received {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Served | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  vi.useRealTimers();
});

const readBody = async (req: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

/** A server that answers every request with `status`, `headers` and `body`, and keeps what it got. */
const answering = async (status: number, body: string, headers: Record<string, string> = {}) => {
  const received: Received[] = [];
  server = await serve(async (req, res) => {
    received.push({ method: req.method, url: req.url, headers: req.headers, body: await readBody(req) });
    res.writeHead(status, headers);
    res.end(body);
  });
  return { url: server.url, received };
};

const get = (url: string, timeoutMs = 2_000) =>
  sendProviderRequest('Test Cloud', { method: 'GET', url, headers: {}, timeoutMs });

describe('sendProviderRequest', () => {
  it('sends the method, headers and body, and returns the status, headers, text and JSON', async () => {
    const { url, received } = await answering(201, '{"requestId":"r-1","items":[1,2]}', {
      'content-type': 'application/json',
      'x-request-id': 'r-1',
    });
    const response = await sendProviderRequest('Test Cloud', {
      method: 'POST',
      url: `${url}/v1/reset?x=1`,
      headers: { 'content-type': 'application/json', 'x-signature': 'sig-abc' },
      body: '{"password":"irrelevant"}',
      timeoutMs: 2_000,
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-request-id')).toBe('r-1');
    expect(response.text).toBe('{"requestId":"r-1","items":[1,2]}');
    expect(response.json).toEqual({ requestId: 'r-1', items: [1, 2] });
    expect(received).toHaveLength(1);
    expect(received[0]?.method).toBe('POST');
    expect(received[0]?.url).toBe('/v1/reset?x=1');
    expect(received[0]?.headers['x-signature']).toBe('sig-abc');
    expect(received[0]?.body).toBe('{"password":"irrelevant"}');
  });

  it('returns an error status as an answer, not as a failure', async () => {
    const { url } = await answering(503, '{"code":"busy"}');
    const response = await get(url);
    expect(response.status).toBe(503);
    expect(response.json).toEqual({ code: 'busy' });
  });

  it('leaves json undefined for a body that is not JSON, and for an empty body', async () => {
    const html = '<html><body>502 Bad Gateway</body></html>';
    const { url } = await answering(502, html, { 'content-type': 'text/html' });
    const page = await get(url);
    expect(page.text).toBe(html);
    expect(page.json).toBeUndefined();
    await server?.close();

    const empty = await answering(204, '');
    const nothing = await get(empty.url);
    expect(nothing.status).toBe(204);
    expect(nothing.text).toBe('');
    expect(nothing.json).toBeUndefined();
  });

  it('reads an answer of exactly MAX_PROVIDER_RESPONSE_BYTES whole', async () => {
    const body = 'a'.repeat(CAP);
    const { url } = await answering(200, body);
    expect((await get(url)).text).toBe(body);
  });

  it('cuts an answer larger than MAX_PROVIDER_RESPONSE_BYTES, so that it is no longer JSON', async () => {
    const body = JSON.stringify({ filler: 'x'.repeat(4 * CAP) });
    const { url } = await answering(200, body, { 'content-type': 'application/json' });
    const response = await get(url);
    expect(response.status).toBe(200);
    expect(response.text.length).toBeLessThanOrEqual(CAP);
    // What was read is the answer's start; how much of it depends on how the chunks fell.
    expect(response.text).toBe(body.slice(0, response.text.length));
    expect(response.json).toBeUndefined();
  });

  it('answers PROVIDER_UNAVAILABLE "did not answer within N ms" when no answer comes in time', async () => {
    server = await serve(() => new Promise<void>(() => {}));
    const error = await rejection(get(server.url, 100));
    expect(error.code).toBe('PROVIDER_UNAVAILABLE');
    expect(error.message).toBe('Test Cloud did not answer within 100 ms');
    expect(error.retryable).toBe(true);
  });

  it('times out a body that stops half way, too', async () => {
    server = await serve(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"state":');
      await new Promise<void>(() => {});
    });
    const error = await rejection(get(server.url, 150));
    expect(error.code).toBe('PROVIDER_UNAVAILABLE');
    expect(error.message).toBe('Test Cloud did not answer within 150 ms');
  });

  it('answers PROVIDER_UNAVAILABLE "could not be reached" for a refused connection', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const error = await rejection(get(`http://127.0.0.1:${port}/`));
    expect(error.code).toBe('PROVIDER_UNAVAILABLE');
    expect(error.message).toBe('Test Cloud could not be reached');
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('follows no redirect: a signed request must not go elsewhere', async () => {
    const paths: Array<string | undefined> = [];
    server = await serve(async (req, res) => {
      paths.push(req.url);
      res.writeHead(302, { location: '/elsewhere' });
      res.end();
    });
    const error = await rejection(get(`${server.url}/first`));
    expect(error.code).toBe('PROVIDER_UNAVAILABLE');
    expect(error.message).toBe('Test Cloud could not be reached');
    expect(paths).toEqual(['/first']);
  });
});

describe('retryAfterSeconds', () => {
  const retryAfter = (value?: string) =>
    retryAfterSeconds(new Headers(value === undefined ? {} : { 'Retry-After': value }));

  it('reads delta-seconds', () => {
    expect(retryAfter('120')).toBe(120);
    expect(retryAfter('0')).toBe(0);
    expect(retryAfter(' 7 ')).toBe(7);
    expect(retryAfter('999999')).toBe(999_999);
  });

  it('ignores an absent header, an HTTP-date and anything else', () => {
    expect(retryAfter()).toBeUndefined();
    expect(retryAfter('Wed, 21 Oct 2026 07:28:00 GMT')).toBeUndefined();
    expect(retryAfter('soon')).toBeUndefined();
    expect(retryAfter('-5')).toBeUndefined();
    expect(retryAfter('1.5')).toBeUndefined();
    expect(retryAfter('1e3')).toBeUndefined();
    expect(retryAfter('')).toBeUndefined();
    expect(retryAfter('1000000')).toBeUndefined();
  });
});

describe('timeoutWithin', () => {
  const NOW = new Date('2026-11-23T10:00:00Z').getTime();

  it('is the timeout, or what is left before the deadline when that is less, and at least 1 ms', () => {
    vi.useFakeTimers({ toFake: ['Date'], now: NOW });
    expect(timeoutWithin(5_000, NOW + 10_000)).toBe(5_000);
    expect(timeoutWithin(5_000, NOW + 5_000)).toBe(5_000);
    expect(timeoutWithin(5_000, NOW + 2_000)).toBe(2_000);
    expect(timeoutWithin(5_000, NOW + 1)).toBe(1);
    // A deadline already past still gives a valid timeout, so that the request fails as a timeout.
    expect(timeoutWithin(5_000, NOW)).toBe(1);
    expect(timeoutWithin(5_000, NOW - 60_000)).toBe(1);
  });
});

describe('sleep', () => {
  it('resolves after the given time, not before', async () => {
    vi.useFakeTimers();
    let done = false;
    const slept = sleep(1_000).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await slept;
    expect(done).toBe(true);
  });
});
