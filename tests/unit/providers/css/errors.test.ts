import { describe, expect, it } from 'vitest';
import { cssError, cssRequestId } from '../../../../lib/providers/css/errors.ts';
import { providerResponse } from '../../../support/provider-response.ts';
import {
  codeEchoes,
  ECHOED_PASSWORD,
  echoVariants,
  lowerHex,
  passwordEchoes,
  shown,
  TOKEN_PASSWORD,
} from '../../../support/secret-echoes.ts';

const response = providerResponse;

const css = (code: string, message = 'css says no') => ({ error_code: code, error_msg: message });
const gateway = (code: string, message = 'gateway says no') => ({ error: { code, message } });

// The mapping is the CSS API's; the cloud's name is what the message starts with.
const otcError = (answer: Parameters<typeof cssError>[0], secrets: ReadonlyArray<string>) =>
  cssError(answer, secrets, 'Open Telekom Cloud');

describe('CSS error mapping (Open Telekom Cloud)', () => {
  it.each([
    [404, 'CSS.0047', 'CLUSTER_NOT_FOUND', false],
    [400, 'CSS.0050', 'PASSWORD_POLICY_VIOLATION', false],
    [400, 'CSS.0066', 'PASSWORD_POLICY_VIOLATION', false],
    [400, 'CSS.2026', 'PASSWORD_POLICY_VIOLATION', false],
    [409, 'CSS.0011', 'CLUSTER_STATE_CONFLICT', true],
    [202, 'CSS.0011', 'CLUSTER_STATE_CONFLICT', true],
    [400, 'CSS.5090', 'CLUSTER_STATE_CONFLICT', true],
    [409, 'CSS.5301', 'CLUSTER_STATE_CONFLICT', true],
    [412, 'CSS.0015', 'PRECONDITION_FAILED', false],
    [401, 'APIGW.0301', 'PROVIDER_AUTH_FAILED', false],
    [403, 'APIGW.0302', 'PROVIDER_AUTH_FAILED', false],
    [429, 'APIGW.0308', 'PROVIDER_THROTTLED', true],
    [500, 'CSS.9999', 'PROVIDER_UNAVAILABLE', true],
    [503, 'APIGW.0201', 'PROVIDER_UNAVAILABLE', true],
    [400, 'CSS.0001', 'PROVIDER_REJECTED', false],
    [422, 'CSS.0002', 'PROVIDER_REJECTED', false],
  ])('HTTP %i with %s is %s', (status, providerCode, code, retryable) => {
    const error = otcError(response(status, css(providerCode)), []);
    expect(error).toMatchObject({ code, retryable, providerStatus: status, providerCode });
    expect(error.message).toBe(`Open Telekom Cloud answered HTTP ${status}: css says no`);
  });

  it.each([
    [404, 'CLUSTER_NOT_FOUND'],
    [409, 'CLUSTER_STATE_CONFLICT'],
    [412, 'PRECONDITION_FAILED'],
    [401, 'PROVIDER_AUTH_FAILED'],
    [403, 'PROVIDER_AUTH_FAILED'],
    [429, 'PROVIDER_THROTTLED'],
    [502, 'PROVIDER_UNAVAILABLE'],
    [400, 'PROVIDER_REJECTED'],
    // Accepted without a known refusal code: maybe applied, so unknown (retryable), not refused.
    [202, 'PROVIDER_UNAVAILABLE'],
    [201, 'PROVIDER_UNAVAILABLE'],
  ])('HTTP %i without a known CSS code is %s', (status, code) => {
    const error = otcError(response(status, ''), []);
    expect(error).toMatchObject({ code, providerStatus: status });
    expect(error.providerCode).toBeUndefined();
    expect(error.message).toBe(`Open Telekom Cloud answered HTTP ${status}`);
  });

  it('treats HTTP 202 with CSS.0011 as another operation running, not as a success', () => {
    const error = otcError(response(202, css('CSS.0011', 'Another operation is in progress')), []);
    expect(error).toMatchObject({ code: 'CLUSTER_STATE_CONFLICT', retryable: true, providerStatus: 202 });
  });

  it('reads the gateway shape {"error":{"code","message"}}', () => {
    expect(otcError(response(404, gateway('CSS.0047', 'no such cluster')), [])).toMatchObject({
      code: 'CLUSTER_NOT_FOUND',
      providerCode: 'CSS.0047',
      message: 'Open Telekom Cloud answered HTTP 404: no such cluster',
    });
    expect(otcError(response(400, gateway('APIGW.0101')), [])).toMatchObject({
      code: 'PROVIDER_REJECTED',
      providerCode: 'APIGW.0101',
    });
  });

  it('reads a text/plain or HTML body, and odd JSON, without failing', () => {
    const plain = otcError(response(502, 'Bad Gateway\n', { 'content-type': 'text/plain' }), []);
    expect(plain).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', providerStatus: 502 });
    expect(plain.providerCode).toBeUndefined();
    expect(plain.message).toBe('Open Telekom Cloud answered HTTP 502: Bad Gateway');
    expect(otcError(response(500, '<html>oops</html>'), []).message).toContain('<html>oops</html>');
    for (const body of ['null', '[]', '42', '"text"', '{"error":null}', '{"error_code":{"x":1}}']) {
      const error = otcError(response(400, body), []);
      expect(error.code).toBe('PROVIDER_REJECTED');
      expect(error.providerCode).toBeUndefined();
    }
    expect(otcError(response(400, { error_code: 50, error_msg: 7 }), [])).toMatchObject({
      providerCode: '50',
      message: 'Open Telekom Cloud answered HTTP 400: 7',
    });
  });

  it('keeps the Retry-After of a 429', () => {
    expect(otcError(response(429, css('APIGW.0308'), { 'retry-after': '7' }), [])).toMatchObject({
      code: 'PROVIDER_THROTTLED',
      retryAfterSeconds: 7,
    });
    expect(otcError(response(429, css('APIGW.0308'), { 'retry-after': 'soon' }), []).retryAfterSeconds).toBe(
      undefined,
    );
  });

  const secrets = [ECHOED_PASSWORD, TOKEN_PASSWORD, 'sk-123456'];
  const withheld = (status: number) =>
    `Open Telekom Cloud answered HTTP ${status} (the provider's message was withheld: it echoed request data)`;

  it.each(passwordEchoes(ECHOED_PASSWORD))('withholds a message that echoes the password %s', (_, echo) => {
    const answers: Array<[object, string]> = [
      [css('CSS.0050', `newpassword ${echo} is too weak`), 'CSS.0050'],
      [gateway('CSS.0047', echo), 'CSS.0047'],
    ];
    for (const [body, providerCode] of answers) {
      const error = otcError(response(400, body), secrets);
      expect(error.message).toBe(withheld(400));
      expect(error.providerCode).toBe(providerCode);
      expect(echoVariants(ECHOED_PASSWORD).filter((variant) => shown(error).includes(variant))).toEqual([]);
    }
  });

  it('withholds a text/plain or HTML body that echoes the password or the secret key', () => {
    const form = lowerHex(new URLSearchParams({ newpassword: ECHOED_PASSWORD }).toString());
    expect(otcError(response(500, `upstream echoed ${form}`), secrets).message).toBe(withheld(500));
    const html = `<pre>key=${'sk-123456'.replace(/-/g, '&#45;')}</pre>`;
    expect(otcError(response(502, html, { 'content-type': 'text/html' }), secrets).message).toBe(
      withheld(502),
    );
  });

  it.each(codeEchoes)('drops a code that is %s', (_, code) => {
    for (const body of [css(code, 'rejected'), gateway(code, 'rejected')]) {
      const error = otcError(response(400, body), secrets);
      expect(error.providerCode).toBe(undefined);
      expect(error.code).toBe('PROVIDER_REJECTED');
      expect(error.message).toBe('Open Telekom Cloud answered HTTP 400: rejected');
      expect(shown(error).includes(code)).toBe(false);
    }
  });

  it('keeps a clean message, cut at 300 characters, while dropping a code that echoes the password', () => {
    const error = otcError(response(400, css(TOKEN_PASSWORD, `quota ${'y'.repeat(500)}`)), secrets);
    expect(error.message).toBe(`Open Telekom Cloud answered HTTP 400: quota ${'y'.repeat(294)}…`);
    expect(error.providerCode).toBe(undefined);
  });

  it('takes the request id from the x-request-id header', () => {
    expect(cssRequestId(response(200, {}, { 'x-request-id': 'a1b2c3' }))).toBe('a1b2c3');
    expect(cssRequestId(response(200, {}))).toBeUndefined();
  });
});
