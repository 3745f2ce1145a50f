import { readFileSync } from 'node:fs';
import { AWS_SERVICE_NAMES, apiModelPath, loadApiModel } from '../../../local/strict/api-model';
import {
  API_MODEL_SUBSET,
  extractApiModel,
  findBotocoreInstalls,
  readBotocoreServiceModel,
  serializeApiModel,
} from '../../../local/strict/api-model-extract';

const committedVersion = loadApiModel('appflow').source.botocoreVersion;
const install = findBotocoreInstalls().find((candidate) => candidate.version === committedVersion);

describe('committed API models', () => {
  test('all come from one botocore version, with source and licence noted', () => {
    for (const service of AWS_SERVICE_NAMES) {
      const { source } = loadApiModel(service);
      expect(source.botocoreVersion).toBe(committedVersion);
      expect(source.licence).toMatch(/^Apache-2\.0/);
      expect(source.copyright).toMatch(/Amazon\.com/);
      expect(source.regenerate).toBe('npm run api-models');
    }
  });

  test('hold every operation of the subset, and the members the pipeline sends', () => {
    for (const service of AWS_SERVICE_NAMES) {
      expect(Object.keys(loadApiModel(service).operations).sort()).toEqual(
        [...API_MODEL_SUBSET[service].operations].sort(),
      );
    }
    const appflow = loadApiModel('appflow').shapes;
    expect(appflow.SalesforceSourceProperties.members).toHaveProperty('dataTransferApi');
    expect(appflow.StartFlowRequest.members).toHaveProperty('clientToken');
    expect(appflow.CreateFlowRequest.members).toHaveProperty('clientToken');
    expect(appflow.TaskType.enum).toContain('Truncate');
    expect(appflow.OperatorPropertiesKeys.enum).toContain('TRUNCATE_LENGTH');
    const data = loadApiModel('redshift-data').shapes;
    expect(data.ExecuteStatementInput.members).toHaveProperty('WorkgroupName');
    expect(data.ExecuteStatementInput.members).toHaveProperty('ClientToken');
    expect(data.BatchExecuteStatementInput.members).toHaveProperty('ClientToken');
  });

  // CI machines have no botocore: the equality check needs the same version the files came from.
  const withBotocore = install ? test : test.skip;
  if (!install) {
    console.info(
      `Skipped "equal what npm run api-models regenerates": botocore ${committedVersion} is not installed here (python3 -c 'import botocore', /usr/lib/python3/dist-packages/botocore)`,
    );
  }
  withBotocore(`equal what npm run api-models regenerates from botocore ${committedVersion}`, () => {
    for (const service of AWS_SERVICE_NAMES) {
      const { file, json } = readBotocoreServiceModel(install!, service);
      const regenerated = serializeApiModel(
        extractApiModel(service, json, { botocoreVersion: install!.version, file }),
      );
      expect(readFileSync(apiModelPath(service), 'utf8')).toBe(regenerated);
    }
  });
});
