// Java regular expressions (java.util.regex, what Kafka Connect and Debezium configs are written
// in) on JavaScript's RegExp. The common syntax is the same; what differs is either translated
// (leading inline flags like (?i), \Q…\E quoting, \A and \z anchors) or refused with a message
// (possessive quantifiers, atomic groups, \p{…} classes, class intersections, inline flag
// groups), so a pattern never silently means something else. Replacement strings follow
// Matcher.replaceFirst: $n and ${name} group references, backslash escapes.

export interface JavaRegex {
  /** The translated pattern, anchored at both ends when compiled for a full match. */
  readonly regex: RegExp;
  readonly groupCount: number;
  readonly groupNames: readonly string[];
}

export type Compiled<T> = { ok: true; value: T } | { ok: false; message: string };

const flagLetters: Record<string, string> = { i: 'i', s: 's', m: 'm', u: '', d: '' };

function escapeLiteral(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

/** Java syntax → JavaScript syntax and flags, or why it cannot be translated faithfully. */
function translate(source: string): Compiled<{ pattern: string; flags: string }> {
  let flags = '';
  let rest = source;
  // Only a leading flag group applies to the whole pattern the way a RegExp flag does.
  const leading = /^\(\?([a-zA-Z]+)\)/.exec(rest);
  if (leading) {
    for (const letter of leading[1]!) {
      const flag = flagLetters[letter];
      if (flag === undefined) {
        return { ok: false, message: `the inline flag (?${letter}) is not supported` };
      }
      if (!flags.includes(flag)) flags += flag;
    }
    rest = rest.slice(leading[0].length);
  }

  let out = '';
  let inClass = false;
  for (let i = 0; i < rest.length; i++) {
    const char = rest[i]!;
    if (char === '\\') {
      const next = rest[i + 1];
      if (next === undefined) return { ok: false, message: 'unexpected trailing backslash' };
      if (next === 'Q') {
        const end = rest.indexOf('\\E', i + 2);
        const quoted = rest.slice(i + 2, end === -1 ? undefined : end);
        out += escapeLiteral(quoted);
        i = end === -1 ? rest.length : end + 1;
        continue;
      }
      if (!inClass && next === 'A') {
        out += '^';
      } else if (!inClass && (next === 'z' || next === 'Z')) {
        out += '$';
      } else if (next === 'p' || next === 'P') {
        return { ok: false, message: `the character class \\${next}{…} is not supported` };
      } else if ('hHRXGK'.includes(next)) {
        return { ok: false, message: `the escape \\${next} is not supported` };
      } else {
        out += char + next;
      }
      i++;
      continue;
    }
    if (inClass) {
      if (char === ']') inClass = false;
      else if (char === '[')
        return { ok: false, message: 'nested character classes are not supported' };
      else if (char === '&' && rest[i + 1] === '&') {
        return { ok: false, message: 'character class intersection (&&) is not supported' };
      }
      out += char;
      continue;
    }
    if (char === '[') {
      inClass = true;
      out += char;
      // A ] right after [ or [^ is a literal in Java; JavaScript needs it escaped.
      if (rest[i + 1] === '^') {
        out += '^';
        i++;
      }
      if (rest[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (char === '(' && rest[i + 1] === '?') {
      const kind = rest[i + 2];
      if (kind === '>') return { ok: false, message: 'atomic groups (?>…) are not supported' };
      if (kind !== undefined && /[a-zA-Z-]/.test(kind) && kind !== '<') {
        return {
          ok: false,
          message: 'inline flags are only supported at the start of the pattern',
        };
      }
    }
    if ((char === '+' || char === '*' || char === '?' || char === '}') && rest[i + 1] === '+') {
      return { ok: false, message: 'possessive quantifiers are not supported' };
    }
    out += char;
  }
  return { ok: true, value: { pattern: out, flags } };
}

/**
 * Compile a Java pattern. `fullMatch` anchors it at both ends, which is Matcher.matches():
 * the whole input must match, as RegexRouter and TopicNameMatches require.
 */
export function compileJavaRegex(source: string, fullMatch: boolean): Compiled<JavaRegex> {
  const translated = translate(source);
  if (!translated.ok) return translated;
  const { pattern, flags } = translated.value;
  try {
    const regex = new RegExp(fullMatch ? `^(?:${pattern})$` : pattern, flags);
    // An alternative that always matches the empty string reveals every group.
    const probe = new RegExp(`${pattern}|`, flags).exec('')!;
    return {
      ok: true,
      value: { regex, groupCount: probe.length - 1, groupNames: Object.keys(probe.groups ?? {}) },
    };
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
}

/** A parsed replacement: literal text and group references, resolved once. */
export type ReplacementPart = string | number | { name: string };

/** Matcher.appendReplacement's syntax, checked against the pattern's groups. */
export function parseJavaReplacement(
  replacement: string,
  regex: JavaRegex,
): Compiled<ReplacementPart[]> {
  const parts: ReplacementPart[] = [];
  let literal = '';
  const flush = () => {
    if (literal !== '') parts.push(literal);
    literal = '';
  };
  for (let i = 0; i < replacement.length; i++) {
    const char = replacement[i]!;
    if (char === '\\') {
      i++;
      if (i >= replacement.length) {
        return { ok: false, message: 'character to be escaped is missing' };
      }
      literal += replacement[i];
      continue;
    }
    if (char !== '$') {
      literal += char;
      continue;
    }
    i++;
    if (i >= replacement.length) {
      return { ok: false, message: 'Illegal group reference: group index is missing' };
    }
    if (replacement[i] === '{') {
      const end = replacement.indexOf('}', i);
      const name = end === -1 ? '' : replacement.slice(i + 1, end);
      if (end === -1 || !/^[a-zA-Z][a-zA-Z0-9]*$/.test(name)) {
        return { ok: false, message: 'named capturing group is missing trailing }' };
      }
      if (!regex.groupNames.includes(name)) {
        return { ok: false, message: `No group with name {${name}}` };
      }
      flush();
      parts.push({ name });
      i = end;
      continue;
    }
    const first = replacement.charCodeAt(i) - 48;
    if (first < 0 || first > 9) return { ok: false, message: 'Illegal group reference' };
    if (first > regex.groupCount) return { ok: false, message: `No group ${first}` };
    // Java keeps reading digits while the number still names an existing group.
    let group = first;
    while (i + 1 < replacement.length) {
      const digit = replacement.charCodeAt(i + 1) - 48;
      if (digit < 0 || digit > 9) break;
      const candidate = group * 10 + digit;
      if (candidate > regex.groupCount) break;
      group = candidate;
      i++;
    }
    flush();
    parts.push(group);
  }
  flush();
  return { ok: true, value: parts };
}

/** The replacement for one match; groups that did not participate contribute nothing. */
export function renderReplacement(
  parts: readonly ReplacementPart[],
  match: RegExpExecArray,
): string {
  let out = '';
  for (const part of parts) {
    if (typeof part === 'string') out += part;
    else if (typeof part === 'number') out += match[part] ?? '';
    else out += match.groups?.[part.name] ?? '';
  }
  return out;
}

/**
 * Split a comma-separated list of patterns (Debezium's include lists) on the commas that are not
 * inside braces, brackets or parentheses, so `a{1,3}` stays one pattern.
 */
export function splitPatternList(text: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char === '\\' && i + 1 < text.length) {
      current += char + text[i + 1];
      i++;
      continue;
    }
    if (char === '{' || char === '[' || char === '(') depth++;
    else if ((char === '}' || char === ']' || char === ')') && depth > 0) depth--;
    if (char === ',' && depth === 0) {
      items.push(current.trim());
      current = '';
      continue;
    }
    current += char;
  }
  items.push(current.trim());
  return items.filter((item) => item !== '');
}
