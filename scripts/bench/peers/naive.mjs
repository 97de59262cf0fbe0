// Peer "naive": what a team might write instead, for one provider (OTC CSS) and without this
// project: Huawei's SDK core to sign, axios to send, AWS SDK v3 for SSM and Secrets Manager; no
// validation, no lease, no rotation protocol. A yardstick for loading and memory only.
// Event: { region, clusterId, password, secretId }; env: OTC_CSS_ENDPOINT,
// PEER_CREDENTIALS_PARAMETER (an SSM parameter holding { accessKey, secretKey, projectIds }).

import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { BasicCredentials } from '@huaweicloud/huaweicloud-sdk-core';
import { AKSKSigner } from '@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner';
import axios from 'axios';

const ssm = new SSMClient({});
const secretsManager = new SecretsManagerClient({});

export const handler = async ({ region, clusterId, password, secretId }) => {
  const { Parameter } = await ssm.send(
    new GetParameterCommand({ Name: process.env.PEER_CREDENTIALS_PARAMETER, WithDecryption: true }),
  );
  const { accessKey, secretKey, projectIds } = JSON.parse(Parameter.Value);
  const url = `${process.env.OTC_CSS_ENDPOINT}/v1.0/${projectIds[region]}/clusters/${clusterId}/password/reset`;
  const body = { newpassword: password };
  const request = { endpoint: url, method: 'POST', queryParams: {}, data: body };
  request.headers = { 'content-type': 'application/json' };
  const signed = AKSKSigner.sign(request, new BasicCredentials().withAk(accessKey).withSk(secretKey));
  const response = await axios.post(url, body, { headers: signed });
  await secretsManager.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: password }));
  return { statusCode: response.status, body: '{}' };
};
