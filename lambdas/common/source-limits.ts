import * as z from 'zod/mini';
import './schema';

/** Salesforce's REST limits resource: what the org has left of its daily API requests. */
export const SALESFORCE_LIMITS_PATH = '/services/data/v60.0/limits';

const limitsSecretSchema = z.object({ instanceUrl: z.url(), accessToken: z.string().check(z.minLength(1)) });
const limitsResponseSchema = z.object({
  DailyApiRequests: z.object({ Max: z.number(), Remaining: z.number() }),
});

export interface ApiQuota {
  remaining: number;
  max: number;
}

/**
 * Reads the org's remaining daily API requests with a token kept in Secrets Manager
 * (the token never reaches a log or the execution's state: only the two numbers do).
 */
export async function readApiQuota(secretString: string, fetchImpl: typeof fetch = fetch): Promise<ApiQuota> {
  const secret = limitsSecretSchema.safeParse(JSON.parse(secretString));
  if (!secret.success) throw new Error('The API limits secret must hold {"instanceUrl", "accessToken"}');
  const response = await fetchImpl(new URL(SALESFORCE_LIMITS_PATH, secret.data.instanceUrl), {
    headers: { Authorization: `Bearer ${secret.data.accessToken}`, Accept: 'application/json' },
  });
  if (!response.ok) throw new Error(`Salesforce limits resource answered HTTP ${response.status}`);
  const limits = limitsResponseSchema.parse(await response.json());
  return { remaining: limits.DailyApiRequests.Remaining, max: limits.DailyApiRequests.Max };
}

/** Below the configured share, starting flows would spend what the org's own users need. */
export function quotaTooLow(quota: ApiQuota | undefined, minShare: number): boolean {
  return quota !== undefined && quota.max > 0 && quota.remaining / quota.max < minShare;
}
