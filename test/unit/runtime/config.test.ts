import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigResolver,
  defaultConfigProviderSettings,
} from '../../../runtime/config/config-providers.ts';
import { maskSecrets, parseFlatConfig } from '../../../runtime/config/flat-config.ts';
import { SchemaCompiler } from '../../../runtime/config/json-schema.ts';
import { parseProperties } from '../../../runtime/config/properties.ts';
import {
  loadWorkerConfig,
  parseWorkerConfig,
  WorkerConfigError,
} from '../../../runtime/config/worker-config.ts';
import { loadConnectorConfigFile } from '../../../runtime/config/connector-config-file.ts';
import type { ConfigSchema } from '../../../runtime/api/config.ts';

const schema: ConfigSchema = {
  type: 'object',
  properties: {
    host: { type: 'string' },
    port: { type: 'integer', minimum: 1, maximum: 65535, default: 5432 },
    ratio: { type: 'number' },
    ssl: { type: 'boolean', default: false },
    tables: { type: 'array', default: [] },
    mode: { type: 'string', enum: ['initial', 'never'], default: 'initial' },
    password: { type: 'string', 'x-secret': true },
  },
  required: ['host'],
};

describe('flat config parsing', () => {
  const compiler = new SchemaCompiler();

  it('coerces strings to the declared types and fills defaults', () => {
    const result = parseFlatConfig(
      schema,
      { host: 'db', port: ' 6543 ', ratio: '0.5', ssl: 'TRUE', tables: 'a, b,,c' },
      compiler,
    );
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.values, {
      host: 'db',
      port: 6543,
      ratio: 0.5,
      ssl: true,
      tables: ['a', 'b', 'c'],
      mode: 'initial',
    });
  });

  it('reports every problem at once, per key, in Kafka Connect wording, and lists unknown keys', () => {
    const result = parseFlatConfig(
      schema,
      { port: 'abc', ssl: 'yes', mode: 'sometimes', ratio: '', extra: 'x', password: 'p' },
      compiler,
    );
    const byField = Object.fromEntries(result.errors.map((error) => [error.field, error.message]));
    assert.equal(
      byField.port,
      'Invalid value abc for configuration port: Not a number of type INT',
    );
    assert.equal(
      byField.ssl,
      'Invalid value yes for configuration ssl: Expected value to be either true or false',
    );
    assert.equal(
      byField.mode,
      'Invalid value sometimes for configuration mode: String must be one of: initial, never',
    );
    assert.match(byField.ratio!, /Not a number of type DOUBLE/);
    assert.equal(byField.host, 'Missing required configuration "host" which has no default value.');
    assert.equal(result.errors.length, 5);
    assert.deepEqual(result.unknownKeys, ['extra']);
  });

  it('checks bounds and never echoes a secret value in an error', () => {
    const result = parseFlatConfig(schema, { host: 'db', port: '70000', password: '' }, compiler);
    assert.deepEqual(result.errors, [
      {
        field: 'port',
        message: 'Invalid value 70000 for configuration port: Value must be no more than 65535',
      },
    ]);
    const secretSchema: ConfigSchema = {
      type: 'object',
      properties: { token: { type: 'integer', 'x-secret': true } },
    };
    const secret = parseFlatConfig(secretSchema, { token: 's3cr3t' }, compiler);
    assert.ok(!secret.errors[0]!.message.includes('s3cr3t'));
    assert.match(secret.errors[0]!.message, /\[hidden\]/);
    assert.deepEqual(maskSecrets(schema, { host: 'db', password: 'p' }), {
      host: 'db',
      password: '[hidden]',
    });
  });
});

describe('config providers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kafki-providers-'));
  writeFileSync(
    join(dir, 'db.properties'),
    '# secrets\ndb.password = s3cr3t\nuser:admin\nmulti = a\\\n   b\nunicode=\\u00e9t\\u00e9\n',
  );
  writeFileSync(join(dir, 'db.json'), JSON.stringify({ password: 'j', nested: { port: 5 } }));
  const resolver = new ConfigResolver(defaultConfigProviderSettings, {
    PG_HOST: 'pg.local',
    EMPTY: '',
  });

  it('parses Java properties files', () => {
    const properties = parseProperties('a=1\n! comment\nb : two words\nc\\ d=e\nf=g\\\n  h\n');
    assert.deepEqual(Object.fromEntries(properties), {
      a: '1',
      b: 'two words',
      'c d': 'e',
      f: 'gh',
    });
  });

  it('resolves ${env:…} and ${file:PATH:KEY} (properties and JSON), inside longer values too', async () => {
    const { config, errors } = await resolver.resolve({
      host: '${env:PG_HOST}',
      url: 'postgres://${file:' + join(dir, 'db.properties') + ':user}@${env:PG_HOST}/db',
      password: '${file:' + join(dir, 'db.properties') + ':db.password}',
      json: '${file:' + join(dir, 'db.json') + ':nested.port}',
      multi: '${file:' + join(dir, 'db.properties') + ':multi}',
      unicode: '${file:' + join(dir, 'db.properties') + ':unicode}',
      empty: '${env:EMPTY}',
      plain: 'no references',
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(config, {
      host: 'pg.local',
      url: 'postgres://admin@pg.local/db',
      password: 's3cr3t',
      json: '5',
      multi: 'ab',
      unicode: 'été',
      empty: '',
      plain: 'no references',
    });
  });

  it('names the key and the reference of every bad reference', async () => {
    const missingFile = join(dir, 'nope.properties');
    const { errors } = await resolver.resolve({
      a: '${env:NOT_SET}',
      b: '${file:' + missingFile + ':x}',
      c: '${file:' + join(dir, 'db.properties') + ':missing.key}',
      d: '${vault:secret/x:y}',
    });
    assert.equal(errors.length, 4);
    assert.match(
      errors[0]!.message,
      /Cannot resolve \$\{env:NOT_SET\} in configuration a: environment variable NOT_SET is not set/,
    );
    assert.equal(errors[1]!.field, 'b');
    assert.match(errors[1]!.message, /cannot read .*nope\.properties \(ENOENT\)/);
    assert.match(errors[2]!.message, /key "missing.key" not found/);
    assert.match(errors[3]!.message, /config provider "vault" is not enabled/);
  });

  it('honours the env allowlist and the file allowed paths', async () => {
    const strict = new ConfigResolver(
      {
        enabled: ['env', 'file'],
        envAllowlistPattern: 'PG_.*',
        fileAllowedPaths: ['/nonexistent-dir'],
      },
      { PG_HOST: 'h', HOME: '/root' },
    );
    const { config, errors } = await strict.resolve({
      a: '${env:PG_HOST}',
      b: '${env:HOME}',
      c: '${file:' + join(dir, 'db.json') + ':password}',
    });
    assert.equal(config.a, 'h');
    assert.deepEqual(
      errors.map((e) => e.field),
      ['b', 'c'],
    );
    assert.match(errors[1]!.message, /outside config.providers.file.allowed.paths/);
  });

  it('puts references back into task configs derived from the resolved config', () => {
    const raw = { password: '${env:PW}', host: 'h' };
    const resolved = { password: 'secret', host: 'h' };
    assert.deepEqual(
      resolver.reverse(raw, resolved, { password: 'secret', host: 'h', table: 't' }),
      {
        password: '${env:PW}',
        host: 'h',
        table: 't',
      },
    );
  });
});

