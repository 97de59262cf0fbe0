import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PackagedStage, packageStage } from './package-stage.ts';

// cfn-lint (AWS's CloudFormation linter) on the templates `serverless package` writes for the
// default stage `dev` and for `prod` (which must name an alarm topic: deploy/alarms.cjs), as a CI
// gate would run it: no error. Its warnings are printed, not failed on (W3005, a DependsOn the
// framework adds beside a GetAtt, is the framework's). Where cfn-lint is not installed the test is
// skipped with a notice, and nothing is packaged.

const run = promisify(execFile);
const ALARM_TOPIC = 'arn:aws:sns:eu-central-1:123456789012:ops-alarms';

const cfnLintVersion = (): string | undefined => {
  try {
    return execFileSync('cfn-lint', ['--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
};
const version = cfnLintVersion();
if (!version) {
  process.stdout.write(
    'cfn-lint is not on the PATH: the packaged templates are not linted (pip install cfn-lint)\n',
  );
}

interface Finding {
  Level: 'Error' | 'Warning' | 'Informational';
  Rule: { Id: string };
  Message: string;
  Location: { Path: Array<string | number> };
}

const stages: Record<string, PackagedStage> = {};

describe.skipIf(!version)(`cfn-lint (${version ?? 'absent'}) on the packaged templates`, () => {
  beforeAll(async () => {
    const [dev, prod] = await Promise.all([
      packageStage('dev'),
      packageStage('prod', { alarmTopicArn: ALARM_TOPIC }),
    ]);
    Object.assign(stages, { dev, prod });
  }, 180_000);

  afterAll(() => Promise.all(Object.values(stages).map((stage) => stage.remove())));

  /** cfn-lint's findings on a template; it exits non-zero whenever it finds anything. */
  const lint = async (path: string): Promise<Finding[]> => {
    const output = await run('cfn-lint', ['--format', 'json', '--', path], { timeout: 120_000 }).then(
      (done) => done.stdout,
      (failed: { stdout?: string; message: string }) => {
        if (!failed.stdout) throw new Error(failed.message);
        return failed.stdout;
      },
    );
    return JSON.parse(output) as Finding[];
  };

  it.each(['dev', 'prod'])('finds no error in the %s template', async (stage) => {
    const packaged = stages[stage] as PackagedStage;
    const findings = await lint(packaged.templatePath);
    const warnings = findings.filter((finding) => finding.Level !== 'Error');
    if (warnings.length > 0) {
      process.stdout.write(
        `cfn-lint on ${stage}: ${warnings.map((w) => `${w.Rule.Id} ${w.Location.Path.join('/')}`).join('; ')}\n`,
      );
    }
    const errors = findings
      .filter((finding) => finding.Level === 'Error')
      .map((finding) => `${finding.Rule.Id} ${finding.Location.Path.join('/')}: ${finding.Message}`);
    expect(errors).toEqual([]);
    // The templates it read are the stages': prod's alarms notify its topic.
    const alarms = Object.values(packaged.template.Resources).filter(
      (resource) => resource.Type === 'AWS::CloudWatch::Alarm',
    );
    expect(alarms.length).toBeGreaterThan(0);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual(stage === 'prod' ? [ALARM_TOPIC] : undefined);
    }
  });

  it('sees an error when there is one: the empty-topic branch the alarms had before', async () => {
    // The control, on a copy of dev's template with one alarm as the stack once wrote it.
    const { writeFile, readFile } = await import('node:fs/promises');
    const path = `${stages.dev?.dir}/with-empty-topic.json`;
    const template = JSON.parse(await readFile(stages.dev?.templatePath as string, 'utf8'));
    template.Conditions = { AlarmTopicGiven: { 'Fn::Not': [{ 'Fn::Equals': ['', ''] }] } };
    template.Resources.FailedRequestsAlarm.Properties.AlarmActions = {
      'Fn::If': ['AlarmTopicGiven', [''], { Ref: 'AWS::NoValue' }],
    };
    await writeFile(path, JSON.stringify(template));
    const errors = (await lint(path)).filter((finding) => finding.Level === 'Error');
    expect(errors.map((finding) => finding.Rule.Id)).toContain('E3033');
  });
});
