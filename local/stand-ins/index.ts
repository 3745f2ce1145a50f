export {
  type AppFlowCall,
  AppFlowStandIn,
  type AppFlowStandInOptions,
  type ConnectorProfileSpec,
  STAGING_BUCKET_ACTIONS,
  type StagingBucketAccess,
  type StagingBucketRequest,
} from './appflow-stand-in';
export { DynamoDbStandIn } from './dynamodb-stand-in';
export { FaultInjector, type FaultSpec } from './fault-injector';
export {
  type RedshiftDataCall,
  RedshiftDataStandIn,
  type RedshiftDataStandInOptions,
} from './redshift-data-stand-in';
export { type SecretsManagerCall, SecretsManagerStandIn } from './secrets-manager-stand-in';
export { SimulatedClock } from './simulated-clock';
export {
  type ApiQuota,
  SOURCE_FIELD_TYPES,
  type SourceField,
  type SourceFieldType,
  type SourceObjectOptions,
  SourceOrg,
} from './source-org';
export {
  MissingSqlParameterError,
  quoteSqlLiteral,
  type SqlParameter,
  substituteNamedParameters,
} from './sql-parameters';
