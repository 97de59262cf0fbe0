import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PackagedStage, packageStage } from './package-stage.ts';

// docs/adding-a-provider.md, followed to the letter on a copy of the project: a fourth provider
// (a cloud that serves the CSS API, as Huawei Cloud does) needs its definition, one line in the
// registry and its handler; the package then holds its function, route, request rule, role,
// Secrets Manager permission, fleet permission and alarms, with nothing written for it by hand.

/** Step 1: the definition (here a cloud of the shared CSS API, css/otc.ts's shape). */
const DEFINITION = `import type { CssCloud } from './cloud.ts';
import { createCssProvider } from './provider.ts';

const ACME_CLOUD: CssCloud = {
  id: 'acme-css',
  name: 'Acme Cloud',
  credentialsFolder: 'acme',
  endpointVariable: 'ACME_CSS_ENDPOINT',
  defaultEndpoint: 'https://css.{region}.acme.example',
  regions: ['north-1'],
  overrideOnlyRegions: [],
  reference: 'https://acme.example/css/api-ref/',
};

/** Acme Cloud, Cloud Search Service. */
export const acmeCss = createCssProvider(ACME_CLOUD);
`;

/** Step 3: the handler. */
const HANDLER = `import middy from '@middy/core';
import { resetMiddleware, resetOperation } from '../lib/handler.ts';
import { acmeCss } from '../lib/providers/css/acme.ts';

/** POST /acme/css/{region}/clusters/{clusterId}/admin-password, EventBridge requests, Step Functions tasks. */
export const handler = middy().use(resetMiddleware(acmeCss)).handler(resetOperation(acmeCss));
`;

/** Step 2: the registry lists it. */
const register = (registry: string): string => {
  const listed = registry
    .replace(
      "import { otcCss } from './css/otc.ts';",
      "import { acmeCss } from './css/acme.ts';\nimport { otcCss } from './css/otc.ts';",
    )
    .replace('[ncloudCdss, otcCss, huaweicloudCss]', '[ncloudCdss, otcCss, huaweicloudCss, acmeCss]');
  if (listed === registry || !listed.includes('acmeCss]'))
    throw new Error('the registry changed shape: update docs/adding-a-provider.md');
  return listed;
};

let packaged: PackagedStage;
const resources = () => packaged.template.Resources;

beforeAll(async () => {
  packaged = await packageStage(
    'dev',
    {},
    {
      copies: ['lib', 'functions', 'deploy'],
      change: async (dir) => {
        await writeFile(join(dir, 'lib/providers/css/acme.ts'), DEFINITION);
        const registry = join(dir, 'lib/providers/registry.ts');
        await writeFile(registry, register(await readFile(registry, 'utf8')));
        await writeFile(join(dir, 'functions/acme-css-reset-admin-password.ts'), HANDLER);
      },
    },
  );
}, 180_000);

afterAll(() => packaged?.remove());

describe('a fourth provider added through docs/adding-a-provider.md', () => {
  it('gets its function, with its own role and description', () => {
    const fn = resources().AcmeCssResetAdminPasswordLambdaFunction;
    expect(fn.Type).toBe('AWS::Lambda::Function');
    expect(fn.Properties.Role).toEqual({ 'Fn::GetAtt': ['AcmeCssResetRole', 'Arn'] });
    expect(fn.Properties.Description).toBe(
      'Change the admin password of an Acme Cloud CSS cluster and keep it in Secrets Manager',
    );
    expect(fn.Properties.FunctionName).toBe('cluster-password-reset-dev-acmeCssResetAdminPassword');
  });

  it('gets a role that reaches its own credentials, secrets and records only', () => {
    const role = resources().AcmeCssResetRole;
    const text = JSON.stringify(role.Properties.Policies);
    expect(role.Properties.Policies.map((policy: { PolicyName: string }) => policy.PolicyName)).toEqual([
      'reset-acme-css',
    ]);
    expect(text).toContain('parameter/cluster-password-reset/dev/credentials/acme/*');
    expect(text).toContain('secret:cluster-password-reset/dev/acme-css/*');
    expect(text).toContain('lease#acme-css#*');
    expect(text).toContain('cluster#acme-css#*');
    for (const other of ['otc', 'ncloud', 'huaweicloud']) expect(text).not.toContain(`credentials/${other}/`);
    // The same statements as an existing provider's role, with the provider's names swapped.
    const otc = JSON.stringify(resources().OtcCssResetRole.Properties)
      .replaceAll('otcCssResetAdminPassword', 'acmeCssResetAdminPassword')
      .replaceAll('otc-css', 'acme-css')
      .replaceAll('credentials/otc/', 'credentials/acme/');
    expect(JSON.stringify(role.Properties)).toBe(otc);
  });

  it("is its secrets' rotation function, for its secrets of this account only", () => {
    expect(resources().AcmeCssResetAdminPasswordSecretsManagerPermission.Properties).toEqual({
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': ['AcmeCssResetAdminPasswordLambdaFunction', 'Arn'] },
      Principal: 'secretsmanager.amazonaws.com',
      SourceAccount: { Ref: 'AWS::AccountId' },
      SourceArn: {
        'Fn::Sub':
          'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:cluster-password-reset/dev/acme-css/*',
      },
    });
  });

  it('gets its HTTP route and its request rule on the request bus', () => {
    const paths = Object.values(resources())
      .filter((resource: any) => resource.Type === 'AWS::ApiGateway::Resource')
      .map((resource: any) => resource.Properties.PathPart);
    expect(paths).toEqual(expect.arrayContaining(['acme', 'css', 'admin-password']));
    const rules = Object.values(resources()).filter((resource: any) => resource.Type === 'AWS::Events::Rule');
    const own = rules.filter((rule: any) =>
      JSON.stringify(rule.Properties.Targets).includes('AcmeCssResetAdminPasswordLambdaFunction'),
    );
    expect(own.map((rule: any) => rule.Properties.EventPattern.detail)).toEqual([
      { provider: ['acme-css'], password: [{ exists: false }] },
    ]);
    // The catch-all rule for unknown providers knows it: its requests are not dead-lettered.
    expect(JSON.stringify(resources().UnroutedRequestsUnknownProviderRule.Properties.EventPattern)).toContain(
      'acme-css',
    );
  });

  it('may be invoked by the fleet state machine, and has its alarms', () => {
    expect(JSON.stringify(resources().FleetRotationRole.Properties.Policies[0])).toContain(
      'AcmeCssResetAdminPasswordLambdaFunction',
    );
    const alarms = Object.values(resources())
      .filter((resource: any) => resource.Type === 'AWS::CloudWatch::Alarm')
      .map((alarm: any) => alarm.Properties.AlarmName as string)
      .filter((name) => name.includes('acme-css'));
    expect(alarms.length).toBeGreaterThanOrEqual(3);
  });
});
