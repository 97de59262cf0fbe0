import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import middy from '@middy/core';
import { describe, expect, it } from 'vitest';
import { errorCodesByStatus, failureResultSchema, successResultSchema } from '../../lib/api/result-schema.ts';
import { readConfig } from '../../lib/config.ts';
import { ERROR_CODES, errorReport, ResetError, validationFailed } from '../../lib/errors.ts';
import { resetMiddleware, resetOperation } from '../../lib/handler.ts';
import { BODY_FIELDS } from '../../lib/middleware/normalize-event.ts';
import { otcCss } from '../../lib/providers/css/otc.ts';
import { PROVIDERS } from '../../lib/providers/registry.ts';
import type { FailureResult, SuccessResult } from '../../lib/result.ts';
import {
  OPENAPI_FILE,
  openApiDocument,
  providerRoutes,
  readOpenApiInputs,
  renderOpenApi,
} from '../../scripts/openapi.ts';
import { lambdaContext, restApiEvent } from '../support/events.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const inputs = readOpenApiInputs();
const generated = openApiDocument(inputs) as Record<string, any>;

const ROUTES: Record<string, string> = {
  'ncloud-cdss': '/ncloud/cdss/{region}/clusters/{clusterId}/cmak-password',
  'otc-css': '/otc/css/{region}/clusters/{clusterId}/admin-password',
  'huaweicloud-css': '/huaweicloud/css/{region}/clusters/{clusterId}/admin-password',
};

const operationOf = (providerId: string) => generated.paths[ROUTES[providerId] as string].post;
const bodyOf = (providerId: string) =>
  operationOf(providerId).requestBody.content['application/json'].schema as {
    properties: Record<string, unknown>;
    additionalProperties: unknown;
  };

describe('openapi.json', () => {
  it('is what `npm run openapi` generates from the code', () => {
    const committed = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8'));
    // Compared as content, not layout (Biome formats the file).
    expect(
      renderOpenApi(committed),
      'openapi.json is out of date: run `npm run openapi` and commit openapi.json',
    ).toBe(renderOpenApi(generated));
  });

  it('is OpenAPI 3.1 with one POST route per provider, each signed with SigV4', () => {
    expect(generated.openapi).toBe('3.1.0');
    expect(Object.keys(generated.paths).sort()).toEqual(Object.values(ROUTES).sort());
    expect(PROVIDERS.map((provider) => provider.id).sort()).toEqual(Object.keys(ROUTES).sort());
    for (const path of Object.values(ROUTES)) expect(Object.keys(generated.paths[path])).toEqual(['post']);
    expect(generated.security).toEqual([{ sigv4: [] }]);
    expect(generated.components.securitySchemes.sigv4).toMatchObject({
      type: 'apiKey',
      in: 'header',
      name: 'Authorization',
      'x-amazon-apigateway-authtype': 'awsSigv4',
    });
  });

  it.each(PROVIDERS.map((provider) => [provider.id, provider] as const))(
    '%s: path parameters, Idempotency-Key header and a strict body of the envelope body fields',
    (providerId, provider) => {
      const operation = operationOf(providerId);
      const parameters = Object.fromEntries(
        operation.parameters.map((p: { name: string; in: string }) => [`${p.in}:${p.name}`, p]),
      );
      expect(Object.keys(parameters).sort()).toEqual([
        'header:Idempotency-Key',
        'path:clusterId',
        'path:region',
      ]);
      expect(parameters['path:region'].schema.enum).toEqual([...provider.regions(readConfig({}))]);
      expect(parameters['path:clusterId'].schema.pattern).toEqual(expect.any(String));
      expect(parameters['header:Idempotency-Key'].schema.pattern).toEqual(expect.any(String));

      const body = bodyOf(providerId);
      expect(body.additionalProperties).toBe(false);
      const expected = [...BODY_FIELDS].filter((field) => field !== 'projectId' || provider.projectId);
      expect(Object.keys(body.properties).sort()).toEqual(expected.sort());
    },
  );

  it('answers each error status with its codes from lib/errors.ts, and the success result', () => {
    const statuses = [...new Set(Object.values(ERROR_CODES).map((spec) => spec.httpStatus))].sort();
    expect(statuses.map(String)).toEqual(['400', '404', '409', '412', '422', '429', '500', '502', '503']);
    for (const path of Object.values(ROUTES)) {
      const { responses } = generated.paths[path].post;
      expect(Object.keys(responses).sort()).toEqual(['200', '403', ...statuses.map(String)].sort());
      expect(responses['200'].content['application/json'].schema).toEqual({
        $ref: '#/components/schemas/SuccessResult',
      });
    }
    for (const [status, codes] of errorCodesByStatus()) {
      const schema = generated.components.schemas[`FailureResult${status}`];
      expect(schema.properties.error.properties.code.enum).toEqual(
        Object.entries(ERROR_CODES)
          .filter(([, spec]) => spec.httpStatus === status)
          .map(([code]) => code),
      );
      expect(codes).toEqual(schema.properties.error.properties.code.enum);
    }
  });

  it("describes each provider's route as the stack deploys it", async () => {
    const { functions } = createRequire(import.meta.url)('../../deploy/provider-stack.cjs') as {
      functions: (options: { resolveVariable: (name: string) => Promise<unknown> }) => Promise<object>;
    };
    const deployed = await functions({
      resolveVariable: async (name: string) => (name === 'self:custom.asyncInvocation' ? {} : '10'),
    });
    const httpPaths = Object.values(deployed).map((fn: any) => `/${fn.events[0].http.path}`);
    expect(providerRoutes().map(({ provider, route }) => [provider.id, `/${route.path}`])).toEqual(
      Object.entries(ROUTES),
    );
    expect(Object.keys(generated.paths)).toEqual(httpPaths);
  });
});

