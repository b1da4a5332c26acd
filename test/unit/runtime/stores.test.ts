// The store contract, run against the memory backend and against the local log (a compacted topic
// on disk, reopened to simulate a worker restart).

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalLog } from '../../../runtime/log/local/local-log.ts';
import type { KafkiLog } from '../../../runtime/log/log.ts';
import { createLogConfigStore, KeyedConfigStore } from '../../../runtime/storage/config-store.ts';
import type { ConfigStore } from '../../../runtime/storage/config-store.ts';
import { MemoryKeyedBackend } from '../../../runtime/storage/keyed-backend.ts';
import { createLogOffsetStore, KeyedOffsetStore } from '../../../runtime/storage/offset-store.ts';
import type { OffsetStore } from '../../../runtime/storage/offset-store.ts';
import { createLogStatusStore, KeyedStatusStore } from '../../../runtime/storage/status-store.ts';
import type { StatusStore } from '../../../runtime/storage/status-store.ts';

interface Stores {
  config: ConfigStore;
  offsets: OffsetStore;
  status: StatusStore;
}

interface Backend {
  name: string;
  /** Open the stores over the same storage (a second call is a restart). */
  open(): Promise<Stores>;
  close(stores: Stores): Promise<void>;
  cleanup(): Promise<void>;
}

function memoryBackend(): Backend {
  const config = new MemoryKeyedBackend();
  const offsets = new MemoryKeyedBackend();
  const status = new MemoryKeyedBackend();
  return {
    name: 'memory',
    open: async () => {
      const stores = {
        config: new KeyedConfigStore(config),
        offsets: new KeyedOffsetStore(offsets),
        status: new KeyedStatusStore(status),
      };
      await Promise.all([stores.config.start(), stores.offsets.start(), stores.status.start()]);
      return stores;
    },
    close: async () => {},
    cleanup: async () => {},
  };
}

