// Topic → index: an explicit mapping (topic.to.index.map, or Confluent's
// topic.to.external.resource.mapping) or the topic itself, lower-cased, then checked against
// Elasticsearch's index naming rules so a bad name fails with a message that says how to fix it
// instead of a bulk error per document.

import { InvalidRecordError } from './errors.ts';

const forbidden = /[\\/*?"<>| ,#:]/;

/** Why Elasticsearch would refuse this index name, or undefined when it is fine. */
export function indexNameProblem(name: string): string | undefined {
  if (name === '') return 'it is empty';
  if (name !== name.toLowerCase()) return 'it must be lowercase';
  if (name === '.' || name === '..') return `it cannot be '${name}'`;
  if (/^[-_+]/.test(name)) return `it cannot start with '${name[0]}'`;
  const bad = forbidden.exec(name);
  if (bad) {
    return `it cannot contain '${bad[0]}' (forbidden: \\ / * ? " < > | space , # :)`;
  }
  if (Buffer.byteLength(name, 'utf8') > 255) return 'it is longer than 255 bytes';
  return undefined;
}

/**
 * Parse "topicA:indexA,topicB:indexB". Kafka topic names cannot contain ':' and index names
 * cannot either, so the first ':' separates them. Index names are lower-cased.
 */
export function parseTopicIndexMap(entries: readonly string[]): {
  map: Map<string, string>;
  problems: string[];
} {
  const map = new Map<string, string>();
  const problems: string[] = [];
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === '') continue;
    const colon = entry.indexOf(':');
    if (colon <= 0 || colon === entry.length - 1) {
      problems.push(`'${entry}' is not of the form topic:index`);
      continue;
    }
    const topic = entry.slice(0, colon).trim();
    const index = entry
      .slice(colon + 1)
      .trim()
      .toLowerCase();
    const problem = indexNameProblem(index);
    if (problem !== undefined) {
      problems.push(`index '${index}' for topic '${topic}' is not a valid index name: ${problem}`);
      continue;
    }
    if (map.has(topic) && map.get(topic) !== index) {
      problems.push(`topic '${topic}' is mapped twice`);
      continue;
    }
    map.set(topic, index);
  }
  return { map, problems };
}

/** Index name per topic, computed and checked once per topic. */
export class IndexResolver {
  private readonly cache = new Map<string, string>();

  constructor(private readonly mapping: ReadonlyMap<string, string>) {}

  indexFor(topic: string): string {
    let index = this.cache.get(topic);
    if (index !== undefined) return index;
    index = this.mapping.get(topic) ?? topic.toLowerCase();
    const problem = indexNameProblem(index);
    if (problem !== undefined) {
      throw new InvalidRecordError(
        `Topic '${topic}' gives the index name '${index}', which Elasticsearch refuses: ${problem}. ` +
          `Map the topic to a valid index with topic.to.index.map (e.g. "${topic}:my-index").`,
      );
    }
    this.cache.set(topic, index);
    return index;
  }
}
