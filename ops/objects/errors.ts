/** The command line was wrong (unknown command or flag, bad value): exit code 2, usage shown. */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    /** The command whose usage to show; the global usage when absent. */
    readonly command?: string,
  ) {
    super(message);
  }
}

/** The command was right but the operation failed (duplicate, unknown object, AWS refused): exit code 1. */
export class OperationError extends Error {
  override name = 'OperationError';
}

/** AWS SDK v3 errors carry the service's error code in `name`; comparing names survives duplicated SDK copies. */
export function awsErrorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}
