import { lambdaFunctionArn } from './aws.ts';
import type { Sandbox } from './server.ts';

// What `npm start` seeds: one account and one healthy cluster per provider, so that the README's
// commands work as printed. The keys are sandbox-only values, not real credentials.
export const DEMO = {
  credentialsPrefix: '/cluster-password-reset/local/credentials',
  ncloud: {
    accessKey: 'SANDBOXNCPACCESSKEY1',
    secretKey: 'sandbox-ncp-secret-key-not-real',
    region: 'KR',
    clusterId: '1009123',
    initialPassword: 'Initial-pass1!',
  },
  otc: {
    accessKey: 'SANDBOXOTCACCESSKEY1',
    secretKey: 'sandbox-otc-secret-key-not-real',
    region: 'eu-de',
    projectId: '6204a5bd270343b5885144cf9c8c158d',
    clusterId: '4f3deec3-efa8-4598-bf91-560aad1377a3',
    initialPassword: 'Initial-Pass1!',
  },
  huaweicloud: {
    accessKey: 'SANDBOXHWCACCESSKEY1',
    secretKey: 'sandbox-huaweicloud-secret-key-not-real',
    region: 'ap-southeast-1',
    projectId: '0e5fa4c2a1b34d6f8c9e7d2b1a0f3c48',
    clusterId: '9b1c2d3e-4f50-4a6b-8c7d-0e1f2a3b4c5d',
    initialPassword: 'Initial-Huawei1!',
  },
} as const;

export const seedDemo = (sandbox: Sandbox): void => {
  const { ncloud, otc, huaweicloud } = DEMO;
  sandbox.ncloud.addKey(ncloud.accessKey, ncloud.secretKey);
  sandbox.aws.putParameter({
    Name: `${DEMO.credentialsPrefix}/ncloud/default`,
    Type: 'SecureString',
    Value: JSON.stringify({ accessKey: ncloud.accessKey, secretKey: ncloud.secretKey }),
    Overwrite: true,
  });
  sandbox.ncloud.addCluster({
    region: ncloud.region,
    serviceGroupInstanceNo: ncloud.clusterId,
    password: ncloud.initialPassword,
  });
  // Both CSS clouds take the same seeding: keys, credentials with a project per region, a cluster.
  for (const [folder, simulator, demo] of [
    ['otc', sandbox.otc, otc],
    ['huaweicloud', sandbox.huaweicloud, huaweicloud],
  ] as const) {
    simulator.addKey(demo.accessKey, demo.secretKey);
    sandbox.aws.putParameter({
      Name: `${DEMO.credentialsPrefix}/${folder}/default`,
      Type: 'SecureString',
      Value: JSON.stringify({
        accessKey: demo.accessKey,
        secretKey: demo.secretKey,
        projectIds: { [demo.region]: demo.projectId },
      }),
      Overwrite: true,
    });
    simulator.addCluster({
      region: demo.region,
      projectId: demo.projectId,
      clusterId: demo.clusterId,
      password: demo.initialPassword,
    });
  }
};

/**
 * The commands `npm start` prints; the README shows the same ones. The secret names use the
 * stage's SECRET_PREFIX as the handlers see it (`cluster-password-reset/local` by default).
 */