function localLogBackend(): Backend {
  const dir = mkdtempSync(join(tmpdir(), 'kafki-stores-'));
  let log: KafkiLog | undefined;
  return {
    name: 'local log',
    open: async () => {
      log = await LocalLog.open({ dataDir: dir, logger: { warn: () => {}, info: () => {} } });
      const stores = {
        config: createLogConfigStore(log, 'kafki-configs'),
        offsets: createLogOffsetStore(log, 'kafki-offsets', { partitions: 5 }),
        status: createLogStatusStore(log, 'kafki-status', { partitions: 3 }),
      };
      await Promise.all([stores.config.start(), stores.offsets.start(), stores.status.start()]);
      return stores;
    },
    close: async (stores) => {
      await Promise.all([stores.config.close(), stores.offsets.close(), stores.status.close()]);
      await log?.close();
    },
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

for (const make of [memoryBackend, localLogBackend]) {
  const backend = make();
  describe(`stores on ${backend.name}`, () => {
    after(() => backend.cleanup());

    it('keeps configs, target states, committed task configs, offsets and statuses across a restart', async () => {
      let stores = await backend.open();
      await stores.config.putConnectorConfig('a', { 'connector.class': 'X', name: 'a' }, 'PAUSED');
      await stores.config.putTaskConfigs('a', [{ t: '0' }, { t: '1' }]);
      await stores.config.putConnectorConfig('b', { 'connector.class': 'Y', name: 'b' });
      await stores.config.putTargetState('b', 'STOPPED');
      await stores.config.putConnectorConfig('gone', { name: 'gone' });
      await stores.config.putTaskConfigs('gone', [{}]);
      await stores.config.removeConnector('gone');
      await stores.offsets.set('a', [
        { partition: { server: 's1', db: 'x' }, offset: { lsn: 10 } },
        { partition: { server: 's2' }, offset: { lsn: 5 } },
      ]);
      // Same partition with its keys in another order: one partition, the later offset wins.
      await stores.offsets.set('a', [
        { partition: { db: 'x', server: 's1' }, offset: { lsn: 11 } },
      ]);
      await stores.offsets.set('a', [{ partition: { server: 's2' }, offset: null }]);
      await stores.status.putConnector('a', { state: 'RUNNING', workerId: 'w', generation: 3 });
      await stores.status.putTask('a', 1, {
        state: 'FAILED',
        trace: 'boom',
        workerId: 'w',
        generation: 3,
      });
      await stores.status.putTopic('a', 'topic-1', 0);
      await backend.close(stores);

      stores = await backend.open();
      assert.deepEqual(stores.config.connectorNames(), ['a', 'b']);
      assert.deepEqual(stores.config.get('a'), {
        name: 'a',
        config: { 'connector.class': 'X', name: 'a' },
        targetState: 'PAUSED',
        taskConfigs: [{ t: '0' }, { t: '1' }],
      });
      assert.equal(stores.config.get('b')?.targetState, 'STOPPED');
      assert.equal(stores.config.get('gone'), undefined);
      assert.deepEqual(stores.offsets.get('a', { server: 's1', db: 'x' }), { lsn: 11 });
      assert.equal(stores.offsets.get('a', { server: 's2' }), null);
      assert.deepEqual(stores.offsets.list('a'), [
        { partition: { db: 'x', server: 's1' }, offset: { lsn: 11 } },
      ]);
      assert.equal(stores.status.connector('a')?.state, 'RUNNING');
      assert.deepEqual(stores.status.task('a', 1), {
        state: 'FAILED',
        trace: 'boom',
        workerId: 'w',
        generation: 3,
      });
      assert.equal(stores.status.maxGeneration(), 3);
      assert.deepEqual(stores.status.topics('a'), ['topic-1']);

      // A re-created connector does not inherit the deleted one's tasks.
      await stores.config.putConnectorConfig('gone', { name: 'gone' });
      assert.deepEqual(stores.config.get('gone')?.taskConfigs, []);
      await backend.close(stores);
    });

    it('refuses a status write from an older generation', async () => {
      const stores = await backend.open();
      assert.equal(
        await stores.status.putTask('g', 0, { state: 'RUNNING', workerId: 'new', generation: 7 }),
        true,
      );
      assert.equal(
        await stores.status.putTask('g', 0, { state: 'FAILED', workerId: 'stale', generation: 6 }),
        false,
      );
      assert.equal(stores.status.task('g', 0)?.workerId, 'new');
      assert.equal(
        await stores.status.putTask('g', 0, { state: 'PAUSED', workerId: 'new', generation: 7 }),
        true,
      );
      await stores.status.deleteConnector('g');
      assert.equal(stores.status.task('g', 0), undefined);
      await backend.close(stores);
    });
  });
}

describe('config store on a torn write', () => {
  it('ignores task configs whose commit record is missing or incomplete', async () => {
    const backend = new MemoryKeyedBackend();
    const first = new KeyedConfigStore(backend);
    await first.start();
    await first.putConnectorConfig('c', { name: 'c' });
    await first.putTaskConfigs('c', [{ v: '1' }]);
    // A crash after writing the new task configs but before the commit record:
    backend.entries.push({
      key: 'task-c-0',
      value: Buffer.from(JSON.stringify({ properties: { v: '2' } })),
    });
    // …and a commit that names more tasks than were written.
    backend.entries.push({ key: 'commit-c', value: Buffer.from('{"tasks":2}') });
    const restarted = new KeyedConfigStore(backend);
    await restarted.start();
    assert.deepEqual(restarted.get('c')?.taskConfigs, [{ v: '1' }]);
  });

  it('writes target states the way Kafka Connect does', async () => {
    const backend = new MemoryKeyedBackend();
    const store = new KeyedConfigStore(backend);
    await store.putConnectorConfig('c', { name: 'c' }, 'STOPPED');
    await store.putTargetState('c', 'RUNNING');
    assert.deepEqual(
      backend.entries
        .filter((e) => e.key === 'target-state-c')
        .map((e) => JSON.parse(e.value!.toString())),
      [
        { state: 'PAUSED', 'state.v2': 'STOPPED' },
        { state: 'STARTED', 'state.v2': 'STARTED' },
      ],
    );
    assert.deepEqual(
      JSON.parse(backend.entries.find((e) => e.key === 'connector-c')!.value!.toString()),
      { properties: { name: 'c' } },
    );
  });

  it('keys offsets as JSON [connector, partition]', async () => {
    const backend = new MemoryKeyedBackend();
    const store = new KeyedOffsetStore(backend);
    await store.set('pg', [{ partition: { server: 'db1' }, offset: { lsn: 42 } }]);
    assert.equal(backend.entries[0]!.key, '["pg",{"server":"db1"}]');
    assert.equal(backend.entries[0]!.value!.toString(), '{"lsn":42}');
  });
});
