import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { environments } from '../../config/environments';
import { resolveTarget } from '../../ops/objects/target';
import { runCli, testClients } from './support/cli';

const cloudFormation = mockClient(CloudFormationClient);
const sfn = mockClient(SFNClient);
const dynamo = mockClient(DynamoDBDocumentClient);

const PROD_STATE_MACHINE = 'arn:aws:states:eu-west-1:222222222222:stateMachine:saas-to-redshift-prod';
const PROD_TABLE = 'SaasToRedshift-prod-ControlTable1A2B3C';

function stackWithOutputs(outputs: Record<string, string>) {
  return {
    Stacks: [
      {
        StackName: 'SaasToRedshift-prod',
        CreationTime: new Date('2026-01-01T00:00:00Z'),
        StackStatus: 'UPDATE_COMPLETE' as const,
        Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  };
}

const missingStack = (name: string) =>
  Object.assign(new Error(`Stack with id ${name} does not exist`), { name: 'ValidationError' });

beforeEach(() => {
  cloudFormation.reset();
  sfn.reset();
  dynamo.reset();
  cloudFormation.on(DescribeStacksCommand).resolves(
    stackWithOutputs({
      StateMachineArn: PROD_STATE_MACHINE,
      ControlTableName: PROD_TABLE,
      AlarmTopicArn: 'arn:aws:sns:eu-west-1:222222222222:alarms',
    }),
  );
  sfn.on(StartExecutionCommand).resolves({
    executionArn: `${PROD_STATE_MACHINE.replace(':stateMachine:', ':execution:')}:manual-1`,
    startDate: new Date(),
  });
  dynamo.on(ScanCommand).resolves({ Items: [{ objectName: 'Account' }] });
});

describe('--env', () => {
  it('finds the state machine in the outputs of the stack SaasToRedshift-<env>, in the environment region', async () => {
    const clients = testClients();
    const outcome = await runCli(['run', '--env', 'prod'], clients);
    expect(outcome.code).toBe(0);
    expect(cloudFormation).toHaveReceivedCommandWith(DescribeStacksCommand, {
      StackName: 'SaasToRedshift-prod',
    });
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { stateMachineArn: PROD_STATE_MACHINE });
    // The suggested next command carries the same target, so it can be pasted as printed.
    expect(outcome.stdout).toContain('Follow it with: npm run objects -- status manual-1 --env prod');
    expect(clients.regions).toEqual([
      { service: 'cloudformation', region: 'eu-west-1' },
      { service: 'states', region: 'eu-west-1' },
    ]);
  });

  it('finds the control table in the outputs', async () => {
    const target = await resolveTarget({ env: 'prod' }, 'controlTable', {
      environments,
      cloudFormation: (region) => new CloudFormationClient({ region }),
    });
    expect(target).toEqual({
      region: 'eu-west-1',
      controlTableName: PROD_TABLE,
      schemas: { staging: 'salesforce_incremental', final: 'salesforce' },
      sources: {
        salesforce: expect.objectContaining({ connectorType: 'Salesforce', finalSchema: 'salesforce' }),
      },
      flowTimeoutMinutes: 720,
      tickMinutes: 15,
    });
  });

  it('takes the warehouse schema names from the environment config', async () => {
    const custom = {
      qa: {
        ...environments.dev,
        source: { ...environments.dev.source, stagingSchema: 'sf_stage', finalSchema: 'sf' },
      },
    };
    const target = await resolveTarget({ env: 'qa', table: 'ctl' }, 'controlTable', {
      environments: custom,
      cloudFormation: (region) => new CloudFormationClient({ region }),
    });
    expect(target.schemas).toEqual({ staging: 'sf_stage', final: 'sf' });
    expect(cloudFormation).not.toHaveReceivedCommand(DescribeStacksCommand);
  });

  it('lists the table named by the stack output', async () => {
    const outcome = await runCli(
      ['--env', 'prod', 'list'],
      testClients(DynamoDBDocumentClient.from(new DynamoDBClient({}))),
    );
    expect(outcome.code).toBe(0);
    expect(dynamo).toHaveReceivedCommandWith(ScanCommand, { TableName: PROD_TABLE });
    expect(outcome.stdout).toContain(`Control table ${PROD_TABLE}: 1 objects`);
  });

  it('--table and --state-machine-arn override the lookup', async () => {
    const outcome = await runCli([
      'run',
      '--env',
      'prod',
      '--state-machine-arn',
      'arn:aws:states:eu-west-1:222222222222:stateMachine:other',
    ]);
    expect(outcome.code).toBe(0);
    expect(cloudFormation).not.toHaveReceivedCommand(DescribeStacksCommand);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: 'arn:aws:states:eu-west-1:222222222222:stateMachine:other',
    });
  });

  it('a missing stack is a clear error naming the stack, region and the way around it', async () => {
    cloudFormation.on(DescribeStacksCommand).rejects(missingStack('SaasToRedshift-dev'));
    const outcome = await runCli(['status', '--env', 'dev']);
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toContain('Stack SaasToRedshift-dev not found in eu-west-1');
    expect(outcome.stderr).toContain('account 111111111111');
    expect(outcome.stderr).toContain('npx cdk deploy -c env=dev');
    expect(outcome.stderr).toContain('--table / --state-machine-arn');
    expect(sfn.calls()).toHaveLength(0);
  });

  it('an error about credentials says what to check', async () => {
    cloudFormation.on(DescribeStacksCommand).rejects(
      Object.assign(new Error('The security token included in the request is expired'), {
        name: 'ExpiredToken',
      }),
    );
    const outcome = await runCli(['run', '--env', 'prod']);
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toContain(
      'Error: run failed: ExpiredToken: The security token included in the request is expired',
    );
    expect(outcome.stderr).toContain('Check the AWS credentials in use');
  });

  it('a stack without the output says which outputs it has', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves(stackWithOutputs({ AlarmTopicArn: 'arn:x' }));
    const outcome = await runCli(['run', '--env', 'prod']);
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toContain(
      'Stack SaasToRedshift-prod has no output StateMachineArn (outputs: AlarmTopicArn)',
    );
  });

  it('an unknown environment is a usage error listing the known ones', async () => {
    const outcome = await runCli(['list', '--env', 'staging']);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toContain(
      'Unknown environment "staging": config/environments.ts defines dev, prod',
    );
  });

  it('no target at all is a usage error saying what to pass', async () => {
    const outcome = await runCli(['list']);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toContain('Which pipeline? Pass --env <name> (one of: dev, prod) or --table NAME');
  });

  it('a malformed --state-machine-arn is a usage error', async () => {
    const outcome = await runCli(['status', '--state-machine-arn', 'saas-to-redshift-dev']);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toContain('expected arn:aws:states:<region>:<account>:stateMachine:<name>');
  });
});
