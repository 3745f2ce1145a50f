/**
 * Progress lines for the benchmark: every phase and sub-step with the elapsed time since the
 * bench started and, for steps, how long the step took. Progress goes to stderr so that stdout
 * holds the result tables only (`npm run bench > results.txt` keeps a clean copy).
 */
export interface Progress {
  /** A phase heading: `[  12.3s] == consolidation ==`. */
  phase(name: string): void;
  /** A one-off line within the current phase. */
  note(message: string): void;
  /** Runs `work`, printing its start and end with the time it took; returns what `work` returned. */
  step<T>(label: string, work: () => Promise<T> | T): Promise<T>;
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

export function createProgress(write: (line: string) => void = (line) => process.stderr.write(`${line}\n`)) {
  const started = performance.now();
  let phase = '';
  const stamp = () => `[${seconds(performance.now() - started).padStart(7)}]`;
  const progress: Progress = {
    phase(name) {
      phase = name;
      write(`${stamp()} == ${name} ==`);
    },
    note(message) {
      write(`${stamp()}   ${phase ? `${phase} › ` : ''}${message}`);
    },
    async step(label, work) {
      const prefix = phase ? `${phase} › ` : '';
      write(`${stamp()}   ${prefix}${label} …`);
      const t0 = performance.now();
      const result = await work();
      write(`${stamp()}   ${prefix}${label}: done in ${seconds(performance.now() - t0)}`);
      return result;
    },
  };
  return { progress, elapsedMs: () => performance.now() - started };
}

/** Progress that prints nothing (for callers that want the figures only). */
export const silentProgress: Progress = {
  phase: () => undefined,
  note: () => undefined,
  step: async (_label, work) => work(),
};

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Milliseconds `work` took (wall clock, high resolution). */
export async function timed(work: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await work();
  return performance.now() - t0;
}
