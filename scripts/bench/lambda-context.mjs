import { randomUUID } from 'node:crypto';

/** Enough of a Lambda context for Powertools' logger and the handlers' deadline (29 s, as deployed). */
export const lambdaContext = () => {
  const started = Date.now();
  return {
    functionName: 'bench',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-central-1:123456789012:function:bench',
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/bench',
    logStreamName: 'bench',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => 29_000 - (Date.now() - started),
  };
};
