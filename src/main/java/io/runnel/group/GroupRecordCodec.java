package io.runnel.group;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.apache.kafka.common.TopicPartition;

/**
 * Binary format of the {@code __consumer_offsets} records (our own, not Kafka's schemas, which live
 * outside kafka-clients). All integers are big-endian; a string is an int16 byte length (-1 for null)
 * then UTF-8; bytes are an int32 length then the bytes.
 *
 * <pre>
 * key   := int16 keyVersion, then
 *          keyVersion 1 (offset commit):  string group, string topic, int32 partition
 *          keyVersion 2 (group metadata): string group
 * offset value := int16 version (0), int64 offset, int32 leaderEpoch, string metadata,
 *                 int64 commitTimestamp, int64 expireTimestamp (-1: none)
 * group value  := int16 version (0), string protocolType, int32 generation, string protocolName,
 *                 string leader, int64 currentStateTimestamp, int32 memberCount, members:
 *                 string memberId, string groupInstanceId, string clientId, string clientHost,
 *                 int32 rebalanceTimeoutMs, int32 sessionTimeoutMs, bytes subscription, bytes assignment
 * </pre>
 * A null value (tombstone) deletes the offset or the group. Readers skip keys of versions they do not
 * know, so newer record kinds can be added without breaking an older broker's load.
 *
 * <p>Offsets committed in a transaction (TxnOffsetCommit) are the same offset records, in a transactional
 * batch of the producer (its id and epoch); they count only once a COMMIT control batch of that producer
 * follows them in the partition, and never after an ABORT one (see PendingTxnOffsets).
 */
public final class GroupRecordCodec {

    static final short OFFSET_KEY_VERSION = 1;
    static final short GROUP_KEY_VERSION = 2;
    static final short VALUE_VERSION = 0;

    private GroupRecordCodec() {
    }

    public static byte[] key(GroupRecord record) {
        Writer w = new Writer();
        if (record instanceof GroupRecord.OffsetCommit oc) {
            w.i16(OFFSET_KEY_VERSION).str(oc.groupId()).str(oc.tp().topic()).i32(oc.tp().partition());
        } else {
            w.i16(GROUP_KEY_VERSION).str(record.groupId());
        }
        return w.bytes();
    }

    /** The value, or null for a tombstone. */
    public static byte[] value(GroupRecord record) {
        if (record instanceof GroupRecord.OffsetCommit oc) {
            CommittedOffset v = oc.value();
            if (v == null) {
                return null;
            }
            return new Writer().i16(VALUE_VERSION).i64(v.offset()).i32(v.leaderEpoch()).str(v.metadata())
                    .i64(v.commitTimestamp()).i64(v.expireTimestamp()).bytes();
        }
        GroupRecord.GroupMetadataValue v = ((GroupRecord.GroupMetadata) record).value();
        if (v == null) {
            return null;
        }
        Writer w = new Writer().i16(VALUE_VERSION).str(v.protocolType()).i32(v.generationId()).str(v.protocolName())
                .str(v.leaderId()).i64(v.currentStateTimestamp()).i32(v.members().size());
        for (GroupRecord.MemberValue m : v.members()) {
            w.str(m.memberId()).str(m.groupInstanceId()).str(m.clientId()).str(m.clientHost())
                    .i32(m.rebalanceTimeoutMs()).i32(m.sessionTimeoutMs()).blob(m.subscription()).blob(m.assignment());
        }
        return w.bytes();
    }

    /**
     * Decodes one record; null when its key version is unknown.
     *
     * @throws IllegalArgumentException when a known record is malformed
     */
    public static GroupRecord decode(ByteBuffer key, ByteBuffer value) {
        try {
            key = key.duplicate();
            short keyVersion = key.getShort();
            switch (keyVersion) {
                case OFFSET_KEY_VERSION: {
                    String group = str(key);
                    TopicPartition tp = new TopicPartition(str(key), key.getInt());
                    if (value == null) {
                        return new GroupRecord.OffsetCommit(group, tp, null);
                    }
                    ByteBuffer v = value.duplicate();
                    checkValueVersion(v.getShort());
                    CommittedOffset co = new CommittedOffset(v.getLong(), v.getInt(), str(v), v.getLong(), v.getLong());
                    return new GroupRecord.OffsetCommit(group, tp, co);
                }
                case GROUP_KEY_VERSION: {
                    String group = str(key);
                    if (value == null) {
                        return new GroupRecord.GroupMetadata(group, null);
                    }
                    ByteBuffer v = value.duplicate();
                    checkValueVersion(v.getShort());
                    String protocolType = str(v);
                    int generation = v.getInt();
                    String protocolName = str(v);
                    String leader = str(v);
                    long stateTs = v.getLong();
                    int n = v.getInt();
                    List<GroupRecord.MemberValue> members = new ArrayList<>(n);
                    for (int i = 0; i < n; i++) {
                        members.add(new GroupRecord.MemberValue(str(v), str(v), str(v), str(v), v.getInt(), v.getInt(),
                                blob(v), blob(v)));
                    }
                    return new GroupRecord.GroupMetadata(group, new GroupRecord.GroupMetadataValue(protocolType,
                            generation, protocolName, leader, stateTs, members));
                }
                default:
                    return null;
            }
        } catch (java.nio.BufferUnderflowException | NegativeArraySizeException e) {
            throw new IllegalArgumentException("malformed __consumer_offsets record", e);
        }
    }

    private static void checkValueVersion(short version) {
        if (version != VALUE_VERSION) {
            throw new IllegalArgumentException("unknown __consumer_offsets value version " + version);
        }
    }

    private static String str(ByteBuffer b) {
        short len = b.getShort();
        if (len < 0) {
            return null;
        }
        byte[] bytes = new byte[len];
        b.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static byte[] blob(ByteBuffer b) {
        byte[] bytes = new byte[b.getInt()];
        b.get(bytes);
        return bytes;
    }

    private static final class Writer {
        private ByteBuffer buf = ByteBuffer.allocate(128);

        private void ensure(int n) {
            if (buf.remaining() < n) {
                ByteBuffer bigger = ByteBuffer.allocate(Math.max(buf.capacity() * 2, buf.position() + n));
                buf.flip();
                bigger.put(buf);
                buf = bigger;
            }
        }

        Writer i16(short v) {
            ensure(2);
            buf.putShort(v);
            return this;
        }

        Writer i32(int v) {
            ensure(4);
            buf.putInt(v);
            return this;
        }

        Writer i64(long v) {
            ensure(8);
            buf.putLong(v);
            return this;
        }

        Writer str(String s) {
            if (s == null) {
                return i16((short) -1);
            }
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            if (b.length > Short.MAX_VALUE) {
                throw new IllegalArgumentException("string too long for __consumer_offsets record");
            }
            i16((short) b.length);
            ensure(b.length);
            buf.put(b);
            return this;
        }

        Writer blob(byte[] b) {
            byte[] bytes = b == null ? new byte[0] : b;
            i32(bytes.length);
            ensure(bytes.length);
            buf.put(bytes);
            return this;
        }

        byte[] bytes() {
            byte[] out = new byte[buf.position()];
            buf.flip();
            buf.get(out);
            return out;
        }
    }
}
