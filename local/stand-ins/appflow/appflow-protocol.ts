import { type FaultInjector, injectedServiceError } from '../fault-injector';
import {
  type JsonObject,
  type RequestHandler,
  restJson,
  ServiceError,
  type ServiceRequest,
} from '../http-service';

/** The AppFlow operations the stand-in serves. */
export type AppFlowOperation =
  | 'CreateFlow'
  | 'DescribeFlow'
  | 'StartFlow'
  | 'DescribeFlowExecutionRecords'
  | 'DeleteFlow'
  | 'ListFlows'
  | 'DescribeConnectorEntity'
  | 'DescribeConnectorProfiles';

export interface AppFlowCall {
  operation: string;
  flowName?: string;
}

export type OperationHandler = (
  body: JsonObject,
  request: ServiceRequest,
) => JsonObject | Promise<JsonObject>;

export interface AppFlowProtocolOptions {
  /** The behaviour behind each operation. */
  operations: Record<AppFlowOperation, OperationHandler>;
  faults: FaultInjector;
  /** The source object a request is about, so that faults can be narrowed to one object. */
  objectOfRequest(body: JsonObject): string | undefined;
  /** Every routed call, in order. */
  onCall(call: AppFlowCall): void;
}

/** restJson1 routes (AppFlow's model: POST with the operation in the path). */
const ROUTES: Record<string, AppFlowOperation> = {
  '/create-flow': 'CreateFlow',
  '/describe-flow': 'DescribeFlow',
  '/start-flow': 'StartFlow',
  '/describe-flow-execution-records': 'DescribeFlowExecutionRecords',
  '/delete-flow': 'DeleteFlow',
  '/list-flows': 'ListFlows',
  '/describe-connector-entity': 'DescribeConnectorEntity',
  '/describe-connector-profiles': 'DescribeConnectorProfiles',
};

/**
 * AppFlow's wire protocol: routes a restJson1 request to its operation, records the call,
 * applies an injected API fault, runs the operation and serializes its result or its
 * ServiceError (status, `x-amzn-errortype`, `message`). Behaviour lives elsewhere.
 */
export function appFlowRequestHandler(options: AppFlowProtocolOptions): RequestHandler {
  return async (request) => {
    const operation = ROUTES[request.path];
    if (request.method !== 'POST' || !operation) {
      return restJson.error(
        new ServiceError(
          'UnknownOperationException',
          `No AppFlow operation at ${request.method} ${request.path}`,
          404,
        ),
      );
    }
    const flowName = typeof request.body.flowName === 'string' ? request.body.flowName : undefined;
    options.onCall(flowName === undefined ? { operation } : { operation, flowName });
    try {
      const fault = options.faults.take('appflow', operation, options.objectOfRequest(request.body));
      if (fault !== undefined) {
        throw injectedServiceError('appflow', fault);
      }
      return restJson.ok(await options.operations[operation](request.body, request));
    } catch (error) {
      if (error instanceof ServiceError) {
        return restJson.error(error);
      }
      throw error;
    }
  };
}
