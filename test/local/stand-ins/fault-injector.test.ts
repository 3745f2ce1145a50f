import { AppflowClient, ListFlowsCommand } from '@aws-sdk/client-appflow';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ExecuteStatementCommand, RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { SendTaskHeartbeatCommand, SFNClient } from '@aws-sdk/client-sfn';
import type { PGlite } from '@electric-sql/pglite';
import { AppFlowStandIn } from '../../../local/stand-ins/appflow-stand-in';
import { DynamoDbStandIn } from '../../../local/stand-ins/dynamodb-stand-in';
import { EventBridgeStandIn } from '../../../local/stand-ins/eventbridge-stand-in';
import {
  FAULT_SERVICES,
  FaultInjector,
  type FaultService,
  faultProblems,
  injectedServiceError,
} from '../../../local/stand-ins/fault-injector';
import { RedshiftDataStandIn } from '../../../local/stand-ins/redshift-data-stand-in';
import { SimulatedClock } from '../../../local/stand-ins/simulated-clock';
import { SourceOrg } from '../../../local/stand-ins/source-org';
import { StepFunctionsStandIn } from '../../../local/stand-ins/step-functions-stand-in';
import { createLocalWarehouse } from '../../../local/warehouse/local-warehouse';

const CLIENT_CONFIG = {
  region: 'eu-west-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  maxAttempts: 1, // see the injected error, not the SDK's retries
};

/** A running stand-in of one fault service, and one SDK call to it that the fault named `operation` fails. */
interface Target {
  operation: string;
  call: () => Promise<unknown>;
  stop: () => Promise<void>;
}

type TargetFactory = (faults: FaultInjector, db: PGlite) => Promise<Target>;

const TARGETS: Record<FaultService, TargetFactory> = {
  appflow: async (faults, db) => {
    const clock = new SimulatedClock();
    const standIn = new AppFlowStandIn({
      org: new SourceOrg(clock),
      db,
      faults,
      clock,
      connectorProfiles: [],
    });
    const client = new AppflowClient({ ...CLIENT_CONFIG, endpoint: (await standIn.start()).url });
    return {
      operation: 'ListFlows',
      call: () => client.send(new ListFlowsCommand({})),
      stop: async () => {
        client.destroy();
        await standIn.stop();
      },
    };
  },
  'redshift-data': async (faults, db) => {
    const standIn = new RedshiftDataStandIn({ db, faults });
    const client = new RedshiftDataClient({ ...CLIENT_CONFIG, endpoint: (await standIn.start()).url });
    return {
      operation: 'ExecuteStatement',
      call: () =>
        client.send(
          new ExecuteStatementCommand({ ClusterIdentifier: 'local', Database: 'dev', Sql: 'SELECT 1' }),
        ),
      stop: async () => {
        client.destroy();
        await standIn.stop();
      },
    };
  },
  dynamodb: async (faults) => {
    const standIn = new DynamoDbStandIn({ faults });
    const client = new DynamoDBClient({ ...CLIENT_CONFIG, endpoint: (await standIn.start()).url });
    return {
      operation: 'PutItem',
      call: () =>
        client.send(new PutItemCommand({ TableName: 'control', Item: { objectName: { S: 'Account' } } })),
      stop: async () => {
        client.destroy();
        await standIn.stop();
      },
    };
  },
  events: async (faults) => {
    const standIn = new EventBridgeStandIn({ faults });
    const client = new EventBridgeClient({ ...CLIENT_CONFIG, endpoint: (await standIn.start()).url });
    return {
      operation: 'PutEvents',
      call: () =>
        client.send(new PutEventsCommand({ Entries: [{ Source: 's', DetailType: 'd', Detail: '{}' }] })),
      stop: async () => {
        client.destroy();
        await standIn.stop();
      },
    };
  },
  stepfunctions: async (faults) => {
    const standIn = new StepFunctionsStandIn({ faults });
    const client = new SFNClient({ ...CLIENT_CONFIG, endpoint: (await standIn.start()).url });
    const { token } = standIn.issueToken('Account');
    return {
      operation: 'SendTaskHeartbeat',
      call: () => client.send(new SendTaskHeartbeatCommand({ taskToken: token })),
      stop: async () => {
        client.destroy();
        await standIn.stop();
      },
    };
  },
};

