'use strict';

// A local Serverless plugin for `npm start`: before serverless-offline starts the API, start the
// sandbox in this same process (so one signal stops both), seed the demo account and cluster,
// and point the handlers at it through the SDK's AWS_ENDPOINT_URL_* and our endpoint variables.

class SandboxOfflinePlugin {
  constructor(serverless, _options, utils) {
    this.serverless = serverless;
    this.log = utils?.log ?? console.log;
    this.hooks = {
      'before:offline:start:init': () => this.start(),
      'offline:start:end': () => this.stop(),
    };
  }

  async start() {
    const { startSandbox } = await import('./server.ts');
    const { seedDemo, demoInstructions } = await import('./demo.ts');
    const { readConfig } = await import('../lib/config.ts');
    const port = (name, fallback) => Number(process.env[name] ?? fallback);
    this.sandbox = await startSandbox({
      awsPort: port('SANDBOX_AWS_PORT', 4566),
      ncloudPort: port('SANDBOX_NCLOUD_PORT', 4510),
      otcPort: port('SANDBOX_OTC_PORT', 4511),
      huaweicloudPort: port('SANDBOX_HUAWEICLOUD_PORT', 4512),
      dynamoPort: port('SANDBOX_DYNAMODB_PORT', 4567),
      lockTable: this.serverless.service.provider.environment.LOCK_TABLE,
      historyTable: this.serverless.service.provider.environment.HISTORY_TABLE,
    });
    seedDemo(this.sandbox);
    await this.routeEvents();
    const rotationFunctionArns = await this.registerRotationFunctions();
    const environment = this.serverless.service.provider.environment;
    for (const [name, value] of Object.entries(this.sandbox.env)) {
      // serverless-offline copies AWS_* from this process; the rest goes in the functions' environment.
      if (name.startsWith('AWS_')) process.env[name] = value;
      else environment[name] = value;
    }
    environment.STATE_POLL_INTERVAL_MS = '200';
    // The simulated account keeps Naver's retired reset API only when the stack is configured for it.
    this.sandbox.ncloud.retiredResetAvailable = environment.NCLOUD_CDSS_RESET_API === 'resetCMAKPassword';
    const stage = this.serverless.service.provider.stage;
    const httpPort = this.serverless.service.custom?.['serverless-offline']?.httpPort ?? 3000;
    this.log.notice(
      demoInstructions({
        apiUrl: `http://127.0.0.1:${httpPort}/${stage}`,
        sandbox: this.sandbox,
        secretPrefix: readConfig(environment).secretPrefix,
        otcFunctionArn: rotationFunctionArns.otcCssResetAdminPassword,
      }),
    );
  }

