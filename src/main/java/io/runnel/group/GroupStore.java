package io.runnel.group;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.runnel.log.RecordSet;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.common.utils.Utils;

/**
 * What the parts of the group coordinator share: the groups, the load state, and the writes to
 * {@code __consumer_offsets}.
 *
 * <p>Threading: confined to the coordinator's context; the appends complete wherever the offsets log
 * completes them and hop back onto the context.
 */
final class GroupStore {

    final Vertx vertx;
    final Context context;
    final GroupConfig config;
    final OffsetsLog log;
    final Time time;
    final Map<String, ClassicGroup> groups = new HashMap<>();
    /**
     * The {@code __consumer_offsets} partitions this coordinator leads: LOADING while their log is replayed,
     * LOADED once their groups are served. Groups of any other partition are another broker's.
     */
    final Map<Integer, PartitionStatus> partitions = new HashMap<>();
    boolean closed;
    /** Offsets committed in transactions whose marker has not been applied yet. */
    final PendingTxnOffsets pendingTxnOffsets = new PendingTxnOffsets();
    /**
     * Per offsets partition, per producer: the epoch and next sequence of the transactional batches this
     * coordinator writes for it (TxnOffsetCommit), learned from the log on load. The batches carry the
     * producer's id and epoch, so that the partition's producer state fences a zombie's commit and the
     * marker ends the transaction; their sequences follow one another as the log's checks require.
     */
    final Map<Integer, Map<Long, ProducerSequence>> sequences = new HashMap<>();
    /** Per offsets partition, completes once every append made so far has completed and been applied. */
    final Map<Integer, Future<Long>> lastAppends = new HashMap<>();

    enum PartitionStatus { LOADING, LOADED }

    /** The epoch of a producer's batches in an offsets partition and the sequence its next one gets. */
    record ProducerSequence(short epoch, int next) {
    }

    GroupStore(Vertx vertx, Context context, GroupConfig config, OffsetsLog log, Time time) {
        this.vertx = vertx;
        this.context = context;
        this.config = config;
        this.log = log;
        this.time = time;
        this.partitionCount = config::offsetsTopicNumPartitions;
    }

    /** How many partitions {@code __consumer_offsets} has; see {@link GroupCoordinator#partitionCountFrom}. */
    volatile java.util.function.IntSupplier partitionCount;

    /** The {@code __consumer_offsets} partition holding the group, as Kafka computes it. */
    int partitionFor(String groupId) {
        return Utils.abs(groupId.hashCode()) % partitionCount.getAsInt();
    }

    Future<Void> appendGroupSnapshot(ClassicGroup group) {
        return append(partitionFor(group.groupId), List.of(new GroupRecord.GroupMetadata(group.groupId,
                group.snapshot()))).mapEmpty();
    }

    /**
     * Appends through {@link OffsetsLog#append} (which keeps the order of calls); completes on the
     * coordinator's context, with the offset of the first record, once the records are committed.
     */
    Future<Long> append(int partition, List<GroupRecord> records) {
        return append(partition, records, RecordSet.builder());
    }

    /**
     * Appends the records as one transactional batch of the producer (a TxnOffsetCommit): the partition's
     * producer state checks its epoch as for a produce, and the transaction's marker ends it.
     */
    Future<Long> appendTransactional(int partition, List<GroupRecord> records, long producerId, short producerEpoch) {
        Map<Long, ProducerSequence> byProducer = sequences.computeIfAbsent(partition, p -> new HashMap<>());
        ProducerSequence current = byProducer.get(producerId);
        int base = current != null && current.epoch() == producerEpoch ? current.next() : 0;
        int next = base + records.size();
        byProducer.put(producerId, new ProducerSequence(producerEpoch, next < 0 ? next - Integer.MIN_VALUE : next));
        Future<Long> appended = append(partition, records,
                RecordSet.builder().transactional(producerId, producerEpoch, base));
        return appended.onFailure(t -> {
            Errors e = appendErrors(t);
            boolean written = e == Errors.REQUEST_TIMED_OUT || e == Errors.NOT_ENOUGH_REPLICAS_AFTER_APPEND;
            ProducerSequence now = sequences.getOrDefault(partition, Map.of()).get(producerId);
            if (!written && now != null && now.epoch() == producerEpoch && now.next() == next) {
                // not in the log (refused before the write): the next batch reuses these sequence numbers
                sequences.get(partition).put(producerId, new ProducerSequence(producerEpoch, base));
            }
        });
    }