export const demoInstructions = ({
  apiUrl,
  sandbox,
  secretPrefix,
  otcFunctionArn = lambdaFunctionArn('cluster-password-reset-local-otcCssResetAdminPassword'),
  lambdaPort = process.env.OFFLINE_LAMBDA_PORT ?? '3002',
}: {
  apiUrl: string;
  sandbox: Sandbox;
  secretPrefix: string;
  /** The OTC function's ARN, as the sandbox's Secrets Manager knows it (the local stage's by default). */
  otcFunctionArn?: string;
  /** serverless-offline's Lambda port, which `npm run fleet` must be told when it is not 3002. */
  lambdaPort?: string | number;
}): string => {
  const { ncloud, otc, huaweicloud } = DEMO;
  const post = (path: string) =>
    `  curl -s -X POST ${apiUrl}${path} -H 'content-type: application/json' -H 'Idempotency-Key: demo-1' -d '{}'`;
  const otcSecret = `${secretPrefix}/otc-css/${otc.region}/${otc.clusterId}`;
  const rotateSecret = JSON.stringify({
    SecretId: otcSecret,
    RotationLambdaARN: otcFunctionArn,
    RotationRules: { ScheduleExpression: 'rate(30 days)' },
  });
  return [
    'Sandbox ready: Naver Cloud CDSS, OTC CSS and Huawei Cloud CSS simulators, SSM / Secrets Manager / EventBridge subset, DynamoDB (dynalite).',
    "Reset the demo clusters' passwords:",
    post(`/ncloud/cdss/${ncloud.region}/clusters/${ncloud.clusterId}/cmak-password`),
    post(`/otc/css/${otc.region}/clusters/${otc.clusterId}/admin-password`),
    post(`/huaweicloud/css/${huaweicloud.region}/clusters/${huaweicloud.clusterId}/admin-password`),
    "Then compare each cluster's password with the stored AWSCURRENT value:",
    `  curl -s ${sandbox.urls.aws}/_sandbox/ncloud/clusters/${ncloud.region}/${ncloud.clusterId}`,
    `  curl -s '${sandbox.urls.aws}/_sandbox/secrets?name=${secretPrefix}/ncloud-cdss/${ncloud.region}/${ncloud.clusterId}'`,
    `  curl -s ${sandbox.urls.aws}/_sandbox/otc/clusters/${otc.region}/${otc.clusterId}`,
    `  curl -s '${sandbox.urls.aws}/_sandbox/secrets?name=${secretPrefix}/otc-css/${otc.region}/${otc.clusterId}'`,
    `  curl -s ${sandbox.urls.aws}/_sandbox/huaweicloud/clusters/${huaweicloud.region}/${huaweicloud.clusterId}`,
    `  curl -s '${sandbox.urls.aws}/_sandbox/secrets?name=${secretPrefix}/huaweicloud-css/${huaweicloud.region}/${huaweicloud.clusterId}'`,
    'Native rotation: once the reset above has created the OTC secret, let Secrets Manager rotate it (the sandbox does not check signatures):',
    `  curl -s ${sandbox.urls.aws}/ -H 'X-Amz-Target: secretsmanager.RotateSecret' -H 'Content-Type: application/x-amz-json-1.1' -d '${rotateSecret}'`,
    'Then see the steps it ran, and compare the password again:',
    `  curl -s ${sandbox.urls.aws}/_sandbox/rotations`,
    `  curl -s ${sandbox.urls.aws}/_sandbox/otc/clusters/${otc.region}/${otc.clusterId}`,
    `  curl -s '${sandbox.urls.aws}/_sandbox/secrets?name=${otcSecret}'`,
    `  curl -s '${sandbox.urls.aws}/_sandbox/secrets?name=${otcSecret}&stage=AWSPENDING'`,
    "EventBridge and Step Functions (from this folder): put the example request event on the local stage's request bus, whose rule delivers it to the OTC handler; list the events put; run the fleet state machine:",
    `  sed 's/-prod-requests/-local-requests/' examples/request-event.json | curl -s ${sandbox.urls.aws}/ -H 'x-amz-target: AWSEvents.PutEvents' -H 'content-type: application/x-amz-json-1.1' -d @-`,
    `  curl -s ${sandbox.urls.aws}/_sandbox/events`,
    `  ${String(lambdaPort) === '3002' ? '' : `OFFLINE_LAMBDA_PORT=${lambdaPort} `}npm run --silent fleet -- examples/fleet-rotation.json`,
    'Requests that failed their two retries (the dead-letter queue); the sandbox control API is described in sandbox/README.md:',
    `  curl -s ${sandbox.urls.aws}/_sandbox/dead-letters`,
  ].join('\n');
};
