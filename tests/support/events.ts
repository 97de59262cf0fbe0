import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

// Real-shaped AWS events, complete enough for Powertools' own schemas.

export interface HttpEventOptions {
  path: string;
  resource: string;
  pathParameters: Record<string, string>;
  body?: unknown;
  headers?: Record<string, string>;
}

export const restApiEvent = (options: HttpEventOptions) => {
  const body =
    options.body === undefined
      ? null
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
  return {
    resource: options.resource,
    path: options.path,
    httpMethod: 'POST',
    headers: { 'Content-Type': 'application/json', ...options.headers },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: options.pathParameters,
    stageVariables: null,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abcdef1234',
      stage: 'dev',
      protocol: 'HTTP/1.1',
      identity: { sourceIp: '127.0.0.1', userArn: 'arn:aws:iam::123456789012:user/operator' },
      requestId: randomUUID(),
      requestTime: '23/Nov/2026:10:00:00 +0000',
      requestTimeEpoch: 1_795_000_000_000,
      resourcePath: options.resource,
      httpMethod: 'POST',
      path: `/dev${options.path}`,
    },
    body,
    isBase64Encoded: false,
  };
};

export const eventBridgeEvent = (detail: unknown, detailType = 'Cluster Password Reset Requested') => ({
  version: '0',
  id: randomUUID(),
  'detail-type': detailType,
  source: 'cluster-password-reset',
  account: '123456789012',
  time: '2026-11-23T10:00:00Z',
  region: 'eu-central-1',
  resources: [],
  detail,
});

export const lambdaContext = (timeoutMs = 29_000): Context => {
  const started = Date.now();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'cluster-password-reset-test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-central-1:123456789012:function:cluster-password-reset-test',
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/test',
    logStreamName: 'test',
    getRemainingTimeInMillis: () => Math.max(0, timeoutMs - (Date.now() - started)),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
};

export const ncloudHttpEvent = (
  region: string,
  clusterId: string,
  body?: unknown,
  headers?: Record<string, string>,
) =>
  restApiEvent({
    resource: '/ncloud/cdss/{region}/clusters/{clusterId}/cmak-password',
    path: `/ncloud/cdss/${region}/clusters/${clusterId}/cmak-password`,
    pathParameters: { region, clusterId },
    body,
    headers: headers ?? {},
  });
