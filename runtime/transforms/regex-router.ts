// Kafka Connect's RegexRouter: when the whole topic name matches `regex` (Matcher.matches), the
// topic becomes `replacement` with $n / ${name} group references filled in; otherwise the record
// is left alone. Pattern and replacement are compiled once, at configuration.

import { parseJavaReplacement, renderReplacement } from './java-regex.ts';
import type { ReplacementPart } from './java-regex.ts';
import { TRANSFORMS_VERSION } from './types.ts';
import type { TransformPlugin } from './types.ts';

export const regexRouter: TransformPlugin = {
  kind: 'transformation',
  className: 'org.apache.kafka.connect.transforms.RegexRouter',
  aliases: ['RegexRouter'],
  version: TRANSFORMS_VERSION,
  summary: 'Renames the topic when it fully matches `regex`, to `replacement` (with $1, ${name}).',
  create(options) {
    const pattern = options.regex('regex', { required: true, fullMatch: true });
    const replacement = options.requiredString('replacement');
    let parts: ReplacementPart[] = [];
    if (pattern !== undefined && options.has('replacement')) {
      const parsed = parseJavaReplacement(replacement, pattern);
      if (parsed.ok) parts = parsed.value;
      else options.invalid('replacement', replacement, parsed.message);
    }
    const regex = pattern?.regex;
    return (record) => {
      const match = regex?.exec(record.topic);
      if (!match) return record;
      const topic = renderReplacement(parts, match);
      return topic === record.topic ? record : { ...record, topic };
    };
  },
};
