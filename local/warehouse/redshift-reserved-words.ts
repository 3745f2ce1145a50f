/**
 * Amazon Redshift's reserved words ("Reserved words" in the Amazon Redshift Database Developer
 * Guide). Redshift refuses them as bare identifiers; many are not reserved in Postgres (OPEN, TAG,
 * PERCENT, NEW, SYSTEM, SNAPSHOT, TIMESTAMP …), so the local warehouse checks them itself
 * (redshift-dialect.ts for statements, redshift-emulation.ts for a procedure's dynamic SQL).
 */
export const REDSHIFT_RESERVED_WORDS: readonly string[] = `
AES128 AES256 ALL ALLOWOVERWRITE ANALYSE ANALYZE AND ANY ARRAY AS ASC AUTHORIZATION AZ64 BACKUP
BETWEEN BINARY BLANKSASNULL BOTH BYTEDICT BZIP2 CASE CAST CHECK COLLATE COLUMN CONSTRAINT CREATE
CREDENTIALS CROSS CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER CURRENT_USER_ID DEFAULT
DEFERRABLE DEFLATE DEFRAG DELTA DELTA32K DESC DISABLE DISTINCT DO ELSE EMPTYASNULL ENABLE ENCODE
ENCRYPT ENCRYPTION END EXCEPT EXPLICIT FALSE FOR FOREIGN FREEZE FROM FULL GLOBALDICT256
GLOBALDICT64K GRANT GROUP GZIP HAVING IDENTITY IGNORE ILIKE IN INITIALLY INNER INTERSECT INTERVAL
INTO IS ISNULL JOIN LEADING LEFT LIKE LIMIT LOCALTIME LOCALTIMESTAMP LUN LUNS LZO LZOP MINUS
MOSTLY16 MOSTLY32 MOSTLY8 NATURAL NEW NOT NOTNULL NULL NULLS OFF OFFLINE OFFSET OID OLD ON ONLY
OPEN OR ORDER OUTER OVERLAPS PARALLEL PARTITION PERCENT PERMISSIONS PIVOT PLACING PRIMARY RAW
READRATIO RECOVER REFERENCES REJECTLOG RESORT RESPECT RESTORE RIGHT SELECT SESSION_USER SIMILAR
SNAPSHOT SOME SYSDATE SYSTEM TABLE TAG TDES TEXT255 TEXT32K THEN TIMESTAMP TO TOP TRAILING TRUE
TRUNCATECOLUMNS UNION UNIQUE UNNEST UNPIVOT USER USING VERBOSE WALLET WHEN WHERE WITH WITHOUT`
  .trim()
  .split(/\s+/)
  .map((word) => word.toLowerCase());

/**
 * The reserved words that SQL run on the local warehouse (Postgres) never uses as syntax: a bare
 * one anywhere in a statement's code is an identifier that Redshift would refuse, DML included
 * (`SELECT open FROM …`, `MIN(tag)`). Words that are syntax in statements Postgres runs (ORDER,
 * TIMESTAMP, OFFSET, NULL …) are checked only where DDL names things (see REDSHIFT_RESERVED_WORDS).
 * The encodings (RAW, LZO, AZ64 …) are syntax after ENCODE, and only there.
 */
export const REDSHIFT_ONLY_RESERVED_WORDS: readonly string[] = [
  'aes128',
  'aes256',
  'allowoverwrite',
  'blanksasnull',
  'bzip2',
  'credentials',
  'current_user_id',
  'deflate',
  'defrag',
  'emptyasnull',
  'encrypt',
  'encryption',
  'explicit',
  'globaldict256',
  'globaldict64k',
  'gzip',
  'lun',
  'luns',
  'lzop',
  'minus',
  'new',
  'offline',
  'old',
  'open',
  'percent',
  'permissions',
  'pivot',
  'readratio',
  'recover',
  'rejectlog',
  'resort',
  'restore',
  'snapshot',
  'sysdate',
  'system',
  'tag',
  'tdes',
  'top',
  'truncatecolumns',
  'unpivot',
  'wallet',
];

/** The error Redshift's parser gives for a reserved word where an identifier belongs. */
export function reservedWordMessage(word: string): string {
  return `syntax error at or near "${word}" (${word.toUpperCase()} is a reserved word in Amazon Redshift: quote the identifier, "${word}")`;
}
