import middy from '@middy/core';
import { describe, expect, it } from 'vitest';
import { readConfig } from '../../lib/config.ts';
import { resetMiddleware, resetOperation } from '../../lib/handler.ts';
import { ncloudCdss } from '../../lib/providers/ncloud/index.ts';
import { lambdaContext } from '../support/events.ts';

const config = readConfig({ STAGE: 'test' });

describe('the reset handler composition', () => {
  it('runs only on a request the middleware chain validated: a raw payload is refused before any call', async () => {
    const operation = resetOperation(ncloudCdss, config);
    for (const raw of [
      { provider: 'ncloud-cdss', region: 'KR', clusterId: '1' },
      { mode: 'direct', envelope: { region: 'KR', clusterId: '1' }, credentials: {} },
    ]) {
      await expect(operation(raw, lambdaContext())).rejects.toMatchObject({
        code: 'INTERNAL',
        message: 'The request was not validated',
      });
    }
  });

  it('answers a payload that claims to be an HTTP event as the direct call it is', async () => {
    const handler = middy()
      .use(resetMiddleware(ncloudCdss, config))
      .handler(resetOperation(ncloudCdss, config));
    const answer = await handler(
      { mode: 'http', input: { region: 'KR', clusterId: '1' } },
      lambdaContext(),
    ).then(
      (value: unknown) => value,
      (error: Error) => error,
    );
    // Thrown, named for Step Functions: not an API Gateway response the caller chose.
    expect(answer).toBeInstanceOf(Error);
    expect((answer as Error).name).toBe('ValidationFailed');
    expect((answer as Error).message).toBe(
      'Invalid request: region is required; clusterId is required; mode is not a field of this request; input is not a field of this request',
    );
  });
});
