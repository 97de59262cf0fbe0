'use strict';

// The CloudFormation logical ids of each provider's handler (serverless.yml `functions`), shared by
// the generators of deploy/. `permission` is the handler's AWS::Lambda::Permission for Secrets
// Manager (serverless.yml `resources`), which a rotation schedule must wait for.

const FUNCTIONS_BY_PROVIDER = Object.freeze({
  'ncloud-cdss': Object.freeze({
    function: 'NcloudCdssResetCmakPasswordLambdaFunction',
    permission: 'NcloudCdssResetCmakPasswordSecretsManagerPermission',
  }),
  'otc-css': Object.freeze({
    function: 'OtcCssResetAdminPasswordLambdaFunction',
    permission: 'OtcCssResetAdminPasswordSecretsManagerPermission',
  }),
  'huaweicloud-css': Object.freeze({
    function: 'HuaweicloudCssResetAdminPasswordLambdaFunction',
    permission: 'HuaweicloudCssResetAdminPasswordSecretsManagerPermission',
  }),
});

/** The provider's entry, or undefined for an unknown (or inherited, e.g. `toString`) name. */
const functionsOf = (provider) =>
  typeof provider === 'string' && Object.hasOwn(FUNCTIONS_BY_PROVIDER, provider)
    ? FUNCTIONS_BY_PROVIDER[provider]
    : undefined;

const PROVIDERS = Object.freeze(Object.keys(FUNCTIONS_BY_PROVIDER));

module.exports = { FUNCTIONS_BY_PROVIDER, PROVIDERS, functionsOf };
