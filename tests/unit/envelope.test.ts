import { describe, expect, it } from 'vitest';
import { readConfig } from '../../lib/config.ts';
import { envelopeSchema, parseEnvelope } from '../../lib/envelope.ts';
import { otcCss } from '../../lib/providers/css/otc.ts';
import { ncloudCdss } from '../../lib/providers/ncloud/index.ts';

const config = readConfig({ STAGE: 'test' });
const ncloud = envelopeSchema(ncloudCdss, config);
const otc = envelopeSchema(otcCss, config);
const PROJECT = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';

const issues = (schema: typeof ncloud, input: unknown) => {
  try {
    parseEnvelope(schema, input);
  } catch (error) {
    return (error as { fields: unknown }).fields;
  }
  throw new Error('expected VALIDATION_FAILED');
};

describe('the request envelope', () => {
  it('parses to the envelope with its defaults', () => {
    expect(parseEnvelope(ncloud, { region: 'KR', clusterId: '1009123' })).toStrictEqual({
      region: 'KR',
      clusterId: '1009123',
      account: 'default',
      storePassword: true,
      dryRun: false,
    });
  });

  it('admits a project scope only for a provider that has one', () => {
    expect(
      parseEnvelope(otc, {
        region: 'eu-de',
        clusterId: '4f3deec3-efa8-4598-bf91-560aad1377a3',
        projectId: PROJECT,
      }).projectId,
    ).toBe(PROJECT);
    expect(issues(ncloud, { region: 'KR', clusterId: '1', projectId: PROJECT })).toEqual([
      { field: 'projectId', rule: 'is not a field of this request' },
    ]);
  });

  it('names each field and rule, never the value, and calls a missing field required', () => {
    expect(issues(ncloud, { region: 'XX', clusterId: '../1', surprise: 'x' })).toEqual([
      { field: 'region', rule: 'must be one of KR, SGN, JPN' },
      { field: 'clusterId', rule: "must be the cluster's serviceGroupInstanceNo (digits only)" },
      { field: 'surprise', rule: 'is not a field of this request' },
    ]);
    expect(issues(ncloud, {})).toEqual([
      { field: 'region', rule: 'is required' },
      { field: 'clusterId', rule: 'is required' },
    ]);
  });
});
