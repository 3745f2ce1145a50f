/** A plain-text table for terminals, e-mail and logs: one renderer for the Lambda report, the local run and the CLI. */
export function renderTable(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = rows.map((row) =>
    row.map((cell) => (cell === null || cell === undefined ? '' : String(cell))),
  );
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...cells.map((row) => (row[i] ?? '').length)),
  );
  // '-' stands for a figure that was not reported; it keeps a column of numbers right-aligned.
  const numeric = headers.map(
    (_, i) => cells.length > 0 && cells.every((row) => /^-?\d+(\.\d+)?$|^-?$/.test(row[i] ?? '')),
  );
  const line = (row: string[]) =>
    row
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((width) => '-'.repeat(width)).join('  '), ...cells.map(line)].join('\n');
}
