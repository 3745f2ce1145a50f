import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type CliClients, type CliDeps, main } from '../../../ops/objects-cli';

export const STATE_MACHINE_ARN = 'arn:aws:states:eu-west-1:111111111111:stateMachine:saas-to-redshift-dev';
export const EXECUTION_ARN_PREFIX = 'arn:aws:states:eu-west-1:111111111111:execution:saas-to-redshift-dev';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Clients as the CLI would build them, recording the region each was built for. */
export interface RecordingClients extends CliClients {
  regions: { service: string; region: string | undefined }[];
}

/**
 * The control table is the given (dynalite) client; Step Functions and CloudFormation are real
 * SDK clients, which aws-sdk-client-mock intercepts when a test file mocks their class.
 */
export function testClients(controlTable?: DynamoDBDocumentClient): RecordingClients {
  const regions: RecordingClients['regions'] = [];
  return {
    regions,
    controlTable: (region) => {
      regions.push({ service: 'dynamodb', region });
      if (!controlTable) throw new Error('this test has no control table');
      return controlTable;
    },
    stepFunctions: (region) => {
      regions.push({ service: 'states', region });
      return new SFNClient({ region });
    },
    cloudFormation: (region) => {
      regions.push({ service: 'cloudformation', region });
      return new CloudFormationClient({ region });
    },
    redshiftData: (region) => {
      regions.push({ service: 'redshift-data', region });
      return new RedshiftDataClient({ region });
    },
    secretsManager: (region) => {
      regions.push({ service: 'secretsmanager', region });
      return new SecretsManagerClient({ region });
    },
  };
}

/** The CLI in-process, exactly as `npm run objects -- …argv` runs it, with its output captured. */
export async function runCli(
  argv: string[],
  clients: CliClients = testClients(),
  deps: Omit<CliDeps, 'clients'> = {},
): Promise<CliResult> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main(
    argv,
    { out: (text) => stdout.push(`${text}\n`), err: (text) => stderr.push(`${text}\n`) },
    { ...deps, clients },
  );
  return { code, stdout: stdout.join(''), stderr: stderr.join('') };
}
