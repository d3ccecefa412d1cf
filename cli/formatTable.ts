/**
 * Formats rows as left-aligned columns separated by two spaces, with the
 * header row first. The last column is not padded, so lines carry no
 * trailing spaces. Returns "" when there are no rows, so callers can print
 * their own "no ..." line.
 */
export function formatTable(headers: string[], rows: string[][]): string {
  if (rows.length === 0) {
    return '';
  }
  const allRows = [headers, ...rows];
  const widths = headers.map((_, column) => Math.max(...allRows.map((row) => (row[column] ?? '').length)));

  return allRows
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
