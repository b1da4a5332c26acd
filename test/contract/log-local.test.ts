// The log contract over the local backend: a fresh data directory per run, reopened in place to
// simulate a restart.

import { after } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeLogContract } from './log-contract.ts';
import { LocalLog } from '../../runtime/log/local/local-log.ts';

const dataDir = await mkdtemp(join(tmpdir(), 'kafki-local-contract-'));
after(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describeLogContract('local', {
  open: () =>
    LocalLog.open({
      dataDir,
      fsync: 'always',
      // Compaction is triggered by every roll; the timer is only a backstop here.
      cleanerIntervalMs: 200,
    }),
  compactionTimeoutMs: 15_000,
});
