'use strict';

// The REST API's stage is a resource of its own in serverless.yml (ApiGatewayStage), so that its
// access logs and throttling are in the template that CloudFormation deploys and checks for drift.
// The framework lets its deployment resource create the stage instead (the deployment's StageName),
// and a stage with two owners fails to deploy ("… already exists"): this plugin takes the StageName
// off the deployment, and checks that the declared stage points at this package's deployment.
//
// (The framework's own `provider.logs.restApi` sets access logs with SDK calls after the deploy,
// outside the template, and creates a custom resource allowed to create and pass any IAM role to
// set the account's API Gateway logging role; it has no stage throttling.)

const DEPLOYMENT = 'AWS::ApiGateway::Deployment';
const STAGE = 'AWS::ApiGateway::Stage';

class DeclaredApiStage {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      'after:package:compileEvents': () => this.detachStage(),
      'after:package:finalize': () => this.checkStage(),
    };
  }

  get resources() {
    return this.serverless.service.provider.compiledCloudFormationTemplate.Resources;
  }

  idsOf(type) {
    return Object.keys(this.resources).filter((id) => this.resources[id].Type === type);
  }

  detachStage() {
    for (const id of this.idsOf(DEPLOYMENT)) delete this.resources[id].Properties.StageName;
  }

  checkStage() {
    const deployments = this.idsOf(DEPLOYMENT);
    if (deployments.length === 0) return;
    const stages = this.idsOf(STAGE).map((id) => this.resources[id].Properties);
    if (
      deployments.length !== 1 ||
      stages.length !== 1 ||
      stages[0].DeploymentId?.Ref !== deployments[0] ||
      stages[0].StageName !== this.serverless.getProvider('aws').getApiGatewayStage()
    ) {
      throw new this.serverless.classes.Error(
        `The REST API needs one ${STAGE}, named after the stage, whose DeploymentId is { Ref: ${deployments.join(', ')} } (ApiGatewayDeployment\${sls:instanceId}); found ${stages.length}`,
      );
    }
  }
}

module.exports = DeclaredApiStage;
