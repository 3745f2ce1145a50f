/** How the bench's sections print numbers, and how they indent their tables under a heading. */

/** A count, rounded, with thousands separators: `1,440`. */
export const n0 = (value: number) => Math.round(value).toLocaleString('en-US');
export const n1 = (value: number) => value.toFixed(1);
export const n2 = (value: number) => value.toFixed(2);
/** Milliseconds as seconds with one decimal: `12.3`. */
export const secs = (ms: number) => (ms / 1000).toFixed(1);
/** Seconds as minutes with one decimal. */
export const minutes = (s: number) => (s / 60).toFixed(1);
export const usd = (value: number) => `$${value.toFixed(4)}`;
export const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
/** A target's result: `null` is a figure without a target. */
export const verdict = (met: boolean | null) => (met === null ? 'n/a' : met ? 'met' : 'MISSED');

/** Two spaces before every line: a section's body under its heading. */
export function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}
