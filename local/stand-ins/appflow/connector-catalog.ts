import {
  epochSeconds,
  type JsonObject,
  optionalArray,
  optionalNumber,
  optionalString,
  paginate,
} from '../http-service';
import { keyFieldsOf, type SourceField, type SourceOrg, typeFamily } from '../source-org';

/** A connector profile the stand-in knows. */
export interface ConnectorProfile {
  name: string;
  connectorType: string;
  connectorLabel?: string;
}

const ORDERING_OPERATORS = [
  'LESS_THAN',
  'GREATER_THAN',
  'BETWEEN',
  'LESS_THAN_OR_EQUAL_TO',
  'GREATER_THAN_OR_EQUAL_TO',
];

/**
 * Filter operators the Salesforce connector reports for a field, limited to what the
 * stand-in runs. Long Text Areas cannot be filtered in SOQL, so they only project.
 */
export function filterOperatorsFor(field: Pick<SourceField, 'type' | 'length'>): string[] {
  const family = typeFamily(field.type);
  if (
    family === 'integer' ||
    family === 'decimal' ||
    family === 'date' ||
    family === 'datetime' ||
    family === 'time'
  ) {
    return ['PROJECTION', ...ORDERING_OPERATORS, 'EQUAL_TO', 'NOT_EQUAL_TO', 'VALIDATE_NON_NULL', 'NO_OP'];
  }
  if (family === 'boolean') {
    return ['PROJECTION', 'EQUAL_TO', 'NOT_EQUAL_TO', 'VALIDATE_NON_NULL', 'NO_OP'];
  }
  if (family === 'opaque' || (field.type === 'textarea' && (field.length ?? 0) > 255)) {
    return ['PROJECTION', 'VALIDATE_NON_NULL', 'NO_OP'];
  }
  return ['PROJECTION', 'EQUAL_TO', 'NOT_EQUAL_TO', 'CONTAINS', 'VALIDATE_NON_NULL', 'NO_OP'];
}

/**
 * Salesforce's describe values as AppFlow's string map `customProperties` carries them
 * (contract 8): `length` for text, `precision` and `scale` for numbers.
 */
function describeProperties(field: SourceField): Record<string, string> | undefined {
  const properties: Record<string, string> = {};
  if (field.length !== undefined) properties.length = String(field.length);
  if (field.precision !== undefined) properties.precision = String(field.precision);
  if (field.scale !== undefined) properties.scale = String(field.scale);
  return Object.keys(properties).length > 0 ? properties : undefined;
}

/**
 * One field as DescribeConnectorEntity lists it. A formula field looks like any other field of
 * its type: AppFlow's API documents no property that marks Salesforce's calculated fields (the
 * field map `customProperties` has no documented key for it), so the pipeline reads Salesforce's
 * own describe for them (lambdas/common/source-describe.ts). Like Salesforce's describe
 * (createable/updateable false), a formula cannot be written, so it is neither creatable nor
 * updatable as a destination field.
 */
export function connectorEntityField(
  field: SourceField,
  keys: { primaryKey: string; cursorField: string },
): JsonObject {
  const systemField =
    field.name === keys.primaryKey ||
    field.name === keys.cursorField ||
    field.name === 'Id' ||
    field.name === 'SystemModstamp' ||
    field.name === 'IsDeleted';
  const family = typeFamily(field.type);
  return {
    identifier: field.name,
    label: field.name,
    isPrimaryKey: field.name === keys.primaryKey,
    supportedFieldTypeDetails: {
      v1: {
        fieldType: field.type,
        filterOperators: filterOperatorsFor(field),
        ...(family === 'text' && field.length !== undefined
          ? { fieldLengthRange: { minimum: 0, maximum: field.length } }
          : {}),
        ...(family === 'boolean' ? { supportedValues: ['true', 'false'] } : {}),
      },
    },
    customProperties: describeProperties(field),
    sourceProperties: {
      isRetrievable: true,
      isQueryable: true,
      isTimestampFieldForIncrementalQueries: field.name === keys.cursorField,
    },
    destinationProperties: {
      isCreatable: !systemField && !field.formula,
      isNullable: field.name !== keys.primaryKey,
      isUpsertable: false,
      isUpdatable: !systemField && !field.formula,
    },
  };
}

/** DescribeConnectorEntity: the object's fields with types and Salesforce's describe values. */
export function describeConnectorEntity(org: SourceOrg, objectName: string): JsonObject {
  const keys = keyFieldsOf(org.objectOptions(objectName));
  return {
    connectorEntityFields: org.fields(objectName).map((field) => connectorEntityField(field, keys)),
  };
}

/** DescribeConnectorProfiles: the configured profiles, filtered by name and connector type. */
export function describeConnectorProfiles(
  profiles: ConnectorProfile[],
  body: JsonObject,
  region: string,
): JsonObject {
  const names = optionalArray(body, 'connectorProfileNames');
  const connectorType = optionalString(body, 'connectorType');
  const selected = profiles.filter(
    (profile) =>
      (names === undefined || names.length === 0 || names.includes(profile.name)) &&
      (connectorType === undefined || profile.connectorType === connectorType),
  );
  const { page, nextToken } = paginate(
    selected,
    optionalNumber(body, 'maxResults'),
    optionalString(body, 'nextToken'),
    20,
  );
  const createdAt = epochSeconds(new Date(Date.UTC(2025, 0, 1)));
  const connectorProfileDetails = page.map((profile) => ({
    connectorProfileArn: `arn:aws:appflow:${region}:000000000000:connectorprofile/${profile.name}`,
    connectorProfileName: profile.name,
    connectorType: profile.connectorType,
    connectorLabel: profile.connectorLabel,
    connectionMode: 'Public',
    credentialsArn: `arn:aws:secretsmanager:${region}:000000000000:secret:appflow!${profile.name}`,
    connectorProfileProperties:
      profile.connectorType === 'Salesforce'
        ? {
            Salesforce: {
              instanceUrl: 'https://local-stand-in.my.salesforce.com',
              isSandboxEnvironment: false,
            },
          }
        : {},
    createdAt,
    lastUpdatedAt: createdAt,
  }));
  return { connectorProfileDetails, nextToken };
}
