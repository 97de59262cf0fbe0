import type { Sandbox } from './server.ts';

// What `npm start` seeds: one Naver Cloud account and one running cluster, so that the README's
// curl works as printed. The keys are sandbox-only values, not real credentials.
export const DEMO = {
  credentialsPrefix: '/cluster-password-reset/local/credentials',
  ncloud: {
    accessKey: 'SANDBOXNCPACCESSKEY1',
    secretKey: 'sandbox-ncp-secret-key-not-real',
    region: 'KR',
    clusterId: '1009123',
    initialPassword: 'Initial-pass1!',
  },
} as const;

export const seedDemo = (sandbox: Sandbox): void => {
  const { ncloud } = DEMO;
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
};

/** The curl commands `npm start` prints; the README shows the same ones. */
export const demoInstructions = ({ apiUrl, sandbox }: { apiUrl: string; sandbox: Sandbox }): string => {
  const { region, clusterId } = DEMO.ncloud;
  return [
    'Sandbox ready: Naver Cloud CDSS simulator, SSM / Secrets Manager / EventBridge subset, DynamoDB (dynalite).',
    "Reset the demo cluster's CMAK password:",
    `  curl -s -X POST ${apiUrl}/ncloud/cdss/${region}/clusters/${clusterId}/cmak-password -H 'content-type: application/json' -H 'Idempotency-Key: demo-1' -d '{}'`,
    "Then compare the cluster's password with the stored AWSCURRENT value:",
    `  curl -s ${sandbox.urls.aws}/_sandbox/ncloud/clusters/${region}/${clusterId}`,
    `  curl -s '${sandbox.urls.aws}/_sandbox/secrets?name=cluster-password-reset/ncloud-cdss/${region}/${clusterId}'`,
  ].join('\n');
};
