// The Kafki log: the one interface sources append to and sinks read from. Two backends implement
// it — `kafka` (Apache Kafka through kafkajs, the distributed engine) and `local` (embedded segment
// files, one machine). Nothing outside runtime/log/ knows which one it is talking to.
//
// Offsets are plain numbers (safe up to 2^53, far beyond any partition's life). A committed
// consumer offset, like Kafka's, is the offset of the NEXT record to read.

export type CleanupPolicy = 'delete' | 'compact';

export interface TopicSpec {
  name: string;
  partitions: number;
  cleanupPolicy: CleanupPolicy;
  /** Kafka only; the local backend keeps one copy. Default: the backend's default. */
  replicationFactor?: number;
  /** Delete policy: drop whole segments older than this. -1 or absent keeps forever. */
  retentionMs?: number;
  /** Delete policy: keep at most this many bytes per partition. -1 or absent: unbounded. */
  retentionBytes?: number;
  /** Compact policy: how long a tombstone stays readable before compaction removes its key. */
  deleteRetentionMs?: number;
  /** Roll a new segment after this many bytes / this much time (only closed segments are cleaned). */
  segmentBytes?: number;
  segmentMs?: number;
  /** Compact policy: clean once this share of a partition is superseded records (Kafka's default 0.5). */
  minCleanableDirtyRatio?: number;
}

export interface TopicDescription {
  name: string;
  partitions: number;
  cleanupPolicy: CleanupPolicy;
}

export type LogHeaders = Record<string, Buffer>;

export interface LogRecord {
  /** Records with the same key always land in the same partition (Kafka's murmur2 hash). */
  key: Buffer | null;
  /** null is a tombstone: on a compacted topic it removes the key. */
  value: Buffer | null;
  headers?: LogHeaders;
  /** Milliseconds since the epoch; defaults to the append time. */
  timestamp?: number;
  /** Overrides the key hash. */
  partition?: number;
  /**
   * Keep this record and the next one of the same partition in this append together: both are
   * kept or both lost after a crash (a primary-key update's delete and create, which a sink must
   * see together). Kafka writes an append's records of one partition as one batch anyway; the
   * local log does not end a batch here, up to its largest batch size.
   */
  joinsNext?: boolean;
}

export interface AppendedRecord {
  partition: number;
  offset: number;
}

export interface StoredRecord {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: LogHeaders;
  timestamp: number;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** A position in a partition: the offset of the next record to read. */
export interface PartitionOffset extends TopicPartition {
  offset: number;
}

export interface PartitionRange {
  partition: number;
  /** First offset still stored (after retention). */
  start: number;
  /** Offset the next appended record will get (Kafka's high watermark). */
  end: number;
}

export interface ReadOptions {
  /** Return after this many records at most. */
  maxRecords?: number;
  /** Return after about this many bytes (at least one record is always returned). */
  maxBytes?: number;
  /** Long poll: wait this long for data when there is none yet. Default 0. */
  maxWaitMs?: number;
}

export interface GroupConsumerOptions {
  groupId: string;
  topics: string[];
  /** Where a partition without a committed offset starts. */
  startFrom: 'earliest' | 'latest';
}

export interface RebalanceEvent {
  assigned: TopicPartition[];
  revoked: TopicPartition[];
}

/**
 * One member of a consumer group. The group spreads the topics' partitions over its members and
 * moves them when a member joins or leaves. Records returned by poll() always belong to
 * partitions assigned to this member at that moment, in offset order per partition.
 */
export interface GroupConsumer {
  readonly groupId: string;
  /** Next records from the assigned partitions; [] when none arrived within maxWaitMs. */
  poll(options?: ReadOptions): Promise<StoredRecord[]>;
  /**
   * Durably record positions (next offset to read) for assigned partitions. Committing a
   * partition this member does not own fails with PartitionNotAssignedError.
   */
  commit(offsets: readonly PartitionOffset[]): Promise<void>;
  /** Restart reading an assigned partition from an offset (e.g. after a failed put). */
  seek(position: PartitionOffset): void;
  assignment(): TopicPartition[];
  /** Called on every assignment change, after revoked partitions stopped being returned. */
  onRebalance(listener: (event: RebalanceEvent) => void): void;
  close(): Promise<void>;
}

export interface KafkiLog {
  readonly backend: 'kafka' | 'local';
  /** Idempotent: an existing topic is left as it is and reported as 'exists'. */
  createTopic(spec: TopicSpec): Promise<'created' | 'exists'>;
  describeTopic(name: string): Promise<TopicDescription | undefined>;
  listTopics(): Promise<string[]>;
  deleteTopic(name: string): Promise<void>;
  /**
   * Append a batch. Resolves only once every record is durable (Kafka: acks=all; local: fsynced
   * under the configured policy), with each record's partition and offset in input order.
   * Fails with TopicNotFoundError or RecordTooLargeError naming the topic or the limit.
   */
  append(topic: string, records: readonly LogRecord[]): Promise<AppendedRecord[]>;
  /** Records from an offset on, in order. An offset below the partition's start fails with OffsetOutOfRangeError. */
  read(
    topic: string,
    partition: number,
    offset: number,
    options?: ReadOptions,
  ): Promise<StoredRecord[]>;
  offsets(topic: string): Promise<PartitionRange[]>;
  /** Join a consumer group as a new member. */
  consumer(options: GroupConsumerOptions): Promise<GroupConsumer>;
  committedOffsets(groupId: string, topic: string): Promise<PartitionOffset[]>;
  close(): Promise<void>;
}
