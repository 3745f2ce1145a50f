/**
 * A scripted failure: the next `times` matching calls fail with `error`.
 * `service` is one of FAULT_SERVICES ('appflow', 'redshift-data', 'dynamodb', 'events',
 * 'stepfunctions'); `operation` is an API operation
 * (`CreateFlow`, `ExecuteStatement`, …), `FlowRun` (a flow execution ending in Error),
 * `Statement` (a Data API statement ending FAILED) or `DuplicateWrite` (service appflow:
 * a flow run writes some of its records to staging twice, as AppFlow can after retrying
 * a page; it needs no `error`). `object` narrows it to one object.
 */
export interface FaultSpec {
  service: string;
  operation: string;
  object?: string;
  times: number;
  error?: string;
}

/** The fault that is not an error: a flow run's retried page lands in staging twice. */
export const DUPLICATE_WRITE = 'DuplicateWrite';

/** The services whose stand-ins take faults: a fault of another one would silently never fire. */
export const FAULT_SERVICES = ['appflow', 'redshift-data', 'dynamodb', 'events', 'stepfunctions'] as const;

/** 'redshift-data', 'RedshiftData' and 'redshift_data' all name the same service. */
function normalizeServiceName(service: string): string {
  return service.toLowerCase().replace(/[^a-z0-9]/g, '');
}

function sameText(left: string, right: string): boolean {
  return left.toLowerCase() === right.toLowerCase();
}

/** Holds the faults a scenario day injects; the stand-ins consult it before every call. */
export class FaultInjector {
  private faults: FaultSpec[] = [];

  add(faults: FaultSpec[]): void {
    for (const fault of faults) {
      const duplicateWrite = sameText(fault.operation ?? '', DUPLICATE_WRITE);
      if (!fault.service || !fault.operation || (!fault.error && !duplicateWrite)) {
        throw new Error(
          `FaultInjector: a fault needs service, operation and error: ${JSON.stringify(fault)}`,
        );
      }
      if (
        !FAULT_SERVICES.some(
          (service) => normalizeServiceName(service) === normalizeServiceName(fault.service),
        )
      ) {
        throw new Error(
          `FaultInjector: no stand-in of service ${fault.service} takes faults (known: ${FAULT_SERVICES.join(', ')}): ${JSON.stringify(fault)}`,
        );
      }
      if (duplicateWrite && normalizeServiceName(fault.service) !== 'appflow') {
        throw new Error(
          `FaultInjector: ${DUPLICATE_WRITE} is a fault of service appflow: ${JSON.stringify(fault)}`,
        );
      }
      if (!Number.isInteger(fault.times) || fault.times < 1) {
        throw new Error(`FaultInjector: times must be a positive integer: ${JSON.stringify(fault)}`);
      }
      this.faults.push({ ...fault });
    }
  }

  /**
   * Returns the error of the first remaining fault matching the call (the operation's name
   * for a fault without one) and uses up one of its `times`. Service, operation and object compare case-insensitively; a fault with an
   * `object` only matches calls about that object, one without matches any call.
   */
  take(service: string, operation: string, objectName?: string): string | undefined {
    const index = this.faults.findIndex(
      (fault) =>
        normalizeServiceName(fault.service) === normalizeServiceName(service) &&
        sameText(fault.operation, operation) &&
        (fault.object === undefined || (objectName !== undefined && sameText(fault.object, objectName))),
    );
    if (index < 0) {
      return undefined;
    }
    const fault = this.faults[index];
    fault.times -= 1;
    if (fault.times <= 0) {
      this.faults.splice(index, 1);
    }
    return fault.error || fault.operation;
  }

  clear(): void {
    this.faults = [];
  }

  /** Faults not used up yet (copies), e.g. to report a scenario fault that never fired. */
  pending(): FaultSpec[] {
    return this.faults.map((fault) => ({ ...fault }));
  }
}
