import { createHash } from 'node:crypto';

/** A policy document as IAM reads it, after the template's intrinsics are resolved. */
export interface PolicyDocument {
  Version?: string;
  Statement: Record<string, unknown>[];
}

interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
}

export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
}

/** Where the template is "deployed" locally, and the physical names the runner gives resources. */
export interface TemplateEnvironment {
  readonly account: string;
  readonly region: string;
  readonly stackName: string;
  /** Logical id → physical name, for resources whose name the template leaves to CloudFormation. */
  readonly physicalNames: Record<string, string>;
}

/** The identity a Lambda function's code runs as: its role's session named after the function. */
export interface LocalPrincipal {
  readonly functionName: string;
  readonly roleName: string;
  readonly roleArn: string;
  /** `arn:aws:sts::<account>:assumed-role/<role>/<function>`, as AWS names the caller in errors. */
  readonly sessionArn: string;
  /** `aws:userid` of the session: `<role id>:<function>`. */
  readonly userId: string;
  readonly policies: PolicyDocument[];
}

const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** CloudFormation's generated name for a resource without one: `<stack>-<logical id>-<suffix>`, capped. */
function generatedName(env: TemplateEnvironment, logicalId: string, maxLength: number): string {
  const suffix = createHash('sha256').update(logicalId).digest('hex').slice(0, 12).toUpperCase();
  const head = `${env.stackName}-${logicalId}`.slice(0, maxLength - suffix.length - 1);
  return `${head}-${suffix}`;
}

/** A role's unique id (`AROA` + 17 characters), stable per logical id. */
export function localRoleId(logicalId: string): string {
  const digest = createHash('sha256').update(`role:${logicalId}`).digest('base64');
  return `AROA${digest
    .replace(/[^A-Za-z0-9]/g, '')
    .toUpperCase()
    .slice(0, 17)}`;
}

function physicalName(template: CfnTemplate, env: TemplateEnvironment, logicalId: string): string {
  const known = env.physicalNames[logicalId];
  if (known) return known;
  const resource = template.Resources[logicalId];
  const properties = resource?.Properties ?? {};
  const named = {
    'AWS::IAM::Role': properties.RoleName,
    'AWS::S3::Bucket': properties.BucketName,
    'AWS::DynamoDB::Table': properties.TableName,
    'AWS::Logs::LogGroup': properties.LogGroupName,
    'AWS::StepFunctions::StateMachine': properties.StateMachineName,
    'AWS::SNS::Topic': properties.TopicName,
    'AWS::Lambda::Function': properties.FunctionName,
  }[resource?.Type ?? ''];
  if (typeof named === 'string') return named;
  // The runner names functions after their logical id (see lambdaContext); roles get CloudFormation's pattern.
  if (resource?.Type === 'AWS::Lambda::Function') return logicalId;
  return generatedName(env, logicalId, resource?.Type === 'AWS::IAM::Role' ? 64 : 128);
}

/** The ARN (or, for `Ref`, the name) of a template resource, as CloudFormation would return it. */
function resourceValue(
  template: CfnTemplate,
  env: TemplateEnvironment,
  logicalId: string,
  attribute: 'Ref' | string,
): string {
  const resource = template.Resources[logicalId];
  if (!resource) throw new Error(`The template has no resource ${logicalId} (referenced by a policy)`);
  const name = physicalName(template, env, logicalId);
  const { account, region } = env;
  const arns: Record<string, string> = {
    'AWS::DynamoDB::Table': `arn:aws:dynamodb:${region}:${account}:table/${name}`,
    'AWS::S3::Bucket': `arn:aws:s3:::${name}`,
    'AWS::Logs::LogGroup': `arn:aws:logs:${region}:${account}:log-group:${name}:*`,
    'AWS::IAM::Role': `arn:aws:iam::${account}:role/${name}`,
    'AWS::Lambda::Function': `arn:aws:lambda:${region}:${account}:function:${name}`,
    'AWS::StepFunctions::StateMachine': `arn:aws:states:${region}:${account}:stateMachine:${name}`,
    'AWS::SNS::Topic': `arn:aws:sns:${region}:${account}:${name}`,
  };
  const arn = arns[resource.Type];
  if (attribute === 'Ref') {
    // Ref answers the ARN for these types, the name for the others.
    return ['AWS::StepFunctions::StateMachine', 'AWS::SNS::Topic'].includes(resource.Type) && arn
      ? arn
      : name;
  }
  if (attribute === 'Arn' && arn) return arn;
  if (resource.Type === 'AWS::IAM::Role' && attribute === 'RoleId') return localRoleId(logicalId);
  throw new Error(`Cannot resolve Fn::GetAtt ${logicalId}.${attribute} (${resource.Type}) locally`);
}

const PSEUDO_PARAMETERS = (env: TemplateEnvironment): Record<string, string> => ({
  'AWS::Partition': 'aws',
  'AWS::Region': env.region,
  'AWS::AccountId': env.account,
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': env.stackName,
});

/**
 * Resolves the intrinsic functions a policy uses (Ref, Fn::GetAtt, Fn::Join, Fn::Sub,
 * Fn::Select, Fn::Split) into the strings they would be in the local account and region.
 * Anything else is an error: a policy that cannot be read must not be guessed.
 */
