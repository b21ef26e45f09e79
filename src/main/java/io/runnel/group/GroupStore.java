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

    enum PartitionStatus { LOADING, LOADED }

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
                group.snapshot())));
    }

    /**
     * Appends through {@link OffsetsLog#append} (which keeps the order of calls); completes on the
     * coordinator's context once the records are committed.
     */
    Future<Void> append(int partition, List<GroupRecord> records) {
        long now = now();
        RecordSet.NewRecord[] simple = new RecordSet.NewRecord[records.size()];
        for (int i = 0; i < simple.length; i++) {
            GroupRecord r = records.get(i);
            simple[i] = new RecordSet.NewRecord(now, GroupRecordCodec.key(r), GroupRecordCodec.value(r));
        }
        RecordSet batch = RecordSet.of(simple);
        Promise<Void> done = Promise.promise();
        Future<Void> appended;
        try {
            appended = log.append(partition, batch);
        } catch (RuntimeException e) {
            appended = Future.failedFuture(e);
        }
        appended.onComplete(ar -> context.runOnContext(v -> done.handle(ar)));
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
