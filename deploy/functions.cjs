'use strict';

// The providers' functions as the stack names them, derived from the one provider list,
// lib/providers/registry.ts: a provider's function is `{id}-{operation}` (functions/ holds its
// handler), its HTTP route `{id with / for -}/{region}/clusters/{clusterId}/{operation less reset-}`.
// Every generator of deploy/ reads the providers from here, never from a list of its own.

// Node 22 strips the registry's types (the npm scripts run on it: scripts/require-node-22.mjs).
const loadRegistry = () => {
  try {
    return require('../lib/providers/registry.ts');
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    throw new Error(
      `deploy/functions.cjs reads lib/providers/registry.ts, which needs Node 22 (this is ${process.version}): run serverless through npm (npm run package, npm run deploy) or npx`,
    );
  }
};
const { PROVIDERS: DEFINITIONS } = loadRegistry();

const pascal = (kebab) =>
  kebab
    .split('-')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');

const describe = ({ id, operation, credentialsFolder, description }) => {
  const name = `${id}-${operation}`;
  const key = pascal(name).charAt(0).toLowerCase() + pascal(name).slice(1);
  return Object.freeze({
    id,
    credentialsFolder,
    description,
    /** The key under serverless.yml `functions`, and the end of the function's name. */
    name: key,
    handler: `functions/${name}.handler`,
    path: `${id.replace('-', '/')}/{region}/clusters/{clusterId}/${operation.replace(/^reset-/, '')}`,
    function: `${pascal(name)}LambdaFunction`,
    /** Its AWS::Lambda::Permission for Secrets Manager, which a rotation schedule must wait for. */
    permission: `${pascal(name)}SecretsManagerPermission`,
    role: `${pascal(id)}ResetRole`,
  });
};

const FUNCTIONS_BY_PROVIDER = Object.freeze(
  Object.fromEntries(DEFINITIONS.map((definition) => [definition.id, describe(definition)])),
);

/** The provider's entry, or undefined for an unknown (or inherited, e.g. `toString`) name. */
const functionsOf = (provider) =>
  typeof provider === 'string' && Object.hasOwn(FUNCTIONS_BY_PROVIDER, provider)
    ? FUNCTIONS_BY_PROVIDER[provider]
    : undefined;

const PROVIDERS = Object.freeze(Object.keys(FUNCTIONS_BY_PROVIDER));

module.exports = { FUNCTIONS_BY_PROVIDER, PROVIDERS, functionsOf };
