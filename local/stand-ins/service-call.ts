// What a request to a stand-in is: as the HTTP layer parses it (http-service.ts) and the strict
// layer reads it (local/strict: its operation, the model's validation, IAM). Its own module, so
// that both depend on it and neither on the other.
import type { IncomingHttpHeaders } from 'node:http';
import type { AwsServiceName } from '../strict/api-model';

export type JsonObject = Record<string, unknown>;

/**
 * S3 speaks REST-XML, which the botocore-model validator (JSON protocols only) does not read:
 * its routes (strict/operations.ts) and its constraints in the stand-in are written by hand.
 */
export type RestXmlServiceName = 's3';
/** Every AWS service a stand-in plays. */
export type StandInServiceName = AwsServiceName | RestXmlServiceName;

export interface ServiceRequest {
  method: string;
  /** Percent-decoded path, without the query string. */
  path: string;
  /** The query string's parameters (REST protocols route and read members with them). */
  query?: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The JSON body of the JSON protocols; `{}` for REST-XML, whose body is `rawBody`. */
  body: JsonObject;
  /** The body's bytes as sent (REST-XML: an S3 object). */
  rawBody?: Buffer;
  /** Region from the SigV4 credential scope, so ARNs look like the caller's. */
  region: string;
}

/** One request to an AWS stand-in, with the operation resolved from the service's model. */
export interface StandInCall {
  service: StandInServiceName;
  /** The model's operation name, e.g. 'CreateFlow', 'ExecuteStatement', 'GetSecretValue'. */
  operation: string;
  request: ServiceRequest;
}
