import { describe, expect, it } from 'vitest';
import { resetPasswordPath } from '../../../../lib/providers/ncloud/endpoints.ts';
import { ncloudAuthHeaders } from '../../../../lib/providers/ncloud/signer.ts';

type SigningInput = Parameters<typeof ncloudAuthHeaders>[0];
const signNcloudV2 = (input: SigningInput) => ncloudAuthHeaders(input)['x-ncp-apigw-signature-v2'];

describe('NCP API Gateway signature v2', () => {
  it('reproduces the published vector (the retired resetCMAKPassword path)', () => {
    expect(
      signNcloudV2({
        method: 'POST',
        requestUri: '/api/v1/cluster/resetCMAKPassword/1234567',
        timestamp: 1_700_000_000_000,
        accessKey: 'AKIDEXAMPLE',
        secretKey: 'SECRETEXAMPLE',
      }),
    ).toBe('YYqrHdivNWQvNfmS1jfegc2KhrK1uB+/1zTN0DMjJU4=');
  });

  it('signs the resetMGMTPassword path (pinned; cross-checked with `openssl dgst -sha256 -hmac`)', () => {
    expect(
      signNcloudV2({
        method: 'POST',
        requestUri: resetPasswordPath('public', 'resetMGMTPassword', 'KR', '1234567'),
        timestamp: 1_700_000_000_000,
        accessKey: 'AKIDEXAMPLE',
        secretKey: 'SECRETEXAMPLE',
      }),
    ).toBe('PY+a/M3QXpTFd7MKgSdSYL8OjQRE4Kb6FGytaR2ctvc=');
  });

  it('signs the query string, the method and the timestamp', () => {
    const base = {
      method: 'POST',
      requestUri: '/api/v1/cluster/resetCMAKPassword/1234567',
      timestamp: 1_700_000_000_000,
      accessKey: 'AKIDEXAMPLE',
      secretKey: 'SECRETEXAMPLE',
    };
    const reference = signNcloudV2(base);
    expect(signNcloudV2({ ...base, requestUri: `${base.requestUri}?a=1` })).not.toBe(reference);
    expect(signNcloudV2({ ...base, method: 'GET' })).not.toBe(reference);
    expect(signNcloudV2({ ...base, timestamp: base.timestamp + 1 })).not.toBe(reference);
  });

  it('sends the timestamp, the access key and the signature, never the secret key', () => {
    const headers = ncloudAuthHeaders({
      method: 'POST',
      requestUri: '/api/v1/cluster/resetCMAKPassword/1234567',
      timestamp: 1_700_000_000_000,
      accessKey: 'AKIDEXAMPLE',
      secretKey: 'SECRETEXAMPLE',
    });
    expect(headers).toEqual({
      'x-ncp-apigw-timestamp': '1700000000000',
      'x-ncp-iam-access-key': 'AKIDEXAMPLE',
      'x-ncp-apigw-signature-v2': 'YYqrHdivNWQvNfmS1jfegc2KhrK1uB+/1zTN0DMjJU4=',
    });
    expect(JSON.stringify(headers)).not.toContain('SECRETEXAMPLE');
  });
});
