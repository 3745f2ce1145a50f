/**
 * The database user AppFlow's Redshift connection loads as: a plain Redshift user
 * (`appflow_loader`) or the user Redshift maps an IAM identity to (`IAMR:<role-name>`,
 * `IAM:<user-name>`). Shared by the config schema and the GRANTs, so both accept the same names.
 * Letters, digits and `_$.@+-` of Redshift user names plus `=,:` of IAM names; never a quote.
 */
export const DATABASE_USER_PATTERN = /^[A-Za-z_][A-Za-z0-9_$.@+=,:-]{0,126}$/;

/**
 * The name as GRANT takes it, double-quoted (an IAM-mapped name holds a colon). The pattern
 * admits no `"`, so quoting needs no escaping; anything else is refused, not escaped.
 */
export function quoteDatabaseUser(user: string): string {
  if (!DATABASE_USER_PATTERN.test(user)) throw new Error(`Refusing database user name "${user}"`);
  return `"${user}"`;
}