/** An error each service really answers with (not its catch-all), and its HTTP status. */
const INJECTED: Record<FaultService, { error: string; status: number }> = {
  appflow: { error: 'ThrottlingException', status: 429 },
  'redshift-data': { error: 'ActiveStatementsExceededException', status: 400 },
  dynamodb: { error: 'ConditionalCheckFailedException', status: 400 },
  events: { error: 'ThrottlingException', status: 400 },
  stepfunctions: { error: 'TaskTimedOut', status: 400 },
};

describe('the fault injector, through each stand-in that asks it', () => {
  let db: PGlite;

  beforeAll(async () => {
    db = await createLocalWarehouse({ applySql: false });
  }, 60_000);

  afterAll(async () => {
    await db.close();
  });

  test.each(FAULT_SERVICES)(
    '%s: an armed fault fails the next SDK call with the service’s own error, once',
    async (service) => {
      // Prepare
      const faults = new FaultInjector();
      const target = await TARGETS[service](faults, db);
      const { error, status } = INJECTED[service];
      try {
        faults.add([{ service, operation: target.operation, times: 1, error }]);

        // Act
        const failed = target.call();

        // Assess
        await expect(failed).rejects.toMatchObject({ name: error, $metadata: { httpStatusCode: status } });
        expect(faults.pending()).toEqual([]);
      } finally {
        await target.stop();
      }
    },
  );

  test('a fault given as a message fails the call as the service’s catch-all error, with that message', async () => {
    // Prepare
    const faults = new FaultInjector();
    const target = await TARGETS.dynamodb(faults, db);
    try {
      faults.add([{ service: 'dynamodb', operation: 'PutItem', times: 1, error: 'table is being rebuilt' }]);

      // Act
      const failed = target.call();

      // Assess
      await expect(failed).rejects.toMatchObject({
        name: 'ValidationException',
        message: 'table is being rebuilt',
      });
    } finally {
      await target.stop();
    }
  });
});

test('a message answers with the catch-all’s own status: a 5xx one, which the SDK retries as it would AWS’s', () => {
  expect(injectedServiceError('stepfunctions', 'service melting')).toMatchObject({
    code: 'ServiceUnavailable',
    message: 'service melting',
    statusCode: 503,
  });
  expect(injectedServiceError('events', 'partition down')).toMatchObject({
    code: 'InternalException',
    statusCode: 500,
  });
  expect(injectedServiceError('dynamodb', 'table is being rebuilt')).toMatchObject({
    code: 'ValidationException',
    statusCode: 400,
  });
});

describe('what the injector refuses, instead of a fault that never fires or fires as something else', () => {
  test('a service no stand-in asks', () => {
    const act = () =>
      new FaultInjector().add([
        { service: 'dynamo', operation: 'UpdateItem', times: 1, error: 'ThrottlingException' },
      ]);

    expect(act).toThrow(
      /no stand-in of service dynamo takes faults \(known: appflow, redshift-data, dynamodb, events, stepfunctions\)/,
    );
  });

  test('an operation the service’s stand-in does not fail', () => {
    expect(
      faultProblems({
        service: 'stepfunctions',
        operation: 'DescribeExecution',
        times: 1,
        error: 'ThrottlingException',
      }),
    ).toEqual([
      {
        field: 'operation',
        message:
          'the stepfunctions stand-in fails no operation DescribeExecution (known: SendTaskFailure, SendTaskHeartbeat, SendTaskSuccess)',
      },
    ]);
  });

  test('an error code the service never answers with, naming those it does; a message or a flow run’s text is taken', () => {
    expect(
      faultProblems({
        service: 'dynamodb',
        operation: 'UpdateItem',
        times: 1,
        error: 'ConditionalCheckFailed',
      }),
    ).toEqual([
      {
        field: 'error',
        message: expect.stringMatching(
          /^dynamodb answers with no error ConditionalCheckFailed \(known: ConditionalCheckFailedException, .*TransactionConflictException.*\); a message \(text with a space\) fails the call as ValidationException$/,
        ),
      },
    ]);
    expect(
      faultProblems({ service: 'dynamodb', operation: 'UpdateItem', times: 1, error: 'disk is full' }),
    ).toEqual([]);
    expect(
      faultProblems({ service: 'appflow', operation: 'FlowRun', times: 1, error: 'INVALID_SESSION_ID' }),
    ).toEqual([]);
  });
});
