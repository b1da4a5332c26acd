// Java .properties files (the format Kafka Connect's FileConfigProvider reads): comments with # or
// !, separators =, : or whitespace, backslash line continuations and escapes (\t, \n, \uXXXX).

function unescape(text: string): string {
  return text.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, escaped: string) => {
    if (escaped.length === 5) return String.fromCharCode(parseInt(escaped.slice(1), 16));
    switch (escaped) {
      case 't':
        return '\t';
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 'f':
        return '\f';
      default:
        return escaped;
    }
  });
}

/** Logical lines: a line ending in an odd number of backslashes continues on the next one. */
function logicalLines(text: string): string[] {
  const out: string[] = [];
  let pending = '';
  for (const physical of text.split(/\r\n|\r|\n/)) {
    const line = pending === '' ? physical.trimStart() : physical.trimStart();
    const trailing = /\\+$/.exec(line)?.[0].length ?? 0;
    if (trailing % 2 === 1) {
      pending += line.slice(0, -1);
      continue;
    }
    out.push(pending + line);
    pending = '';
  }
  if (pending !== '') out.push(pending);
  return out;
}

export function parseProperties(text: string): Map<string, string> {
  const properties = new Map<string, string>();
  for (const line of logicalLines(text)) {
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    // The key ends at the first unescaped =, : or whitespace.
    let end = 0;
    while (end < line.length) {
      const char = line[end]!;
      if (char === '\\') {
        end += 2;
        continue;
      }
      if (char === '=' || char === ':' || /\s/.test(char)) break;
      end++;
    }
    const key = unescape(line.slice(0, end));
    let rest = line.slice(end).trimStart();
    if (rest.startsWith('=') || rest.startsWith(':')) rest = rest.slice(1).trimStart();
    properties.set(key, unescape(rest));
  }
  return properties;
}
