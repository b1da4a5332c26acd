// The plugin object, its JSON Schema (compiled by the runtime's strict ajv setup) and the typed
// config: defaults as Confluent's connector, case-insensitive enums, topic→index mappings.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { parseFlatConfig } from '../../../runtime/config/flat-config.ts';
import { SchemaCompiler } from '../../../runtime/config/json-schema.ts';
import { mergeConnectorSchema } from '../../../runtime/config/connector-config.ts';
import { elasticsearchSinkPlugin } from '../../../connectors/elasticsearch/index.ts';
import { parseSinkConfig } from '../../../connectors/elasticsearch/config.ts';
import { ElasticsearchSinkConnector } from '../../../connectors/elasticsearch/connector.ts';
import {
  indexNameProblem,
  IndexResolver,
  parseTopicIndexMap,
} from '../../../connectors/elasticsearch/index-name.ts';

const compiler = new SchemaCompiler();
const parse = (raw: Record<string, string>) =>
  parseFlatConfig(elasticsearchSinkPlugin.configSchema, raw, compiler);

test('the plugin: class names and a schema the runtime compiles', () => {
  assert.equal(elasticsearchSinkPlugin.kind, 'sink');
  assert.equal(
    elasticsearchSinkPlugin.className,
    'io.kafki.connectors.elasticsearch.ElasticsearchSinkConnector',
  );
  assert.deepEqual(elasticsearchSinkPlugin.aliases, [
    'elasticsearch',
    'io.confluent.connect.elasticsearch.ElasticsearchSinkConnector',
  ]);
  const merged = mergeConnectorSchema('sink', elasticsearchSinkPlugin.configSchema);
  assert.ok(compiler.compile(merged));
  for (const [key, property] of Object.entries(elasticsearchSinkPlugin.configSchema.properties)) {
    for (const annotation of ['x-importance', 'x-group', 'x-order', 'x-display-name']) {
      assert.ok(property[annotation] !== undefined, `${key} lacks ${annotation}`);
    }
  }
  assert.equal(
    elasticsearchSinkPlugin.configSchema.properties['connection.password']?.['x-secret'],
    true,
  );
});

test('defaults mirror the Confluent connector', () => {
  const result = parse({ 'connection.url': 'http://es:9200' });
  assert.deepEqual(result.errors, []);
  const { config, errors } = parseSinkConfig(result.values);
  assert.deepEqual(errors, []);
  assert.deepEqual(config.urls, ['http://es:9200']);
  assert.equal(config.batchSize, 2000);
  assert.equal(config.bulkSizeBytes, 5 * 1024 * 1024);
  assert.equal(config.maxInFlightRequests, 5);
  assert.equal(config.maxBufferedRecords, 20000);
  assert.equal(config.lingerMs, 1);
  assert.equal(config.flushTimeoutMs, 180000);
  assert.equal(config.maxRetries, 5);
  assert.equal(config.retryBackoffMs, 100);
  assert.equal(config.connectionTimeoutMs, 1000);
  assert.equal(config.readTimeoutMs, 3000);
  assert.equal(config.keyIgnore, false);
  assert.equal(config.schemaIgnore, false);
  assert.equal(config.nullValues, 'fail');
  assert.equal(config.malformedDocuments, 'fail');
  assert.equal(config.writeMethod, 'insert');
  assert.equal(config.versionField, '__lsn');
  assert.equal(config.versionFallback, 'offset');
  assert.equal(config.username, undefined);
});

test('strings are coerced, enums are case-insensitive, mappings parsed and lower-cased', () => {
  const result = parse({
    'connection.url': 'http://a:9200, https://b:9200',
    'batch.size': '10',
    'key.ignore': 'true',
    'behavior.on.null.values': 'DELETE',
    'behavior.on.malformed.documents': 'WARN',
    'write.method': 'UPSERT',
    'topic.to.index.map': 'pg.public.orders:Orders, other:idx2',
    'external.resource.usage': 'INDEX',
    'topic.to.external.resource.mapping': 'x:alias_x,other:ignored',
    'topic.key.ignore': 'a,b',
    'external.version.field': '',
    'index.gc.deletes': '10m',
  });
  assert.deepEqual(result.errors, []);
  const { config, errors } = parseSinkConfig(result.values);
  assert.deepEqual(errors, []);
  assert.deepEqual(config.urls, ['http://a:9200', 'https://b:9200']);
  assert.equal(config.batchSize, 10);
  assert.equal(config.keyIgnore, true);
  assert.equal(config.nullValues, 'delete');
  assert.equal(config.malformedDocuments, 'warn');
  assert.equal(config.writeMethod, 'upsert');
  assert.deepEqual(
    [...config.topicToIndex],
    [
      ['pg.public.orders', 'orders'],
      ['other', 'idx2'],
      ['x', 'alias_x'],
    ],
  );
  assert.deepEqual([...config.topicKeyIgnore], ['a', 'b']);
  assert.equal(config.versionField, undefined);
  assert.equal(config.indexGcDeletes, '10m');
});