export function resolveIntrinsics(value: unknown, template: CfnTemplate, env: TemplateEnvironment): unknown {
  const resolve = (item: unknown) => resolveIntrinsics(item, template, env);
  if (Array.isArray(value)) return value.map(resolve);
  if (value === null || typeof value !== 'object') return value;
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object);
  if (keys.length === 1 && keys[0] === 'Ref') {
    const ref = String(object.Ref);
    return PSEUDO_PARAMETERS(env)[ref] ?? resourceValue(template, env, ref, 'Ref');
  }
  if (keys.length === 1 && keys[0] === 'Fn::GetAtt') {
    const target = object['Fn::GetAtt'];
    const [logicalId, attribute] = Array.isArray(target) ? target : String(target).split('.');
    return resourceValue(template, env, String(logicalId), String(attribute));
  }
  if (keys.length === 1 && keys[0] === 'Fn::Join') {
    const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
    return asArray(resolve(parts) as unknown[])
      .map(String)
      .join(separator);
  }
  if (keys.length === 1 && keys[0] === 'Fn::Select') {
    const [index, list] = object['Fn::Select'] as [unknown, unknown];
    return (resolve(list) as unknown[])[Number(resolve(index))];
  }
  if (keys.length === 1 && keys[0] === 'Fn::Split') {
    const [separator, text] = object['Fn::Split'] as [string, unknown];
    return String(resolve(text)).split(separator);
  }
  if (keys.length === 1 && keys[0] === 'Fn::Sub') {
    const sub = object['Fn::Sub'];
    const [text, variables] = Array.isArray(sub)
      ? (sub as [string, Record<string, unknown>])
      : [String(sub), {}];
    return text.replace(/\$\{([^}!]+)\}/g, (_match, name: string) => {
      if (name in variables) return String(resolve(variables[name]));
      const pseudo = PSEUDO_PARAMETERS(env)[name];
      if (pseudo) return pseudo;
      const [logicalId, attribute] = name.split('.');
      return resourceValue(template, env, logicalId, attribute ?? 'Ref');
    });
  }
  const intrinsic = keys.find((key) => key.startsWith('Fn::'));
  if (intrinsic) throw new Error(`The local IAM gate cannot resolve ${intrinsic} in a policy`);
  return Object.fromEntries(Object.entries(object).map(([key, item]) => [key, resolve(item)]));
}

/** The logical id a `{Ref}` / `{Fn::GetAtt: [id, 'Arn']}` points at. */
function referencedId(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const object = value as Record<string, unknown>;
  if (typeof object.Ref === 'string') return object.Ref;
  const getAtt = object['Fn::GetAtt'];
  if (Array.isArray(getAtt)) return String(getAtt[0]);
  return undefined;
}

/**
 * The identity a function of the template runs as, with every policy its role holds:
 * inline role policies and the AWS::IAM::Policy resources attached to the role. Managed
 * policies are refused (the pipeline's functions use none; their text is not in the template).
 */
export function principalOfFunction(
  template: CfnTemplate,
  env: TemplateEnvironment,
  functionLogicalId: string,
): LocalPrincipal {
  const fn = template.Resources[functionLogicalId];
  if (fn?.Type !== 'AWS::Lambda::Function') {
    throw new Error(`${functionLogicalId} is not a Lambda function of the template`);
  }
  return principalOfRole(template, env, fn.Properties?.Role, functionLogicalId);
}

/**
 * The identity a state machine of the template acts as when Step Functions itself calls AWS
 * (a Distributed Map's ItemReader and ResultWriter): its execution role's session.
 */
export function principalOfStateMachine(
  template: CfnTemplate,
  env: TemplateEnvironment,
  stateMachineLogicalId: string,
): LocalPrincipal {
  const machine = template.Resources[stateMachineLogicalId];
  if (machine?.Type !== 'AWS::StepFunctions::StateMachine') {
    throw new Error(`${stateMachineLogicalId} is not a state machine of the template`);
  }
  return principalOfRole(template, env, machine.Properties?.RoleArn, stateMachineLogicalId);
}

/** The session of the role `roleReference` points at, named after the resource using it. */
function principalOfRole(
  template: CfnTemplate,
  env: TemplateEnvironment,
  roleReference: unknown,
  userLogicalId: string,
): LocalPrincipal {
  const roleId = referencedId(roleReference);
  const role = roleId ? template.Resources[roleId] : undefined;
  if (!roleId || role?.Type !== 'AWS::IAM::Role') {
    throw new Error(`${userLogicalId} has no role of this template`);
  }
  if (asArray(role.Properties?.ManagedPolicyArns).length > 0) {
    throw new Error(
      `Role ${roleId} of ${userLogicalId} uses managed policies, which the local run cannot read`,
    );
  }
  const documents: unknown[] = asArray(role.Properties?.Policies as { PolicyDocument: unknown }[]).map(
    (policy) => policy.PolicyDocument,
  );
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    const roles = asArray(resource.Properties?.Roles as unknown[]).map(referencedId);
    if (roles.includes(roleId)) documents.push(resource.Properties?.PolicyDocument);
  }
  const functionName = physicalName(template, env, userLogicalId);
  const roleName = physicalName(template, env, roleId);
  return {
    functionName,
    roleName,
    roleArn: `arn:aws:iam::${env.account}:role/${roleName}`,
    sessionArn: `arn:aws:sts::${env.account}:assumed-role/${roleName}/${functionName}`,
    userId: `${localRoleId(roleId)}:${functionName}`,
    policies: documents.map((document) => resolveIntrinsics(document, template, env) as PolicyDocument),
  };
}

/** The bucket policy of the bucket with this physical name, resolved; undefined when it has none. */
export function bucketPolicyOf(
  template: CfnTemplate,
  env: TemplateEnvironment,
  bucketName: string,
): PolicyDocument | undefined {
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::S3::BucketPolicy') continue;
    const bucket = resolveIntrinsics(resource.Properties?.Bucket, template, env);
    if (bucket === bucketName) {
      return resolveIntrinsics(resource.Properties?.PolicyDocument, template, env) as PolicyDocument;
    }
  }
  return undefined;
}
