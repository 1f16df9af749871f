/**
 * A table for a person: one column per result (an implementation, an output), one row per
 * figure. Every bench prints its results this way before the JSON lines.
 */
export function formatColumns<R>(names: string[], results: R[], rows: Array<[string, (r: R) => string]>): string {
  const table = [['', ...names], ...rows.map(([name, cell]) => [name, ...results.map(cell)])];
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  return table.map((row) => row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
}
