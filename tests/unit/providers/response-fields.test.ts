import { describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../../lib/errors.ts';
import {
  asText,
  codeForHttpStatus,
  field,
  firstText,
  plainTextBody,
  providerCodeText,
  providerErrorDetails,
  withProviderMessage,
} from '../../../lib/providers/response-fields.ts';
import { providerResponse } from '../../support/provider-response.ts';

const SECRET = 'Hunter2-Reset-pw';

describe('field', () => {
  it('reads a key of an object or an array, and nothing of anything else', () => {
    expect(field({ error: { code: 'E1' } }, 'error')).toEqual({ code: 'E1' });
    expect(field({ count: 0 }, 'count')).toBe(0);
    expect(field([10, 20], '1')).toBe(20);
    expect(field({}, 'missing')).toBeUndefined();
    expect(field(null, 'error')).toBeUndefined();
    expect(field(undefined, 'error')).toBeUndefined();
    expect(field('text', 'length')).toBeUndefined();
    expect(field(42, 'toString')).toBeUndefined();
  });
});

describe('asText', () => {
  it('reads strings and numbers as text', () => {
    expect(asText('CSS.0011')).toBe('CSS.0011');
    expect(asText('')).toBe('');
    expect(asText(401)).toBe('401');
    expect(asText(0)).toBe('0');
  });

  it('reads anything else as undefined', () => {
    for (const value of [true, false, null, undefined, {}, { code: 'E' }, ['E'], Symbol('E')]) {
      expect(asText(value)).toBeUndefined();
    }
  });
});

describe('firstText', () => {
  it('is the first candidate with non-empty text, trimmed', () => {
    expect(firstText(undefined, '  ', 'second')).toBe('second');
    expect(firstText('  first \n', 'second')).toBe('first');
    expect(firstText(null, { message: 'nested' }, 7)).toBe('7');
    expect(firstText(false, 0, 'later')).toBe('0');
  });

  it('is undefined when no candidate reads as text', () => {
    expect(firstText()).toBeUndefined();
    expect(firstText(undefined, null, ' \t', {}, [], true)).toBeUndefined();
  });
});

describe('plainTextBody', () => {
  it('is the trimmed body when it is not JSON', () => {
    expect(plainTextBody(providerResponse(502, '  <html>Bad Gateway</html>\n'))).toBe(
      '<html>Bad Gateway</html>',
    );
    expect(plainTextBody(providerResponse(429, 'Too Many Requests'))).toBe('Too Many Requests');
  });

  it('is undefined for a JSON body, whatever its shape, and for a blank one', () => {
    expect(plainTextBody(providerResponse(400, { message: 'bad' }))).toBeUndefined();
    expect(plainTextBody(providerResponse(400, '"a JSON string"'))).toBeUndefined();
    expect(plainTextBody(providerResponse(400, 'null'))).toBeUndefined();
    expect(plainTextBody(providerResponse(502, '   \n'))).toBeUndefined();
    expect(plainTextBody(providerResponse(502, ''))).toBeUndefined();
  });
});

describe('providerCodeText', () => {
  it('keeps a short plain token', () => {
    expect(providerCodeText('CSS.0011', [SECRET])).toBe('CSS.0011');
    expect(providerCodeText('ERR_AUTH:sign-mismatch', [SECRET])).toBe('ERR_AUTH:sign-mismatch');
    expect(providerCodeText('x'.repeat(40), [SECRET])).toBe('x'.repeat(40));
    expect(providerCodeText('1', [])).toBe('1');
  });

  it('drops an absent, empty, long or non-token code', () => {
    expect(providerCodeText(undefined, [SECRET])).toBeUndefined();
    expect(providerCodeText('', [SECRET])).toBeUndefined();
    expect(providerCodeText('x'.repeat(41), [SECRET])).toBeUndefined();
    expect(providerCodeText('invalid password', [SECRET])).toBeUndefined();
    expect(providerCodeText('E1<script>', [SECRET])).toBeUndefined();
    expect(providerCodeText('E1\n', [SECRET])).toBeUndefined();
  });

  it('drops a token that is a secret, as sent or encoded', () => {
    expect(providerCodeText(SECRET, [undefined, SECRET])).toBeUndefined();
    const hex = Buffer.from('Sk-77-abc', 'utf8').toString('hex');
    expect(providerCodeText(hex, ['Sk-77-abc'])).toBeUndefined();
    // The same token without the secret among those held is kept: the secret is what drops it.
    expect(providerCodeText(hex, ['another-one'])).toBe(hex);
  });
});

describe('withProviderMessage', () => {
  const SUMMARY = 'Test Cloud refused the reset (HTTP 400)';

  it("is the summary alone without a provider's message", () => {
    expect(withProviderMessage(SUMMARY, undefined, [SECRET])).toBe(SUMMARY);
  });

  it("appends the provider's message when it holds no secret", () => {
    expect(withProviderMessage(SUMMARY, 'cluster is busy', [SECRET])).toBe(`${SUMMARY}: cluster is busy`);
  });

  it('cuts a long message at 300 characters', () => {
    expect(withProviderMessage(SUMMARY, 'y'.repeat(1_000), [SECRET])).toBe(`${SUMMARY}: ${'y'.repeat(300)}…`);
  });

  it('withholds the whole message when it echoes a secret in any form', () => {
    const withheld = `${SUMMARY} (the provider's message was withheld: it echoed request data)`;
    expect(withProviderMessage(SUMMARY, `password ${SECRET} is too weak`, [SECRET])).toBe(withheld);
    expect(
      withProviderMessage(SUMMARY, `body: ${Buffer.from(`{"pw":"${SECRET}"}`).toString('base64')}`, [SECRET]),
    ).toBe(withheld);
  });
});

describe('codeForHttpStatus', () => {
  const cases: Array<[number, ErrorCode]> = [
    [401, 'PROVIDER_AUTH_FAILED'],
    [403, 'PROVIDER_AUTH_FAILED'],
    [404, 'CLUSTER_NOT_FOUND'],
    [409, 'CLUSTER_STATE_CONFLICT'],
    [429, 'PROVIDER_THROTTLED'],
    [500, 'PROVIDER_UNAVAILABLE'],
    [502, 'PROVIDER_UNAVAILABLE'],
    [503, 'PROVIDER_UNAVAILABLE'],
    [504, 'PROVIDER_UNAVAILABLE'],
    [599, 'PROVIDER_UNAVAILABLE'],
    [400, 'PROVIDER_REJECTED'],
    [402, 'PROVIDER_REJECTED'],
    [405, 'PROVIDER_REJECTED'],
    [412, 'PROVIDER_REJECTED'],
    [422, 'PROVIDER_REJECTED'],
    [499, 'PROVIDER_REJECTED'],
    // Callers settle 2xx themselves (a 2xx may be applied, so never a refusal); fetch returns no 1xx
    // and follows no 3xx. Should one get here it falls through to the last rule, pinned here.
    [100, 'PROVIDER_REJECTED'],
    [200, 'PROVIDER_REJECTED'],
    [202, 'PROVIDER_REJECTED'],
    [302, 'PROVIDER_REJECTED'],
  ];

  it.each(cases)('maps HTTP %i to %s', (status, code) => {
    expect(codeForHttpStatus(status)).toBe(code);
  });
});

describe('providerErrorDetails', () => {
  it('holds the status alone when there is no code and no Retry-After', () => {
    expect(providerErrorDetails(providerResponse(500, 'oops'), undefined)).toStrictEqual({
      providerStatus: 500,
    });
  });

  it("holds the provider's code and the Retry-After seconds when there are", () => {
    const response = providerResponse(429, { code: 'APIGW.0308' }, { 'Retry-After': '30' });
    expect(providerErrorDetails(response, 'APIGW.0308')).toStrictEqual({
      providerStatus: 429,
      providerCode: 'APIGW.0308',
      retryAfterSeconds: 30,
    });
  });

  it('keeps a Retry-After without a code, and a code without a Retry-After', () => {
    expect(providerErrorDetails(providerResponse(503, '', { 'Retry-After': '0' }), undefined)).toStrictEqual({
      providerStatus: 503,
      retryAfterSeconds: 0,
    });
    expect(providerErrorDetails(providerResponse(400, {}), 'E400')).toStrictEqual({
      providerStatus: 400,
      providerCode: 'E400',
    });
  });

  it('leaves out a Retry-After that is an HTTP-date', () => {
    const response = providerResponse(503, '', { 'Retry-After': 'Wed, 21 Oct 2026 07:28:00 GMT' });
    expect(providerErrorDetails(response, undefined)).toStrictEqual({ providerStatus: 503 });
  });
});
