import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readConfig } from '../../../lib/config.ts';
import { PROVIDERS } from '../../../lib/providers/registry.ts';

describe('the provider registry', () => {
  it('lists each provider once, each with its own credentials folder and a handler in functions/', () => {
    const ids = PROVIDERS.map((provider) => provider.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(PROVIDERS.map((provider) => provider.credentialsFolder)).size).toBe(ids.length);
    for (const provider of PROVIDERS) {
      expect(existsSync(`functions/${provider.id}-${provider.operation}.ts`), provider.id).toBe(true);
      expect(provider.regions(readConfig({})).length, provider.id).toBeGreaterThan(0);
    }
  });
});
