import { randomUUID } from 'node:crypto';
import {
  epochSeconds,
  type JsonObject,
  optionalBoolean,
  optionalNumber,
  optionalString,
  paginate,
  requiredString,
  ServiceError,
  validationError,
} from '../http-service';
import { type FlowPlan, type FlowPlanContext, planFlow } from './flow-plan';
import { type ExecutionStatus, type FlowExecution, type FlowRunDependencies, runFlow } from './flow-run';

interface StoredFlow {
  name: string;
  arn: string;
  request: JsonObject;
  plan: FlowPlan;
  createdAt: Date;
  lastUpdatedAt: Date;
  createClientToken?: string;
  /** Newest first, as DescribeFlowExecutionRecords lists them. */
  executions: FlowExecution[];
  executionIdByStartToken: Map<string, string>;
}

const FLOW_NAME_PATTERN = /^[a-zA-Z0-9][\w!@#.-]+$/;

/** AppFlow's "End Flow Run Report" event (EventBridge, default bus): detail and resources. */
export interface FlowRunEndReport {
  detail: Record<string, unknown>;
  resources: string[];
}

/**
 * The flows AppFlow holds and their runs: CreateFlow, DescribeFlow, StartFlow,
 * DescribeFlowExecutionRecords, DeleteFlow and ListFlows. A run happens synchronously
 * inside StartFlow; DescribeFlowExecutionRecords reveals its outcome after
 * `pollsUntilDone` polls, so callers exercise their wait loop.
 */
export class FlowRegistry {
  private readonly flows = new Map<string, StoredFlow>();
  /** Polls each run needs before its outcome shows (a long flow: more of them). */
  private readonly pollsByExecution = new WeakMap<FlowExecution, number>();
  /** Runs whose time is up (`endRun`): their outcome shows whatever the polls. */
  private readonly endedExecutions = new WeakSet<FlowExecution>();

  constructor(
    private readonly planContext: FlowPlanContext,
    private readonly runDependencies: FlowRunDependencies,
    /** A number, or per source object (the local run's `flowRunMinutes`). */
    private readonly pollsUntilDone: number | ((sourceObject: string) => number),
  ) {}

  count(): number {
    return this.flows.size;
  }

  /** The source object of an existing flow, so faults can be narrowed to one object. */
  sourceObjectOf(flowName: string): string | undefined {
    return this.flows.get(flowName)?.plan.sourceObject;
  }

  createFlow(body: JsonObject, region: string): JsonObject {
    const flowName = requiredString(body, 'flowName');
    if (flowName.length > 256 || !FLOW_NAME_PATTERN.test(flowName)) {
      throw validationError(
        `flowName '${flowName}' must match ${FLOW_NAME_PATTERN.source} and be at most 256 characters`,
      );
    }
    const clientToken = optionalString(body, 'clientToken');
    const existing = this.flows.get(flowName);
    if (existing) {
      // A retried CreateFlow with the same client token is the same call, not a conflict.
      if (clientToken !== undefined && existing.createClientToken === clientToken) {
        return { flowArn: existing.arn, flowStatus: 'Active' };
      }
      throw new ServiceError('ConflictException', `Flow '${flowName}' already exists`, 409);
    }
    const plan = planFlow(body, this.planContext);
    const now = this.runDependencies.clock.now();
    const flow: StoredFlow = {
      name: flowName,
      arn: `arn:aws:appflow:${region}:000000000000:flow/${flowName}`,
      request: body,
      plan,
      createdAt: now,
      lastUpdatedAt: now,
      createClientToken: clientToken,
      executions: [],
      executionIdByStartToken: new Map(),
    };
    this.flows.set(flowName, flow);
    return { flowArn: flow.arn, flowStatus: 'Active' };
  }

  describeFlow(body: JsonObject): JsonObject {
    const flow = this.requireFlow(body);
    const request = flow.request;
    return {
      flowArn: flow.arn,
      description: request.description,
      flowName: flow.name,
      flowStatus: 'Active',
      sourceFlowConfig: request.sourceFlowConfig,
      destinationFlowConfigList: request.destinationFlowConfigList,
      lastRunExecutionDetails: this.lastRunDetails(flow),
      triggerConfig: request.triggerConfig,
      tasks: request.tasks,
      createdAt: epochSeconds(flow.createdAt),
      lastUpdatedAt: epochSeconds(flow.lastUpdatedAt),
      createdBy: 'arn:aws:iam::000000000000:role/local-stand-in',
      lastUpdatedBy: 'arn:aws:iam::000000000000:role/local-stand-in',
      tags: request.tags ?? {},
      schemaVersion: 1,
    };
  }

  async startFlow(body: JsonObject): Promise<JsonObject> {
    const flow = this.requireFlow(body);
    const clientToken = optionalString(body, 'clientToken');
    const knownExecutionId =
      clientToken === undefined ? undefined : flow.executionIdByStartToken.get(clientToken);
    if (knownExecutionId !== undefined) {
      return { flowArn: flow.arn, flowStatus: 'Active', executionId: knownExecutionId };
    }
    // Claim the token before running, so a retry arriving mid-run gets the same execution.
    const executionId = randomUUID();
    if (clientToken !== undefined) {
      flow.executionIdByStartToken.set(clientToken, executionId);
    }
    const execution = await runFlow(flow.name, flow.plan, executionId, this.runDependencies);
    const polls = this.pollsUntilDone;
    this.pollsByExecution.set(execution, typeof polls === 'number' ? polls : polls(flow.plan.sourceObject));
    flow.executions.unshift(execution);
    return { flowArn: flow.arn, flowStatus: 'Active', executionId };
  }

  describeFlowExecutionRecords(body: JsonObject): JsonObject {
    const flow = this.requireFlow(body);
    const { page, nextToken } = paginate(
      flow.executions,
      optionalNumber(body, 'maxResults'),
      optionalString(body, 'nextToken'),
      20,
    );
    const flowExecutions = page.map((execution) => {
      execution.describesSeen += 1;
      const status = this.visibleStatus(execution);
      const done = status !== 'InProgress';
      return {
        executionId: execution.executionId,
        executionStatus: status,
        executionResult: {
          errorInfo:
            done && status === 'Error'
              ? { putFailuresCount: execution.putFailuresCount, executionMessage: execution.message }
              : undefined,
          bytesProcessed: done ? execution.bytesProcessed : 0,
          bytesWritten: done ? execution.bytesWritten : 0,
          recordsProcessed: done ? execution.recordsProcessed : 0,
        },
        startedAt: epochSeconds(execution.startedAt),
        lastUpdatedAt: epochSeconds(done ? execution.finishedAt : execution.startedAt),
      };
    });
    return { flowExecutions, nextToken };
  }

  deleteFlow(body: JsonObject): JsonObject {
    const flow = this.requireFlow(body);
    const forceDelete = optionalBoolean(body, 'forceDelete') ?? false;
    const running = flow.executions.some((execution) => this.visibleStatus(execution) === 'InProgress');
    if (running && !forceDelete) {
      throw new ServiceError(
        'ConflictException',
        `Flow '${flow.name}' has a run in progress; set forceDelete to delete it anyway`,
        409,
      );
    }
    this.flows.delete(flow.name);
    return {};
  }

  listFlows(body: JsonObject): JsonObject {
    const { page, nextToken } = paginate(
      [...this.flows.values()],
      optionalNumber(body, 'maxResults'),
      optionalString(body, 'nextToken'),
      100,
    );
    const flows = page.map((flow) => ({
      flowArn: flow.arn,
      description: flow.request.description,
      flowName: flow.name,
      flowStatus: 'Active',
      sourceConnectorType: flow.plan.sourceConnectorType,
      destinationConnectorType: flow.plan.destinationConnectorType,
      triggerType: 'OnDemand',
      createdAt: epochSeconds(flow.createdAt),
      lastUpdatedAt: epochSeconds(flow.lastUpdatedAt),
      tags: flow.request.tags ?? {},
      lastRunExecutionDetails: this.lastRunDetails(flow),
    }));
    return { flows, nextToken };
  }

  private requireFlow(body: JsonObject): StoredFlow {
    const name = requiredString(body, 'flowName');
    const flow = this.flows.get(name);
    if (!flow) {
      throw new ServiceError('ResourceNotFoundException', `Flow '${name}' does not exist`, 404);
    }
    return flow;
  }

  private lastRunDetails(flow: StoredFlow): JsonObject | undefined {
    const latest = flow.executions[0];
    if (!latest) {
      return undefined;
    }
    const status = this.visibleStatus(latest);
    return {
      mostRecentExecutionMessage: status === 'Error' ? latest.message : undefined,
      mostRecentExecutionTime: epochSeconds(latest.startedAt),
      mostRecentExecutionStatus: status,
    };
  }

  /**
   * The flow's newest run reaches its end (the local run's simulated minutes are up): its
   * outcome shows from now on, and AppFlow's end-of-run report for EventBridge is returned.
   * Undefined when the flow or its run is gone.
   */
  endRun(flowName: string): FlowRunEndReport | undefined {
    const flow = this.flows.get(flowName);
    const execution = flow?.executions[0];
    if (!flow || !execution) return undefined;
    this.endedExecutions.add(execution);
    const successful = execution.outcome === 'Successful';
    return {
      resources: [flow.arn],
      // Strings throughout, as AppFlow sends them.
      detail: {
        'flow-name': flow.name,
        'flow-arn': flow.arn,
        'created-by': 'arn:aws:iam::000000000000:role/local-stand-in',
        source: flow.plan.sourceConnectorType.toUpperCase(),
        destination: flow.plan.destinationConnectorType.toUpperCase(),
        'source-object': flow.plan.sourceObject,
        'trigger-type': 'ONDEMAND',
        'execution-id': execution.executionId,
        status: successful ? 'Execution Successful' : 'Execution Failed',
        'num-of-records-processed': String(execution.recordsProcessed),
        'start-time': execution.startedAt.toISOString(),
        'end-time': execution.finishedAt.toISOString(),
        ...(successful ? {} : { 'error-message': execution.message ?? '' }),
      },
    };
  }

  private visibleStatus(execution: FlowExecution): ExecutionStatus {
    if (this.endedExecutions.has(execution)) return execution.outcome;
    const polls = this.pollsByExecution.get(execution) ?? 1;
    return execution.describesSeen >= polls ? execution.outcome : 'InProgress';
  }
}
