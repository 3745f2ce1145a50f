import { createHash } from 'node:crypto';
import {
  awsJson,
  epochSeconds,
  HttpStandInServer,
  type JsonObject,
  requiredString,
  ServiceError,
  type ServiceRequest,
  type ServiceResponse,
  type StandInChecksOptions,
} from './http-service';

export interface SecretsManagerCall {
  operation: string;
  secretId?: string;
}

interface StoredSecret {
  name: string;
  /** Fixed ARN, or undefined to build one in the caller's region. */
  arn?: string;
  value: string;
}

const SECRET_ARN_PATTERN = /^arn:aws[\w-]*:secretsmanager:[^:]*:\d*:secret:(.+)-[A-Za-z0-9]{6}$/;
const CREATED_AT = new Date(Date.UTC(2025, 0, 1));

/** Secrets Manager's six-character ARN suffix, stable per name so ARNs compare equal across calls. */
export function secretArnSuffix(name: string): string {
  return createHash('sha256')
    .update(name)
    .digest('base64')
    .replace(/[^A-Za-z0-9]/g, 'x')
    .slice(0, 6);
}

/**
 * Secrets Manager stand-in (awsJson1_1): DescribeSecret and GetSecretValue for the
 * secrets given at construction, keyed by name or full ARN; any other id is
 * ResourceNotFoundException.
 */
export class SecretsManagerStandIn {
  readonly calls: SecretsManagerCall[] = [];
  private readonly secrets: StoredSecret[];
  private readonly server: HttpStandInServer;

  constructor(secrets: Record<string, string>, options: StandInChecksOptions = {}) {
    this.secrets = Object.entries(secrets).map(([key, value]) => {
      const fromArn = SECRET_ARN_PATTERN.exec(key);
      return fromArn ? { name: fromArn[1], arn: key, value } : { name: key, value };
    });
    this.server = new HttpStandInServer('Secrets Manager', (request) => this.handle(request), {
      awsService: 'secretsmanager',
      checks: options.checks,
    });
  }

  start(): Promise<{ url: string }> {
    return this.server.start();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  private async handle(request: ServiceRequest): Promise<ServiceResponse> {
    const operation = awsJson.operationOf(request);
    const secretId = typeof request.body.SecretId === 'string' ? request.body.SecretId : undefined;
    this.calls.push(secretId === undefined ? { operation } : { operation, secretId });
    try {
      switch (operation) {
        case 'DescribeSecret':
          return awsJson.ok(this.describeSecret(request.body, request.region));
        case 'GetSecretValue':
          return awsJson.ok(this.getSecretValue(request.body, request.region));
        default:
          throw new ServiceError(
            'UnknownOperationException',
            `Operation '${operation}' is not supported here`,
            400,
          );
      }
    } catch (error) {
      if (error instanceof ServiceError) {
        return awsJson.error(error);
      }
      throw error;
    }
  }

  private arnOf(secret: StoredSecret, region: string): string {
    return (
      secret.arn ??
      `arn:aws:secretsmanager:${region}:000000000000:secret:${secret.name}-${secretArnSuffix(secret.name)}`
    );
  }

  private requireSecret(body: JsonObject, region: string): StoredSecret {
    const secretId = requiredString(body, 'SecretId');
    const secret = this.secrets.find(
      (candidate) => candidate.name === secretId || this.arnOf(candidate, region) === secretId,
    );
    if (!secret) {
      throw new ServiceError(
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret.",
        400,
      );
    }
    return secret;
  }

  private describeSecret(body: JsonObject, region: string): JsonObject {
    const secret = this.requireSecret(body, region);
    return {
      ARN: this.arnOf(secret, region),
      Name: secret.name,
      CreatedDate: epochSeconds(CREATED_AT),
      LastChangedDate: epochSeconds(CREATED_AT),
      VersionIdsToStages: { [this.versionIdOf(secret)]: ['AWSCURRENT'] },
    };
  }

  private getSecretValue(body: JsonObject, region: string): JsonObject {
    const secret = this.requireSecret(body, region);
    return {
      ARN: this.arnOf(secret, region),
      Name: secret.name,
      VersionId: this.versionIdOf(secret),
      SecretString: secret.value,
      VersionStages: ['AWSCURRENT'],
      CreatedDate: epochSeconds(CREATED_AT),
    };
  }

  private versionIdOf(secret: StoredSecret): string {
    const hex = createHash('sha256').update(`${secret.name}\n${secret.value}`).digest('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  }
}
