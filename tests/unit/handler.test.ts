import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import middy from '@middy/core';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
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

describe('the metrics of the composed handler', () => {
  const eventBridge = mockClient(EventBridgeClient);
  const ssm = mockClient(SSMClient);
  afterEach(() => {
    eventBridge.reset();
    ssm.reset();
    vi.restoreAllMocks();
  });

  /** Runs the handler as functions/ composes it; answers what it wrote to stdout and stderr. */
  const invoke = async (event: unknown) => {
    const written: string[] = [];
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, 'write').mockImplementation((chunk: unknown) => {
        written.push(String(chunk));
        return true;
      });
    }
    const handler = middy()
      .use(resetMiddleware(ncloudCdss, config))
      .handler(resetOperation(ncloudCdss, config));
    const error = await handler(event, lambdaContext()).then(
      () => undefined,
      (thrown: Error) => thrown,
    );
    vi.restoreAllMocks();
    const emf = written
      .join('')
      .split('\n')
      .filter((line) => line.startsWith('{"_aws"'))
      .map((line) => JSON.parse(line));
    return { error, emf, written };
  };

  it('counts a failure after validation, thrown or not, with the outcome event', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    ssm
      .on(GetParametersCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const { error, emf } = await invoke({ region: 'KR', clusterId: '1009123' });
    expect(error?.name).toBe('CredentialsUnavailable');
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(1);
    expect(emf).toHaveLength(2);
    expect(emf[0]).toMatchObject({ provider: 'ncloud-cdss', stage: 'test', RotationFailed: 1 });
    expect(emf[0]._aws.CloudWatchMetrics[0].Namespace).toBe('ClusterPasswordReset');
    expect(emf[1]).toMatchObject({
      provider: 'ncloud-cdss',
      errorCode: 'CREDENTIALS_UNAVAILABLE',
      RotationFailed: 1,
    });
  });

  it('counts nothing, and warns of nothing, for a request refused by validation', async () => {
    const { error, written } = await invoke({ region: 'KR' });
    expect(error?.name).toBe('ValidationFailed');
    expect(written.join('')).not.toContain('_aws');
    expect(written.join('')).not.toContain('No application metrics');
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(0);
  });
});
