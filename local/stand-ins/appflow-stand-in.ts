import type { PGlite } from '@electric-sql/pglite';
import { APPFLOW_DATABASE_USER } from '../warehouse/appflow-user';
import { type AppFlowCall, appFlowRequestHandler } from './appflow/appflow-protocol';
import {
  type ConnectorProfile,
  describeConnectorEntity,
  describeConnectorProfiles,
} from './appflow/connector-catalog';
import { type FlowPlanContext, sourceObjectOf } from './appflow/flow-plan';
import type { FlowRunEndReport } from './appflow/flow-registry';
import { FlowRegistry } from './appflow/flow-registry';
import type { StagingBucketAccess } from './appflow/flow-run';
import type { FaultInjector } from './fault-injector';
import {
  HttpStandInServer,
  isJsonObject,
  type JsonObject,
  optionalString,
  requiredString,
  ServiceError,
  type StandInChecksOptions,
  validationError,
} from './http-service';
import type { SimulatedClock } from './simulated-clock';
import type { SourceOrg } from './source-org';

export type { AppFlowCall } from './appflow/appflow-protocol';
export {
  STAGING_BUCKET_ACTIONS,
  type StagingBucketAccess,
  type StagingBucketRequest,
} from './appflow/flow-run';

/** A connector profile the stand-in knows; a plain name is typed Redshift when it contains 'redshift'. */
export type ConnectorProfileSpec = string | ConnectorProfile;

export interface AppFlowStandInOptions extends StandInChecksOptions {
  org: SourceOrg;
  /** The warehouse, shared with the Redshift Data API stand-in. */
  db: PGlite;
  faults: FaultInjector;
  clock: SimulatedClock;
  /** Connector profiles that exist: the source and the Redshift destination profiles. */
  connectorProfiles: ConnectorProfileSpec[];
  /**
   * How many DescribeFlowExecutionRecords calls report a run InProgress before its outcome, or
   * a function of the flow's source object giving it. @default 1
   */
  pollsUntilDone?: number | ((sourceObject: string) => number);
  /** Rows per multi-row INSERT into the destination table. @default 1000 */
  insertBatchRows?: number;
  /**
   * Database user the Redshift connector inserts staging rows as (contract 4); it has only
   * what the pipeline GRANTs, so a missing grant fails the load.
   * @default APPFLOW_DATABASE_USER ('appflow_loader')
   */
  databaseUser?: string;
  /**
   * Called by every flow run before it loads, with the S3 actions AppFlow performs on the
   * intermediate bucket (contract 3); a rejection ends the run in Error with its message.
   * @default undefined — no check
   */
  stagingBucketAccess?: StagingBucketAccess;
}

/**
 * AppFlow stand-in: temporary on-demand flows from the simulated Salesforce org into
 * Redshift tables of the shared PGlite warehouse. The wire protocol lives in
 * `appflow/appflow-protocol.ts`, flows and runs in `appflow/flow-registry.ts` and
 * `appflow/flow-run.ts`, the connector's metadata in `appflow/connector-catalog.ts`.
 * Requests pass the shared checks (IAM, API model) of the HTTP layer first.
 */
export class AppFlowStandIn {
  readonly calls: AppFlowCall[] = [];
  private readonly server: HttpStandInServer;
  private readonly registry: FlowRegistry;
  private readonly profiles: ConnectorProfile[];

