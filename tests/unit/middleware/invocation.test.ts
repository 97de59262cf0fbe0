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
