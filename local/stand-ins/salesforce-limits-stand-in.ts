import { SALESFORCE_LIMITS_PATH } from '../../lambdas/common/source-limits';
import { HttpStandInServer, type ServiceRequest, type ServiceResponse } from './http-service';
import type { SourceOrg } from './source-org';

/** Salesforce's REST limits resource for the simulated org: its daily API requests, behind a bearer token. */
export class SalesforceLimitsStandIn {
  private readonly server = new HttpStandInServer('Salesforce limits', (request) => this.handle(request));

  constructor(
    private readonly org: SourceOrg,
    private readonly accessToken: string,
  ) {}

  start(): Promise<{ url: string }> {
    return this.server.start();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  private async handle(request: ServiceRequest): Promise<ServiceResponse> {
    const json = (status: number, body: unknown) => ({
      status,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (request.headers.authorization !== `Bearer ${this.accessToken}`) {
      return json(401, [{ errorCode: 'INVALID_SESSION_ID', message: 'Session expired or invalid' }]);
    }
    if (request.method !== 'GET' || request.path !== SALESFORCE_LIMITS_PATH) {
      return json(404, [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]);
    }
    const quota = this.org.apiQuota;
    return json(200, { DailyApiRequests: { Max: quota.max, Remaining: quota.remaining } });
  }
}
