import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TopicNotFoundError } from '../../../runtime/log/errors.ts';
import { InvalidTopicError } from '../../../runtime/log/local/errors.ts';
import { LocalLog } from '../../../runtime/log/local/local-log.ts';
import { recordingLogger, tempDir } from './local-helpers.ts';

describe('topic metadata', () => {
  it('refuses invalid names and settings before touching the disk', async () => {
    const dataDir = await tempDir('topics-invalid');
    const log = await LocalLog.open({ dataDir });
    try {
      for (const spec of [
        { name: 'a/b', partitions: 1 },
        { name: '.hidden', partitions: 1 },
        { name: 'x'.repeat(250), partitions: 1 },
        { name: 'ok', partitions: 0 },
        { name: 'ok', partitions: 1, segmentBytes: 0 },
        { name: 'ok', partitions: 1, minCleanableDirtyRatio: 2 },
      ]) {
        await assert.rejects(
          log.createTopic({ cleanupPolicy: 'delete', ...spec }),
          (error: unknown) => error instanceof InvalidTopicError,
          JSON.stringify(spec),
        );
      }
      assert.deepEqual(
        (await readdir(dataDir)).filter((name) => !name.startsWith('.')),
        [],
      );
    } finally {
      await log.close();
    }
  });

  it('keeps settings across a restart; deleting removes files and committed offsets', async () => {
    const dataDir = await tempDir('topics');
    let log = await LocalLog.open({ dataDir });
    await log.createTopic({
      name: 'keep',
      partitions: 2,
      cleanupPolicy: 'compact',
      deleteRetentionMs: 5,
    });
    await log.createTopic({ name: 'drop', partitions: 3, cleanupPolicy: 'delete' });
    await log.append('drop', [{ key: Buffer.from('k'), value: Buffer.from('v') }]);
    const consumer = await log.consumer({ groupId: 'g', topics: ['drop'], startFrom: 'earliest' });
    await consumer.commit(consumer.assignment().map((tp) => ({ ...tp, offset: 0 })));
    await consumer.close();
    await log.close();

    log = await LocalLog.open({ dataDir });
    try {
      assert.deepEqual(await log.listTopics(), ['drop', 'keep']);
      assert.deepEqual(await log.describeTopic('keep'), {
        name: 'keep',
        partitions: 2,
        cleanupPolicy: 'compact',
      });
      assert.equal((await log.committedOffsets('g', 'drop')).length, 3);
      await log.deleteTopic('drop');
      await assert.rejects(access(join(dataDir, 'drop')));
      assert.deepEqual(await log.committedOffsets('g', 'drop'), []);
      await assert.rejects(
        log.append('drop', [{ key: null, value: null }]),
        (error: unknown) => error instanceof TopicNotFoundError,
      );
      await assert.rejects(log.deleteTopic('drop'), TopicNotFoundError);
    } finally {
      await log.close();
    }
  });

  it('on open, removes an interrupted creation but leaves a foreign directory alone', async () => {
    const dataDir = await tempDir('topics-leftovers');
    await mkdir(join(dataDir, 'half-created', '0'), { recursive: true });
    await mkdir(join(dataDir, 'half-created', '1'), { recursive: true });
    await mkdir(join(dataDir, 'backup'));
    await writeFile(join(dataDir, 'backup', 'precious.txt'), 'do not delete');
    const logger = recordingLogger();
    const log = await LocalLog.open({ dataDir, logger });
    try {
      assert.deepEqual(await log.listTopics(), []);
      await assert.rejects(access(join(dataDir, 'half-created')));
      await access(join(dataDir, 'backup', 'precious.txt'));
      await assert.rejects(
        log.createTopic({ name: 'backup', partitions: 1, cleanupPolicy: 'delete' }),
        /exists and is not a topic/,
      );
      assert.equal(logger.lines.filter((l) => l.level === 'warn').length, 2);
    } finally {
      await log.close();
    }
  });
});
