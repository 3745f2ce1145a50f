import { secretArnSuffix } from '../stand-ins/secrets-manager-stand-in';

/** What the gate needs of a stand-in call (structurally the stand-ins' `StandInCall`). */
export interface GateCall {
  readonly service: string;
  readonly operation: string;
  readonly request: {
    /** REST protocols (S3) name the resource in the path and query. */
    readonly path?: string;
    readonly query?: URLSearchParams;
    readonly headers: Record<string, string | string[] | undefined>;
    readonly body: Record<string, unknown>;
    readonly region: string;
  };
}

/** One IAM authorization an API call needs: an action on a resource, with the request's context keys. */
export interface AuthorizationRequest {
  readonly action: string;
  readonly resource: string;
  readonly context: Record<string, string | string[]>;
}

/** Facts about the local account the mapping needs to build ARNs. */
export interface AccountFacts {
  readonly account: string;
  /** Serverless workgroup name → id: IAM names workgroups by id, requests by name. */
  readonly workgroupIds: Record<string, string>;
  /** `redshift-data:statement-owner-iam-userid` of a statement, when the run knows who submitted it. */
  readonly statementOwner: (statementId: string) => string | undefined;
}

/** IAM service prefix of each stand-in service (botocore names). */
const IAM_PREFIX: Record<string, string> = {
  appflow: 'appflow',
  'redshift-data': 'redshift-data',
  secretsmanager: 'secretsmanager',
  events: 'events',
  dynamodb: 'dynamodb',
  stepfunctions: 'states',
  s3: 's3',
};

/** A secret's full ARN from a name or an ARN, as Secrets Manager resolves a SecretId. */
export function secretArnOf(secretId: string, region: string, account: string): string {
  if (secretId.startsWith('arn:')) return secretId;
  return `arn:aws:secretsmanager:${region}:${account}:secret:${secretId}-${secretArnSuffix(secretId)}`;
}

