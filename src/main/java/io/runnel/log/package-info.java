/**
 * The partition log: plain Java NIO and kafka-clients record classes, no Vert.x.
 *
 * <p>On disk a partition is one directory in Kafka's layout: {@code %020d.log} segments of v2 record
 * batches stored exactly as the producer sent them (offsets and leader epoch assigned in place), their
 * sparse {@code .index} (8-byte entries) and {@code .timeindex} (12-byte entries), the aborted
 * transactions whose marker lies in the segment in {@code .txnindex} (34-byte entries, only once there is
 * one: {@code TransactionIndex}), Kafka's {@code leader-epoch-checkpoint}, {@code %020d.snapshot}
 * producer-state snapshots in Kafka's format (with each producer's open transaction), and our own
 * {@code clean-shutdown} marker. As in Kafka, the recovery point and log start offset of every log of a
 * log directory are in that directory's {@code recovery-point-offset-checkpoint} and
 * {@code log-start-offset-checkpoint} ({@link io.runnel.log.LogDirCheckpoints}), written periodically and
 * at shutdown rather than per partition on every change.
 *
 * <p>Classes, as Kafka's storage module splits its log: {@link io.runnel.log.PartitionLog} is the log of
 * one partition and keeps append (and roll), read and truncation; {@code LogLoader} opens a directory and
 * recovers it after a crash; {@code LogSegments} is the concurrent set of segments by base offset;
 * {@code LogRetention} owns the log start offset and removes segments below it (retention.ms,
 * retention.bytes, DeleteRecords, file.delete.delay.ms); {@code LogFlusher} decides flushes
 * (flush.messages, flush.ms) and keeps the recovery point; {@link io.runnel.log.LogDirCheckpoints} holds
 * the recovery points and log start offsets of a log directory's logs; {@code LogSegment} with its
 * {@code OffsetIndex} and {@code TimeIndex} is one segment, and its {@code VerifiedRanges} the byte ranges
 * whose CRCs were checked (a segment trusted at load is checked by its first reads, so a batch damaged on
 * disk is never served); {@code Cleaner}, {@code LogCleaner},
 * {@code LogCleanerManager} and {@code CleanerRecovery} compact.
 *
 * <p>Threading, once for the package: each {@link io.runnel.log.PartitionLog} has one writer, the
 * partition's owner, on a context allowed to block on the disk; all mutation (append, roll, truncate,
 * retention, flush, close) happens there. Readers on any thread go through the log's published end
 * (a volatile (offset, segment, position) written after the bytes), the concurrent segment map and the
 * indexes' volatile entry counts, so they see only whole batches and never take a lock. Internal classes
 * ({@code LogSegments}, {@code LogSegment}, {@code OffsetIndex}, {@code TimeIndex},
 * {@code ProducerStateManager}, {@code LeaderEpochCache}, {@code LogRetention}, {@code LogFlusher}) state
 * which of their methods a reader may call; {@code LogLoader} runs before the log exists for anyone else.
 *
 * <p>Transactions: {@code ProducerStateManager} keeps each producer's open transaction and the first
 * unstable offset, which {@link io.runnel.log.PartitionLog#lastStableOffset} bounds by the high watermark
 * for read_committed reads; aborted transactions go to the {@code .txnindex} of the segment written when
 * their ABORT marker is appended (leader and follower alike), are rebuilt by the loader's producer-state
 * replay after a crash, cut by truncation, and follow their segment through retention and cleaning.
 *
 * <p>Compaction: the {@link io.runnel.log.LogCleaner} runs on threads of its own. It reads inactive
 * segments like any reader, writes {@code .cleaned} segments beside them, and hands each one to the
 * owner, which swaps it in ({@code .swap}, old segments {@code .deleted}) in a few renames; an interrupted
 * swap is completed or discarded when the log is loaded. How far each log is clean is kept in the log
 * directory's {@code cleaner-offset-checkpoint}.
 *
 * <p>Errors: validation failures are kafka-clients {@code ApiException}s and leave the log untouched; any
 * I/O failure goes through {@code StorageErrors}, becomes a {@code KafkaStorageException}, takes the
 * log offline for writes and, through the {@code LogDirFailureChannel}, its whole log directory (Kafka's JBOD).
 */
package io.runnel.log;
