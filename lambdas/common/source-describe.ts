import * as z from 'zod/mini';
import {
  openSalesforceSession,
  parseSalesforceCredentials,
  SALESFORCE_API_VERSION,
  SalesforceRequestError,
  type SalesforceRequestOptions,
  type SalesforceSession,
  salesforceGet,
} from './source-limits';
import './schema';

/**
 * Formula fields from Salesforce's own describe. AppFlow's DescribeConnectorEntity documents no
 * property that marks a Salesforce field as calculated (formulas and roll-up summaries), so the
 * column refresh (issue 21) asks Salesforce, with the credentials the quota guard already has:
 * `GET /services/data/vXX.X/sobjects/<Object>/describe` lists `fields[]` with `name`, `type` and
 * `calculated`. One API request per object.
 */

/** The sObject Describe resource of an object. */
export function salesforceDescribePath(objectName: string): string {
  return `/services/data/${SALESFORCE_API_VERSION}/sobjects/${encodeURIComponent(objectName)}/describe`;
}

const describeResponseSchema = z.looseObject({
  name: z.string(),
  fields: z.array(
    z.looseObject({
      name: z.string(),
      type: z.string(),
      calculated: z.optional(z.boolean()),
    }),
  ),
});

/** The names of the object's calculated fields (formulas, roll-up summaries), as Salesforce spells them. */
export async function calculatedFieldsOf(
  session: SalesforceSession,
  objectName: string,
  options: SalesforceRequestOptions,
): Promise<string[]> {
  const body = await salesforceGet(session, salesforceDescribePath(objectName), options);
  const parsed = describeResponseSchema.safeParse(body);
  if (!parsed.success) {
    throw new SalesforceRequestError(
      `Salesforce describe of ${objectName} answered without fields[].name/type`,
    );
  }
  return parsed.data.fields.filter((field) => field.calculated === true).map((field) => field.name);
}

/**
 * Signs in with the secret (JWT bearer or refresh token, as the quota guard does) and returns the
 * calculated fields of each object: one session, one describe per object. Refused credentials
 * throw SourceCredentialsError; an unknown object throws SalesforceRequestError (NOT_FOUND).
 */
export async function readCalculatedFields(
  secretString: string,
  objectNames: readonly string[],
  options: SalesforceRequestOptions,
): Promise<Record<string, string[]>> {
  const session = await openSalesforceSession(parseSalesforceCredentials(secretString, options), options);
  const result: Record<string, string[]> = {};
  for (const objectName of objectNames)
    result[objectName] = await calculatedFieldsOf(session, objectName, options);
  return result;
}
