'use strict';

// The audit trail outlives the stack: every log group (the functions', the API's access log, the
// state machine's) is kept when the stack is deleted or the group replaced (DeletionPolicy and
// UpdateReplacePolicy Retain), so that deleting a stack is no way to erase who rotated what. Each
// must also say how long it keeps its lines (RetentionInDays): a kept group without one would keep
// them, and cost, forever. (The fingerprint key and the queue's key are kept where they are
// declared: serverless.yml, deploy/hardening.cjs.)
//
// Applied to the compiled template once the `resources` of serverless.yml are merged in, so that
// it covers the log groups the framework and its plugins make as well as the stack's own.

const LOG_GROUP = 'AWS::Logs::LogGroup';

class RetainedResources {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      'before:aws:package:finalize:saveServiceState': () => this.retain(),
    };
  }

  retain() {
    const { Resources } = this.serverless.service.provider.compiledCloudFormationTemplate;
    const missing = [];
    for (const [id, resource] of Object.entries(Resources)) {
      if (resource.Type !== LOG_GROUP) continue;
      if (!Number.isInteger(resource.Properties?.RetentionInDays)) missing.push(id);
      resource.DeletionPolicy = 'Retain';
      resource.UpdateReplacePolicy = 'Retain';
    }
    if (missing.length > 0) {
      throw new this.serverless.classes.Error(
        `Every log group needs RetentionInDays (it is kept when the stack is deleted); none on ${missing.join(', ')}`,
      );
    }
  }
}

module.exports = RetainedResources;