export class UnmappedOperationError extends Error {
  constructor(service: string, operation: string, why: string) {
    super(
      `The local IAM gate does not know how ${service}:${operation} is authorized (${why}); add it to local/strict/iam-requests.ts`,
    );
    this.name = 'UnmappedOperationError';
  }
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

function tagContext(tags: unknown): Record<string, string | string[]> {
  if (tags === null || typeof tags !== 'object') return {};
  const entries = Object.entries(tags as Record<string, unknown>).map(([key, value]) => [key, String(value)]);
  return {
    ...Object.fromEntries(entries.map(([key, value]) => [`aws:RequestTag/${key}`, value])),
    'aws:TagKeys': entries.map(([key]) => key),
  };
}

function appflowRequests(call: GateCall, facts: AccountFacts): AuthorizationRequest[] | undefined {
  const { body, region } = call.request;
  const arn = (type: string, name: unknown) => {
    const value = text(name);
    if (!value) throw new UnmappedOperationError('appflow', call.operation, `the request names no ${type}`);
    return `arn:aws:appflow:${region}:${facts.account}:${type}/${value}`;
  };
  switch (call.operation) {
    case 'CreateFlow': {
      // CreateFlow has no resource type; a flow that uses connector profiles also needs
      // appflow:UseConnectorProfile on each (the AppFlow IAM reference's "use a profile while creating a flow").
      const source = body.sourceFlowConfig as { connectorProfileName?: unknown } | undefined;
      const destinations = (body.destinationFlowConfigList ?? []) as { connectorProfileName?: unknown }[];
      const profiles = [source?.connectorProfileName, ...destinations.map((d) => d.connectorProfileName)]
        .map(text)
        .filter((name): name is string => name !== undefined);
      return [
        { action: 'appflow:CreateFlow', resource: '*', context: tagContext(body.tags) },
        ...[...new Set(profiles)].map((profile) => ({
          action: 'appflow:UseConnectorProfile',
          resource: arn('connectorprofile', profile),
          context: {},
        })),
      ];
    }
    case 'StartFlow':
    case 'DescribeFlow':
    case 'DescribeFlowExecutionRecords':
    case 'StopFlow':
    case 'UpdateFlow':
      return [{ action: `appflow:${call.operation}`, resource: arn('flow', body.flowName), context: {} }];
    case 'DeleteFlow':
      return [{ action: 'appflow:DeleteFlow', resource: arn('flow', body.flowName), context: {} }];
    case 'DescribeConnectorEntity':
    case 'ListConnectorEntities':
      return [
        {
          action: `appflow:${call.operation}`,
          resource: arn('connectorprofile', body.connectorProfileName),
          context: {},
        },
      ];
    default:
      return undefined;
  }
}

function redshiftDataRequests(call: GateCall, facts: AccountFacts): AuthorizationRequest[] | undefined {
  const { body, region } = call.request;
  switch (call.operation) {
    case 'ExecuteStatement':
    case 'BatchExecuteStatement': {
      const workgroup = text(body.WorkgroupName);
      const cluster = text(body.ClusterIdentifier);
      let target: string;
      if (workgroup) {
        const id = workgroup.startsWith('arn:') ? workgroup.split('/').pop() : facts.workgroupIds[workgroup];
        if (!id)
          throw new UnmappedOperationError('redshift-data', call.operation, `unknown workgroup ${workgroup}`);
        target = `arn:aws:redshift-serverless:${region}:${facts.account}:workgroup/${id}`;
      } else if (cluster) {
        target = `arn:aws:redshift:${region}:${facts.account}:cluster:${cluster}`;
      } else {
        throw new UnmappedOperationError(
          'redshift-data',
          call.operation,
          'no WorkgroupName or ClusterIdentifier',
        );
      }
      const requests: AuthorizationRequest[] = [
        { action: `redshift-data:${call.operation}`, resource: target, context: {} },
      ];
      // With a secret, the Data API reads it with the caller's own permissions.
      const secret = text(body.SecretArn);
      if (secret) {
        requests.push({
          action: 'secretsmanager:GetSecretValue',
          resource: secretArnOf(secret, region, facts.account),
          context: { 'secretsmanager:SecretId': secret },
        });
      }
      return requests;
    }
    case 'DescribeStatement':
    case 'GetStatementResult':
    case 'GetStatementResultV2':
    case 'CancelStatement': {
      const id = text(body.Id) ?? '';
      // Sub-statements of a batch (`<id>:<n>`) belong to the batch's owner.
      const owner = facts.statementOwner(id.split(':')[0]);
      return [
        {
          action: `redshift-data:${call.operation}`,
          resource: '*',
          context: owner ? { 'redshift-data:statement-owner-iam-userid': owner } : {},
        },
      ];
    }
    default:
      return undefined;
  }
}

function secretsManagerRequests(call: GateCall, facts: AccountFacts): AuthorizationRequest[] | undefined {
  const secretId = text(call.request.body.SecretId);
  if (!secretId) return undefined;
  return [
    {
      action: `secretsmanager:${call.operation}`,
      resource: secretArnOf(secretId, call.request.region, facts.account),
      context: { 'secretsmanager:SecretId': secretId },
    },
  ];
}

function eventsRequests(call: GateCall, facts: AccountFacts): AuthorizationRequest[] | undefined {
  if (call.operation !== 'PutEvents') return undefined;
  const entries = (call.request.body.Entries ?? []) as Record<string, unknown>[];
  return entries.map((entry) => {
    const bus = text(entry.EventBusName) ?? 'default';
    const resource = bus.startsWith('arn:')
      ? bus
      : `arn:aws:events:${call.request.region}:${facts.account}:event-bus/${bus}`;
    const context: Record<string, string> = {};
    if (text(entry.Source)) context['events:source'] = String(entry.Source);
    if (text(entry.DetailType)) context['events:detail-type'] = String(entry.DetailType);
    return { action: 'events:PutEvents', resource, context };
  });
}

function dynamodbRequests(call: GateCall, facts: AccountFacts): AuthorizationRequest[] | undefined {
  const { body, region } = call.request;
  const tableArn = (name: string) =>
    name.startsWith('arn:') ? name : `arn:aws:dynamodb:${region}:${facts.account}:table/${name}`;
  const single = text(body.TableName);
  // A Query or Scan of an index is authorized on the index's ARN, not the table's.
  const index = text(body.IndexName);
  if (single) {
    const resource = index ? `${tableArn(single)}/index/${index}` : tableArn(single);
    return [{ action: `dynamodb:${call.operation}`, resource, context: {} }];
  }
  if (body.RequestItems && typeof body.RequestItems === 'object') {
    return Object.keys(body.RequestItems).map((name) => ({
      action: `dynamodb:${call.operation}`,
      resource: tableArn(name),
      context: {},
    }));
  }
  return undefined;
}

/**
 * Step Functions: DescribeExecution on the execution's ARN. SendTask* take no resource (the
 * token is the credential): left unmapped, the gate allows them as wildcard-only actions.
 */
function stepFunctionsRequests(call: GateCall): AuthorizationRequest[] | undefined {
  if (call.operation !== 'DescribeExecution') return undefined;
  const executionArn = text(call.request.body.executionArn);
  return executionArn
    ? [{ action: 'states:DescribeExecution', resource: executionArn, context: {} }]
    : undefined;
}

/**
 * S3 (path-style `/<bucket>/<key>`): object actions on the object's ARN, listing on the bucket's
 * with `s3:prefix`, per the Service Authorization Reference. A PutObject that sets an ACL or tags
 * also needs s3:PutObjectAcl / s3:PutObjectTagging.
 */
function s3Requests(call: GateCall): AuthorizationRequest[] | undefined {
  const header = (name: string) => {
    const value = call.request.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const [, bucket = '', ...key] = (call.request.path ?? '/').split('/');
  const objectArn = `arn:aws:s3:::${bucket}/${key.join('/')}`;
  switch (call.operation) {
    case 'GetObject':
      return [{ action: 's3:GetObject', resource: objectArn, context: {} }];
    case 'PutObject': {
      const encryption = header('x-amz-server-side-encryption');
      const context: Record<string, string> = encryption
        ? { 's3:x-amz-server-side-encryption': encryption }
        : {};
      return [
        { action: 's3:PutObject', resource: objectArn, context },
        ...(header('x-amz-acl') ? [{ action: 's3:PutObjectAcl', resource: objectArn, context: {} }] : []),
        ...(header('x-amz-tagging')
          ? [{ action: 's3:PutObjectTagging', resource: objectArn, context: {} }]
          : []),
      ];
    }
    case 'ListObjectsV2': {
      const prefix = call.request.query?.get('prefix');
      return [
        {
          action: 's3:ListBucket',
          resource: `arn:aws:s3:::${bucket}`,
          context: prefix ? { 's3:prefix': prefix } : {},
        },
      ];
    }
    default:
      return undefined;
  }
}

const MAPPERS: Record<string, (call: GateCall, facts: AccountFacts) => AuthorizationRequest[] | undefined> = {
  s3: s3Requests,
  appflow: appflowRequests,
  'redshift-data': redshiftDataRequests,
  secretsmanager: secretsManagerRequests,
  events: eventsRequests,
  dynamodb: dynamodbRequests,
  stepfunctions: stepFunctionsRequests,
};

/**
 * The IAM authorizations an API call needs, or undefined when this module has no rule for it
 * (the gate then allows it only if IAM defines the action as wildcard-only).
 */
export function authorizationsFor(call: GateCall, facts: AccountFacts): AuthorizationRequest[] | undefined {
  return MAPPERS[call.service]?.(call, facts);
}

export function iamPrefixOf(service: string): string {
  const prefix = IAM_PREFIX[service];
  if (!prefix) throw new UnmappedOperationError(service, '*', 'unknown service');
  return prefix;
}