    /** Learns a producer's epoch and next sequence from a batch replayed from the partition. */
    void replayed(int partition, long producerId, short epoch, int lastSequence, boolean marker) {
        Map<Long, ProducerSequence> byProducer = sequences.computeIfAbsent(partition, p -> new HashMap<>());
        if (marker) {
            ProducerSequence current = byProducer.get(producerId);
            if (current == null || current.epoch() != epoch) {
                // a marker with a new epoch (a bump): that epoch's first batch starts at sequence 0
                byProducer.put(producerId, new ProducerSequence(epoch, 0));
            }
            return;
        }
        int next = lastSequence + 1;
        byProducer.put(producerId, new ProducerSequence(epoch, next < 0 ? 0 : next));
    }

    private Future<Long> append(int partition, List<GroupRecord> records, RecordSet.Builder builder) {
        long now = now();
        for (GroupRecord r : records) {
            builder.add(new RecordSet.NewRecord(now, GroupRecordCodec.key(r), GroupRecordCodec.value(r)));
        }
        Promise<Long> done = Promise.promise();
        Future<Long> appended;
        try {
            appended = log.append(partition, builder.build());
        } catch (RuntimeException e) {
            appended = Future.failedFuture(e);
        }
        appended.onComplete(ar -> context.runOnContext(v -> done.handle(ar)));
        Future<Long> result = done.future();
        lastAppends.put(partition, result);
        return result;
    }

    /**
     * Completes on the coordinator's context after every append made so far to the partition has completed
     * and the callbacks registered on it so far have run (futures run their callbacks in order).
     */
    Future<Void> appendsDone(int partition) {
        Future<Long> last = lastAppends.get(partition);
        if (last == null) {
            return Future.succeededFuture();
        }
        Promise<Void> done = Promise.promise();
        last.onComplete(ar -> done.complete());
        return done.future();
    }

    /** Whether this coordinator serves the group's partition, is loading it, or is not its coordinator. */
    Errors precheck(String groupId) {
        if (closed) {
            return Errors.COORDINATOR_NOT_AVAILABLE;
        }
        if (groupId == null || groupId.isEmpty()) {
            return Errors.INVALID_GROUP_ID;
        }
        return partitionError(partitionFor(groupId));
    }

    /** NONE when the partition is loaded here; COORDINATOR_LOAD_IN_PROGRESS or NOT_COORDINATOR otherwise. */
    Errors partitionError(int partition) {
        if (closed) {
            return Errors.COORDINATOR_NOT_AVAILABLE;
        }
        PartitionStatus status = partitions.get(partition);
        if (status == null) {
            return Errors.NOT_COORDINATOR;
        }
        return status == PartitionStatus.LOADING ? Errors.COORDINATOR_LOAD_IN_PROGRESS : Errors.NONE;
    }

    /** Whether the group's partition is loaded here (its group is served by this coordinator). */
    boolean serves(String groupId) {
        return !closed && partitions.get(partitionFor(groupId)) == PartitionStatus.LOADED;
    }

    boolean anyLoading() {
        return partitions.containsValue(PartitionStatus.LOADING);
    }

    static Errors validateMember(ClassicGroup group, String memberId, String groupInstanceId) {
        if (groupInstanceId != null) {
            String existing = group.staticMembers.get(groupInstanceId);
            if (existing == null) {
                return Errors.UNKNOWN_MEMBER_ID;
            }
            return existing.equals(memberId) ? Errors.NONE : Errors.FENCED_INSTANCE_ID;
        }
        return group.members.containsKey(memberId) ? Errors.NONE : Errors.UNKNOWN_MEMBER_ID;
    }

    /** Kafka's mapping of a failed group-metadata append to the error the client sees. */
    static Errors groupAppendError(Throwable t) {
        Errors e = appendErrors(t);
        return switch (e) {
            case UNKNOWN_TOPIC_OR_PARTITION, NOT_ENOUGH_REPLICAS, NOT_ENOUGH_REPLICAS_AFTER_APPEND,
                 REQUEST_TIMED_OUT -> Errors.COORDINATOR_NOT_AVAILABLE;
            case NOT_LEADER_OR_FOLLOWER, KAFKA_STORAGE_ERROR -> Errors.NOT_COORDINATOR;
            case MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE, INVALID_FETCH_SIZE -> Errors.UNKNOWN_SERVER_ERROR;
            default -> e;
        };
    }

    /** Kafka's mapping of a failed offset append. */
    static Errors offsetAppendError(Throwable t) {
        Errors e = appendErrors(t);
        return switch (e) {
            case MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE, INVALID_FETCH_SIZE -> Errors.INVALID_COMMIT_OFFSET_SIZE;
            // unlike a group's metadata, a commit that timed out waiting for the replicas says so
            case REQUEST_TIMED_OUT -> Errors.REQUEST_TIMED_OUT;
            default -> groupAppendError(t);
        };
    }

    static Errors appendErrors(Throwable t) {
        if (t instanceof IOException || t instanceof UncheckedIOException) {
            return Errors.KAFKA_STORAGE_ERROR;
        }
        return Errors.forException(t);
    }

    long now() {
        return time.milliseconds();
    }
}
