/** The EventBridge event every execution ends with: subscribe with `source` and `detail-type`. */
export const EVENT_SOURCE = 'saas-to-redshift';
export const EVENT_DETAIL_TYPE = 'SaaS to Redshift Run Finished';
