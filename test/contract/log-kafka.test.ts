// The log contract against the real Kafka broker the harness runs (test/services/kafka.ts).

import { KafkaLog } from '../../runtime/log/kafka/index.ts';
import { serviceAddresses } from '../services/addresses.ts';
import { describeLogContract } from './log-contract.ts';

describeLogContract('kafka', {
  open: () =>
    KafkaLog.open({ brokers: serviceAddresses().kafkaBrokers, clientId: 'kafki-contract' }),
  // Kafka's log cleaner runs every log.cleaner.backoff.ms (the harness sets 1 s) and removes a
  // tombstone only on a second pass after delete.retention.ms.
  compactionTimeoutMs: 90_000,
});