test('bad values are reported per field', () => {
  const result = parse({
    'connection.url': 'http://es:9200',
    'batch.size': '0',
    'behavior.on.null.values': 'drop',
  });
  assert.deepEqual(result.errors.map((error) => error.field).sort(), [
    'batch.size',
    'behavior.on.null.values',
  ]);
  const semantic = parseSinkConfig({
    'connection.url': ['ftp://es'],
    'topic.to.index.map': ['nocolon', 'a:_bad'],
    'external.resource.usage': 'DATASTREAM',
  });
  assert.deepEqual(
    semantic.errors.map((error) => error.field),
    ['connection.url', 'external.resource.usage', 'topic.to.index.map', 'topic.to.index.map'],
  );
  assert.match(semantic.errors[3]!.message, /index '_bad' for topic 'a'.*cannot start with '_'/);
  assert.deepEqual(
    parseSinkConfig({}).errors.map((error) => error.field),
    ['connection.url'],
  );
});

test('index names: Elasticsearch rules', () => {
  assert.equal(indexNameProblem('dbserver1.inventory.customers'), undefined);
  assert.equal(indexNameProblem('Upper'), 'it must be lowercase');
  assert.match(indexNameProblem('-x')!, /cannot start with '-'/);
  assert.match(indexNameProblem('+x')!, /cannot start with '\+'/);
  assert.match(indexNameProblem('a b')!, /cannot contain ' '/);
  assert.match(indexNameProblem('a:b')!, /cannot contain ':'/);
  assert.match(indexNameProblem('a*')!, /cannot contain '\*'/);
  assert.match(indexNameProblem('..')!, /cannot be '\.\.'/);
  assert.match(indexNameProblem('x'.repeat(256))!, /longer than 255 bytes/);
  assert.equal(indexNameProblem(''), 'it is empty');
  const resolver = new IndexResolver(parseTopicIndexMap(['Special:target']).map);
  assert.equal(resolver.indexFor('Special'), 'target');
  assert.equal(resolver.indexFor('PG.Public.Orders'), 'pg.public.orders');
  assert.throws(() => resolver.indexFor('a#b'), /'a#b'.*cannot contain '#'.*topic\.to\.index\.map/);
  assert.deepEqual(parseTopicIndexMap(['a:x', 'a:y']).problems, ["topic 'a' is mapped twice"]);
});

test('the connector hands every task the whole configuration', async () => {
  const connector = new ElasticsearchSinkConnector();
  const values = parse({
    'connection.url': 'http://a:9200,http://b:9200',
    'batch.size': '7',
  }).values;
  await connector.start(values, {
    connectorName: 'es',
    logger: undefined as never,
    requestTaskReconfiguration: () => {},
    raiseError: () => {},
  });
  const tasks = await connector.taskConfigs(3);
  assert.equal(tasks.length, 3);
  assert.equal(tasks[0]!['connection.url'], 'http://a:9200,http://b:9200');
  assert.equal(tasks[2]!['batch.size'], '7');
  const again = parseSinkConfig(parse(tasks[1]!).values);
  assert.deepEqual(again.errors, []);
  assert.equal(again.config.batchSize, 7);
  await assert.rejects(
    new ElasticsearchSinkConnector().start({ 'connection.url': ['nope'] }, undefined as never),
    /connection\.url: 'nope' is not an http/,
  );
});

test('validateLive reports an unreachable Elasticsearch on connection.url', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const errors = await new ElasticsearchSinkConnector().validateLive(
    parse({ 'connection.url': `http://127.0.0.1:${port}` }).values,
  );
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.field, 'connection.url');
  assert.match(
    errors[0]!.message,
    /Could not reach Elasticsearch at http:\/\/127\.0\.0\.1:\d+: ConnectionError/,
  );
});