  // Deliver events put on the sandbox bus to every function whose eventBridge rule matches, as
  // EventBridge and Lambda's asynchronous invocation do: retries and the onFailure destination as
  // configured per function, with local delays (SANDBOX_ASYNC_RETRY_DELAY_MS). PutEvents answers
  // without waiting for any of it. An entry that names a bus (EventBusName, a name or an ARN)
  // reaches only the rules on that bus; one that names none reaches every rule its pattern matches.
  async routeEvents() {
    const { matchesPattern } = await import('./event-pattern.ts');
    const { offlineLambdaInvoke } = await import('./lambda-invoke.ts');
    const { asyncInvoker } = await import('./async-invocation.ts');
    const { service } = this.serverless;
    const lambdaPort = service.custom?.['serverless-offline']?.lambdaPort ?? 3002;
    const retryDelayMs = Number(process.env.SANDBOX_ASYNC_RETRY_DELAY_MS ?? 200);
    const deadLetters = this.sandbox.aws.deadLetters;
    const rules = [];
    for (const [name, fn] of Object.entries(service.functions ?? {})) {
      for (const event of fn.events ?? []) {
        if (!event.eventBridge?.pattern) continue;
        const functionName = `${service.service}-${service.provider.stage}-${name}`;
        rules.push({
          bus: this.busNameOf(event.eventBridge.eventBus),
          pattern: event.eventBridge.pattern,
          deliver: asyncInvoker({
            functionName,
            // RequestResponse: a function error comes back as an answer, where an Event invoke's
            // rejection would go uncaught in serverless-offline.
            invoke: offlineLambdaInvoke(`http://127.0.0.1:${lambdaPort}`, functionName),
            // The sandbox has one queue, standing in for whichever onFailure destination is configured.
            onFailure: fn.destinations?.onFailure ? (record) => deadLetters.push(record) : undefined,
            maximumRetryAttempts: fn.maximumRetryAttempts,
            maximumEventAgeSeconds: fn.maximumEventAge,
            retryDelayMs,
            log: (line) => this.log.warning(line),
          }),
        });
      }
    }
    // The stack's own rules that send to the dead-letter queue (deploy/unrouted-requests.cjs): the
    // message their input transformer makes goes to the sandbox's one queue.
    const { transformInput } = await import('./input-transformer.ts');
    for (const resource of Object.values(this.resources())) {
      const { EventPattern, EventBusName, Name, Targets } = resource?.Properties ?? {};
      if (resource?.Type !== 'AWS::Events::Rule' || !EventPattern) continue;
      for (const target of Targets ?? []) {
        if (target?.Arn?.['Fn::GetAtt']?.[0] !== 'FailedRequestsQueue' || !target.InputTransformer) continue;
        rules.push({
          bus: this.busNameOf(EventBusName),
          pattern: EventPattern,
          deliver: async (event) => {
            const message = JSON.parse(transformInput(target.InputTransformer, event, { name: Name }));
            deadLetters.push(message);
            this.log.warning(`request ${event.id} taken by no handler (${Name}): in the dead-letter queue`);
          },
        });
      }
    }
    this.sandbox.aws.eventListeners.push((event, entry) => {
      const bus = entry?.EventBusName ? busName(entry.EventBusName) : undefined;
      for (const rule of rules) {
        if (bus !== undefined && rule.bus !== undefined && bus !== rule.bus) continue;
        if (matchesPattern(rule.pattern, event)) void rule.deliver(event);
      }
    });
  }

  // The name of the bus a rule listens on: serverless.yml's `eventBus` is a name (`default` when
  // absent), an ARN, or one of the stack's buses as `Fn::GetAtt: [Id, Name]` or `Ref: Id`.
  // Undefined when it cannot be told, and then the rule hears every bus.
  busNameOf(eventBus) {
    if (eventBus === undefined) return 'default';
    if (typeof eventBus === 'string') return busName(eventBus);
    const id = eventBus?.['Fn::GetAtt']?.[1] === 'Name' ? eventBus['Fn::GetAtt'][0] : eventBus?.Ref;
    const resources = this.resources();
    const name = resources[id]?.Type === 'AWS::Events::EventBus' ? resources[id].Properties?.Name : undefined;
    return typeof name === 'string' ? name : undefined;
  }

  /** The stack's resources (serverless.yml `resources`, its parts merged). */
  resources() {
    return Object.assign(
      {},
      ...[this.serverless.service.resources ?? []].flat().map((part) => part?.Resources ?? {}),
    );
  }

  // Let the sandbox's Secrets Manager invoke every function of the service as a secret's rotation
  // function (RotateSecret), synchronously through serverless-offline's Lambda API. Answers the
  // ARNs by the functions' names in serverless.yml.
  async registerRotationFunctions() {
    const { offlineLambdaInvoke } = await import('./lambda-invoke.ts');
    const { lambdaFunctionArn } = await import('./aws.ts');
    const { service } = this.serverless;
    const lambdaPort = service.custom?.['serverless-offline']?.lambdaPort ?? 3002;
    const arns = {};
    for (const name of Object.keys(service.functions ?? {})) {
      const functionName = `${service.service}-${service.provider.stage}-${name}`;
      arns[name] = lambdaFunctionArn(functionName);
      this.sandbox.aws.rotationFunctions.set(
        arns[name],
        offlineLambdaInvoke(`http://127.0.0.1:${lambdaPort}`, functionName),
      );
    }
    return arns;
  }

  async stop() {
    await this.sandbox?.close();
  }
}

/** A bus's name, from its name or its ARN (`arn:aws:events:region:account:event-bus/name`). */
const busName = (nameOrArn) => String(nameOrArn).replace(/^arn:[^:]+:events:[^:]*:[^:]*:event-bus\//, '');

module.exports = SandboxOfflinePlugin;
