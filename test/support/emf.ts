/** One metric of an Embedded Metric Format record as CloudWatch would ingest it. */
export interface EmittedMetric {
  readonly namespace: string;
  readonly name: string;
  readonly unit: string | undefined;
  readonly value: unknown;
  /** Dimension name → value, for the record's (single) dimension set. */
  readonly dimensions: Record<string, string>;
}

interface EmfRecord {
  _aws: {
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit?: string }[];
    }[];
  };
  [key: string]: unknown;
}

/**
 * Runs `act` with Powertools metrics enabled and collects what it prints: the EMF lines
 * the Lambda runtime would ship to CloudWatch, and Powertools' warnings. `POWERTOOLS_DEV` routes them through the
 * global console, where the spy sees them.
 */
export async function captureEmf(act: () => unknown, environment: Record<string, string> = {}) {
  const variables = { POWERTOOLS_METRICS_DISABLED: 'false', POWERTOOLS_DEV: 'true', ...environment };
  const saved = Object.fromEntries(Object.keys(variables).map((name) => [name, process.env[name]]));
  Object.assign(process.env, variables);
  const lines: string[] = [];
  const warnings: string[] = [];
  const spy = jest.spyOn(console, 'log').mockImplementation((line: unknown) => {
    lines.push(String(line));
  });
  const warnSpy = jest.spyOn(console, 'warn').mockImplementation((line: unknown) => {
    warnings.push(String(line));
  });
  let outcome: { error?: unknown } = {};
  try {
    await act();
  } catch (error) {
    outcome = { error };
  } finally {
    spy.mockRestore();
    warnSpy.mockRestore();
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
  const metrics = lines.flatMap((line) => emittedMetrics(JSON.parse(line) as EmfRecord));
  return { metrics, warnings, ...outcome };
}

function emittedMetrics(record: EmfRecord): EmittedMetric[] {
  return record._aws.CloudWatchMetrics.flatMap((directive) => {
    const dimensionNames = directive.Dimensions.flat();
    const dimensions = Object.fromEntries(dimensionNames.map((name) => [name, String(record[name])]));
    return directive.Metrics.map((metric) => ({
      namespace: directive.Namespace,
      name: metric.Name,
      unit: metric.Unit,
      value: record[metric.Name],
      dimensions,
    }));
  });
}

/** Metric name → value, for assertions on what one call emitted. */
export function valuesByName(metrics: readonly EmittedMetric[]): Record<string, unknown> {
  return Object.fromEntries(metrics.map((metric) => [metric.name, metric.value]));
}
