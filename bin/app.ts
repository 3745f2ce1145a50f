#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { environments } from '../config/environments';
import { resolveEnvironmentConfig } from '../lib/config';
import { PipelineStack } from '../lib/pipeline-stack';

const app = new App();
const config = resolveEnvironmentConfig(environments, app.node.tryGetContext('env'));
new PipelineStack(app, `SaasToRedshift-${config.name}`, {
  config,
  env: { account: config.account, region: config.region },
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