  constructor(private readonly opts: AppFlowStandInOptions) {
    this.profiles = opts.connectorProfiles.map((profile) =>
      typeof profile === 'string'
        ? { name: profile, connectorType: /redshift/i.test(profile) ? 'Redshift' : 'Salesforce' }
        : profile,
    );
    const planContext: FlowPlanContext = {
      requireSourceObject: (objectName, source) => this.requireSourceObject(objectName, source),
      fieldsOf: (objectName) => opts.org.fields(objectName),
      requireProfile: (name, role) => this.requireProfile(name, role),
    };
    this.registry = new FlowRegistry(
      planContext,
      {
        org: opts.org,
        db: opts.db,
        faults: opts.faults,
        clock: opts.clock,
        databaseUser: opts.databaseUser ?? APPFLOW_DATABASE_USER,
        insertBatchRows: Math.max(1, opts.insertBatchRows ?? 1000),
        ...(opts.stagingBucketAccess ? { stagingBucketAccess: opts.stagingBucketAccess } : {}),
      },
      opts.pollsUntilDone ?? 1,
    );
    const handler = appFlowRequestHandler({
      faults: opts.faults,
      onCall: (call) => this.calls.push(call),
      objectOfRequest: (body) => this.objectOfRequest(body),
      operations: {
        CreateFlow: (body, request) => this.registry.createFlow(body, request.region),
        DescribeFlow: (body) => this.registry.describeFlow(body),
        StartFlow: (body) => this.registry.startFlow(body),
        DescribeFlowExecutionRecords: (body) => this.registry.describeFlowExecutionRecords(body),
        DeleteFlow: (body) => this.registry.deleteFlow(body),
        ListFlows: (body) => this.registry.listFlows(body),
        DescribeConnectorEntity: (body) => this.describeConnectorEntity(body),
        DescribeConnectorProfiles: (body, request) =>
          describeConnectorProfiles(this.profiles, body, request.region),
      },
    });
    this.server = new HttpStandInServer('AppFlow', handler, {
      awsService: 'appflow',
      checks: opts.checks,
    });
  }

  start(): Promise<{ url: string }> {
    return this.server.start();
  }

  /** Ends the flow's newest run: its outcome shows, and AppFlow's end-of-run report is returned. */
  endRun(flowName: string): FlowRunEndReport | undefined {
    return this.registry.endRun(flowName);
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  /** Flows that exist now; the pipeline should leave none behind. */
  flowCount(): number {
    return this.registry.count();
  }

  private describeConnectorEntity(body: JsonObject): JsonObject {
    const entityName = requiredString(body, 'connectorEntityName');
    const profileName = optionalString(body, 'connectorProfileName');
    const connectorType = optionalString(body, 'connectorType');
    if (profileName !== undefined) {
      this.requireProfile(profileName, 'Source');
    }
    return describeConnectorEntity(
      this.opts.org,
      this.requireSourceObject(entityName, { profileName, connectorType }),
    );
  }

  /** The source object a call is about, so that faults can be narrowed to one object. */
  private objectOfRequest(body: JsonObject): string | undefined {
    if (typeof body.connectorEntityName === 'string') {
      return body.connectorEntityName;
    }
    if (isJsonObject(body.sourceFlowConfig)) {
      return sourceObjectOf(body.sourceFlowConfig);
    }
    if (typeof body.flowName === 'string') {
      return this.registry.sourceObjectOf(body.flowName);
    }
    return undefined;
  }

  private requireProfile(name: string | undefined, role: 'Source' | 'Destination'): void {
    if (name === undefined) {
      throw validationError(`${role} connectorProfileName is required`);
    }
    if (!this.profiles.some((profile) => profile.name === name)) {
      throw new ServiceError('ResourceNotFoundException', `Connector profile '${name}' does not exist`, 404);
    }
  }

  /**
   * The entity, checked against the source that is asked: a profile reads only its own
   * source (Salesforce profiles the org, a custom connector's profile the entities the
   * scenario gave it), and the request's connector type must be the profile's.
   */
  private requireSourceObject(
    objectName: string,
    source: { profileName?: string; connectorType?: string } = {},
  ): string {
    const profile =
      source.profileName === undefined
        ? undefined
        : this.profiles.find((candidate) => candidate.name === source.profileName);
    if (profile && source.connectorType !== undefined && profile.connectorType !== source.connectorType) {
      throw validationError(
        `Connector profile '${profile.name}' is a ${profile.connectorType} profile, not ${source.connectorType}`,
      );
    }
    const custom = profile !== undefined && profile.connectorType !== 'Salesforce';
    const options = this.opts.org.hasObject(objectName) ? this.opts.org.objectOptions(objectName) : undefined;
    const heldByProfile =
      options !== undefined &&
      (profile === undefined ||
        (custom
          ? options.profile === profile.name
          : options.profile === undefined || options.profile === profile.name));
    if (!heldByProfile) {
      throw new ServiceError(
        'ConnectorServerException',
        custom
          ? `${profile.connectorLabel ?? profile.connectorType}: entity '${objectName}' does not exist for connector profile '${profile.name}'`
          : `Salesforce: sObject type '${objectName}' is not supported or does not exist in the org`,
        400,
      );
    }
    return this.opts.org.canonicalName(objectName);
  }
}
