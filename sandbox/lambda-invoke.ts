// Stand-ins for how AWS hands an invocation's outcome to its caller, so that local runs see what
// they would see deployed.

export type Invoke = (payload: unknown) => Promise<unknown>;

/**
 * A Task handler for aws-local-stepfunctions that behaves like the `arn:aws:states:::lambda:invoke`
 * integration: the function's result comes back as `Payload`; a function error becomes a States
 * error whose name is the function's errorType and whose Cause is the Lambda error JSON.
 */
export const lambdaInvokeTask =
  (invoke: Invoke) =>
  async (input: unknown): Promise<{ StatusCode: number; Payload: unknown }> => {
    const payload = (input as { Payload?: unknown } | null)?.Payload;
    try {
      return { StatusCode: 200, Payload: await invoke(payload) };
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      const cause = JSON.stringify({ errorType: failure.name, errorMessage: failure.message, trace: [] });
      throw Object.assign(new Error(cause), { name: failure.name });
    }
  };

/**
 * Invokes a function through serverless-offline's Lambda API (what `aws lambda invoke` talks to);
 * a function error is rethrown with the function's errorType as its name.
 */
export const offlineLambdaInvoke =
  (
    lambdaEndpoint: string,
    functionName: string,
    invocationType: 'RequestResponse' | 'Event' = 'RequestResponse',
  ): Invoke =>
  async (payload) => {
    const response = await fetch(`${lambdaEndpoint}/2015-03-31/functions/${functionName}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-amz-invocation-type': invocationType },
      body: JSON.stringify(payload),
    });
    const text = await response.text();
    if (invocationType === 'Event') return undefined;
    const body = text === '' ? undefined : JSON.parse(text);
    if (response.headers.get('x-amz-function-error')) {
      // serverless-offline reports every errorType as "Error"; the handlers' first trace line is
      // "<ErrorName>: <message>", which names the error as Lambda itself would.
      const fromTrace = /^([A-Za-z]+): /.exec(String(body?.trace?.[0] ?? ''))?.[1];
      const name =
        body?.errorType && body.errorType !== 'Error' ? String(body.errorType) : (fromTrace ?? 'Error');
      throw Object.assign(new Error(String(body?.errorMessage ?? 'function error')), { name });
    }
    return body;
  };
