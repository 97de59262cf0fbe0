import { describe, expect, it } from 'vitest';
import { invocationMode } from '../../../lib/middleware/invocation.ts';
import { runChain } from '../../support/chain.ts';
import { eventBridgeEvent, ncloudHttpEvent } from '../../support/events.ts';

const modeFor = async (event: unknown) => (await runChain([invocationMode()], event)).internal.mode;

describe('invocation-mode', () => {
  it('decides the mode from the shapes AWS gives events', async () => {
    expect(await modeFor(ncloudHttpEvent('KR', '1'))).toBe('http');
    expect(await modeFor({ version: '2.0', requestContext: { http: { method: 'POST' } } })).toBe('http');
    expect(await modeFor(eventBridgeEvent({}))).toBe('eventbridge');
    expect(await modeFor({ region: 'KR', clusterId: '1' })).toBe('direct');
  });

  it('recognises a Secrets Manager rotation event by its three keys', async () => {
    const event = {
      Step: 'createSecret',
      SecretId: 'cluster-password-reset/test/ncloud-cdss/KR/1',
      ClientRequestToken: '6f1c2a4e-0b7d-4c1e-9a3f-2d5e8b9c0a11',
    };
    expect(await modeFor(event)).toBe('rotation');
    expect(await modeFor({ ...event, RotationToken: 'rotation-token-1' })).toBe('rotation');
  });

  it.each([
    [
      'an envelope naming a secret',
      {
        region: 'KR',
        clusterId: '1',
        secretId: 'cluster-password-reset/test/ncloud-cdss/KR/1',
        idempotencyKey: '6f1c2a4e-0b7d-4c1e-9a3f-2d5e8b9c0a11',
      },
    ],
    ['a rotation event without its token', { Step: 'createSecret', SecretId: 'x' }],
    ['envelope fields with a step', { Step: 'createSecret', region: 'KR', clusterId: '1' }],
  ])('answers %s as a direct invocation', async (_, event) => {
    expect(await modeFor(event)).toBe('direct');
  });

  it.each([
    ['a claimed mode', { mode: 'http', input: {} }],
    ['a claimed envelope', { mode: 'eventbridge', envelope: {} }],
    ['null', null],
    ['an array', []],
    ['a string', 'http'],
    ['half an API Gateway event', { httpMethod: 'POST' }],
  ])('answers %s as a direct invocation: no field a caller sends chooses the mode', async (_, event) => {
    expect(await modeFor(event)).toBe('direct');
  });
});