describe('the result schemas', () => {
  const base = {
    provider: 'otc-css',
    operation: 'reset-admin-password',
    region: 'eu-de',
    clusterId: '4f3deec3-efa8-4598-bf91-560aad1377a3',
    dryRun: false,
    requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
    completedAt: '2026-11-23T10:00:00.000Z',
  };

  it('accept the results the handlers build', () => {
    const success: SuccessResult = {
      ok: true,
      ...base,
      password: { source: 'generated', stored: true, secretArn: 'arn:aws:secretsmanager:…', versionId: 'v1' },
      clusterState: 'ready',
    };
    const failure: FailureResult = {
      ok: false,
      ...base,
      error: errorReport(validationFailed([{ field: 'dryRun', rule: 'must be true or false' }])),
    };
    expect(successResultSchema.parse(success)).toEqual(success);
    expect(failureResultSchema().parse(failure)).toEqual(failure);
    expect(successResultSchema.safeParse(failure).success).toBe(false);
    expect(failureResultSchema().safeParse(success).success).toBe(false);
    const throttled: FailureResult = {
      ok: false,
      ...base,
      error: errorReport(new ResetError('PROVIDER_THROTTLED', 'slow down', { providerStatus: 429 })),
    };
    expect(failureResultSchema(['PROVIDER_THROTTLED']).parse(throttled)).toEqual(throttled);
    expect(failureResultSchema(['PROVIDER_UNAVAILABLE']).safeParse(throttled).success).toBe(false);
  });

  it("match a real HTTP answer: the status and body of a refused request are the document's", async () => {
    const config = readConfig({ STAGE: 'test' });
    const handler = middy().use(resetMiddleware(otcCss, config)).handler(resetOperation(otcCss, config));
    const response = (await handler(
      restApiEvent({
        resource: ROUTES['otc-css'] as string,
        path: '/otc/css/eu-de/clusters/4f3deec3-efa8-4598-bf91-560aad1377a3/admin-password',
        pathParameters: { region: 'eu-de', clusterId: '4f3deec3-efa8-4598-bf91-560aad1377a3' },
        body: { dryRun: 'yes', clusterId: 'elsewhere' },
      }),
      lambdaContext(),
    )) as { statusCode: number; body: string };
    const documented = operationOf('otc-css').responses[String(response.statusCode)];
    expect(documented.content['application/json'].schema.$ref).toBe('#/components/schemas/FailureResult400');
    const codes = errorCodesByStatus().get(response.statusCode);
    expect(codes).toBeDefined();
    const parsed = failureResultSchema(codes).parse(JSON.parse(response.body));
    expect(parsed.error.code).toBe('VALIDATION_FAILED');
  });
});

// The runtime bundles must not carry the OpenAPI code: no handler reaches lib/api/ or scripts/.
describe('the handlers', () => {
  const importsOf = (file: string): string[] =>
    [...readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((match) =>
      resolve(dirname(file), match[1] as string),
    );

  it('do not import the result schemas or the generator', () => {
    const seen = new Set<string>();
    const queue = readdirSync(join(ROOT, 'functions'))
      .filter((name) => name.endsWith('.ts'))
      .map((name) => join(ROOT, 'functions', name));
    expect(queue.length).toBe(PROVIDERS.length);
    while (queue.length > 0) {
      const file = queue.pop() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      queue.push(...importsOf(file));
    }
    const reached = [...seen].map((file) => relative(ROOT, file));
    expect(reached).toContain('lib/errors.ts');
    expect(reached.filter((file) => file.startsWith('lib/api/') || file.startsWith('scripts/'))).toEqual([]);
  });
});
