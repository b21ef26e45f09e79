package io.runnel.group;

import java.util.List;

import org.apache.kafka.common.TopicPartition;

/**
 * A record of the {@code __consumer_offsets} log, decoded. A null value is a tombstone.
 */
public sealed interface GroupRecord {

    String groupId();

    /** A committed offset (value null: the offset was deleted or expired). */
    record OffsetCommit(String groupId, TopicPartition tp, CommittedOffset value) implements GroupRecord {
    }

    /** A group's metadata (value null: the group was deleted). */
    record GroupMetadata(String groupId, GroupMetadataValue value) implements GroupRecord {
    }

    /**
     * Snapshot of a classic group after a generation change or an assignment.
     *
     * @param protocolType          protocol type, or null for a group only used for offset storage
     * @param protocolName          the selected protocol, or null when Empty
     * @param leaderId              leader member id, or null
     * @param currentStateTimestamp when the group entered its current state, or -1
     */
    record GroupMetadataValue(String protocolType, int generationId, String protocolName, String leaderId,
                              long currentStateTimestamp, List<MemberValue> members) {
    }

    /** A member as persisted: its subscription for the selected protocol and its assignment. */
    record MemberValue(String memberId, String groupInstanceId, String clientId, String clientHost,
                       int rebalanceTimeoutMs, int sessionTimeoutMs, byte[] subscription, byte[] assignment) {
    }
}