describe('worker config', () => {
  it('applies defaults, coerces strings and resolves env references', async () => {
    const config = await parseWorkerConfig(
      {
        'log.dir': '${env:DATA}',
        'offset.flush.interval.ms': '250',
        listeners: 'http://0.0.0.0:9999',
        'rest.auth.token': 't0k',
      },
      { env: { DATA: '/var/kafki' } },
    );
    assert.equal(config.log.dir, '/var/kafki');
    assert.equal(config.log.backend, 'local');
    assert.equal(config.tasks.offsetFlushIntervalMs, 250);
    assert.equal(config.workerId, '0.0.0.0:9999');
    assert.equal(config.storage.offsetPartitions, 25);
    assert.equal(config.converters.value, 'org.apache.kafka.connect.json.JsonConverter');
    assert.deepEqual(config.configProviders.enabled, ['env', 'file']);
    assert.equal(config.rest.authToken, 't0k');
    assert.deepEqual(config.cluster, { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000 });
  });

  it('refuses a heartbeat too long for the session timeout (distributed mode)', async () => {
    await assert.rejects(
      parseWorkerConfig({ 'session.timeout.ms': '3000', 'heartbeat.interval.ms': '1500' }),
      /heartbeat\.interval\.ms: 1500 is too long for session\.timeout\.ms=3000/,
    );
    const fine = await parseWorkerConfig({
      'session.timeout.ms': 3000,
      'heartbeat.interval.ms': 1000,
    });
    assert.equal(fine.cluster.heartbeatIntervalMs, 1000);
  });

  it('refuses unknown keys, wrong types and bad references, all in one error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kafki-worker-'));
    const path = join(dir, 'worker.json');
    writeFileSync(
      path,
      JSON.stringify({
        'log.backend': 'nfs',
        'offset.flush.interval.ms': 'soon',
        'no.such.key': 1,
        'log.dir': '${env:UNSET_VAR}',
      }),
    );
    await assert.rejects(loadWorkerConfig(path, { env: {} }), (error: unknown) => {
      assert.ok(error instanceof WorkerConfigError);
      assert.equal(error.errors.length, 4);
      assert.match(error.message, /log\.backend: .*String must be one of: local, kafka/);
      assert.match(error.message, /offset\.flush\.interval\.ms: .*Not a number/);
      assert.match(error.message, /no\.such\.key: Unknown configuration no\.such\.key/);
      assert.match(error.message, /UNSET_VAR is not set/);
      return true;
    });
  });
});

describe('connector config files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kafki-connector-files-'));
  it('reads the REST body form, the flat form and .properties', async () => {
    writeFileSync(
      join(dir, 'a.json'),
      JSON.stringify({ name: 'a', config: { 'connector.class': 'X', 'tasks.max': 2 } }),
    );
    writeFileSync(join(dir, 'b.json'), JSON.stringify({ name: 'b', 'connector.class': 'X' }));
    writeFileSync(join(dir, 'c.properties'), 'name=c\nconnector.class=X\n');
    assert.deepEqual(await loadConnectorConfigFile(join(dir, 'a.json')), {
      name: 'a',
      config: { 'connector.class': 'X', 'tasks.max': '2', name: 'a' },
    });
    assert.deepEqual(await loadConnectorConfigFile(join(dir, 'b.json')), {
      name: 'b',
      config: { name: 'b', 'connector.class': 'X' },
    });
    assert.deepEqual(await loadConnectorConfigFile(join(dir, 'c.properties')), {
      name: 'c',
      config: { name: 'c', 'connector.class': 'X' },
    });
    writeFileSync(join(dir, 'd.json'), JSON.stringify({ 'connector.class': 'X' }));
    await assert.rejects(loadConnectorConfigFile(join(dir, 'd.json')), /has no connector "name"/);
  });
});
