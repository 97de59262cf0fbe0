'use strict';

// PASSWORD_EXCLUDE_CHARACTERS from the stage's `excludeCharacters` (serverless.yml params): the
// characters generated passwords leave out. Checked here, at package time, against every
// provider's password rule (lib/providers/registry.ts): a setting that leaves some provider's rule
// impossible (e.g. every special character Naver allows) is refused before anything is deployed;
// each handler checks its own provider again at start (lib/handler.ts).

module.exports = async ({ resolveVariable }) => {
  const value = (await resolveVariable('param:excludeCharacters')) ?? '';
  if (typeof value !== 'string') {
    throw new Error(
      `excludeCharacters must be a string of characters, e.g. "/@\\"'\\\\" (got ${JSON.stringify(value)})`,
    );
  }
  const [{ PROVIDERS }, { exclusionProblem }] = await Promise.all([
    import('../lib/providers/registry.ts'),
    import('../lib/password/policy.ts'),
  ]);
  const problems = PROVIDERS.map((provider) => [
    provider.id,
    exclusionProblem(provider.passwordPolicy, value),
  ]).filter(([, problem]) => problem !== undefined);
  if (problems.length > 0) {
    throw new Error(
      `excludeCharacters ${JSON.stringify(value)} leaves a provider's password rule impossible: ${problems
        .map(([id, problem]) => `${id}: ${problem}`)
        .join('; ')}`,
    );
  }
  return value;
};
