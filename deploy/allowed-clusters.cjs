'use strict';

// ALLOWED_CLUSTERS from the stage's `allowedClusters`: the clusters this stage may rotate, as
// `provider/region/clusterId` patterns (`*` for any run of characters), a YAML list or, with
// --param, a JSON list. Checked here, at package time, with the handlers' own reader
// (lib/config.ts), and each pattern's provider against the registry; empty: no restriction.

const { listParam } = require('./params.cjs');

module.exports = async ({ resolveVariable }) => {
  const patterns = listParam('allowedClusters', await resolveVariable('param:allowedClusters'), {
    what: 'a list of provider/region/clusterId patterns',
    example: '["otc-css/eu-de/*"]',
  });
  if (patterns.length === 0) return '';
  const [{ PROVIDERS }, { clusterPatterns }] = await Promise.all([
    import('../lib/providers/registry.ts'),
    import('../lib/config.ts'),
  ]);
  const value = JSON.stringify(patterns);
  clusterPatterns(value);
  const known = new Set(PROVIDERS.map((provider) => provider.id));
  const unknown = patterns.filter(
    (pattern) => !pattern.includes('*') && !known.has(String(pattern).split('/')[0]),
  );
  if (unknown.length > 0) {
    throw new Error(
      `allowedClusters names no known provider in ${unknown.join(', ')} (known: ${[...known].join(', ')})`,
    );
  }
  return value;
};
