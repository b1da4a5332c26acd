// Plain-text tables for the terminal: left-aligned columns padded to the widest cell.

export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) =>
        column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** The first line of a stack trace: the error and its message. */
export function firstLine(text: string | undefined): string {
  return (text ?? '').split('\n', 1)[0]?.trim() ?? '';
}
