package io.runnel.txn;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.internals.ByteUtils;

/**
 * The records of {@code __transaction_state} in Kafka's own format (TransactionLogKey and TransactionLogValue,
 * version-prefixed as Kafka's MessageUtil.toVersionPrefixedBytes writes them), so Kafka's tools can read a Runnel
 * transaction log and the other way round. Integers are big-endian.
 *
 * <pre>
 * key            := int16 version (0), string transactionalId          (string: int16 length, UTF-8)
 * value v0       := int16 version (0), int64 producerId, int16 producerEpoch, int32 transactionTimeoutMs,
 *                   int8 transactionStatus, partitions, int64 lastUpdateTimestampMs, int64 startTimestampMs
 *                   partitions: int32 count (-1: null), each: string topic, int32 count, int32 partition...
 * value v1       := the same fields in the flexible encoding (compact strings and arrays: unsigned varint
 *                   length + 1, 0 for null; a tagged-field section after each struct), with the tagged
 *                   fields 0 previousProducerId (int64, default -1), 1 nextProducerId (int64, default -1) and
 *                   2 clientTransactionVersion (int16, default 0)
 * </pre>
 * A null value (tombstone) removes the transactional id. Version 1 is written (Kafka writes it once
 * transaction.version 1 or higher is finalized, which Runnel always has); both are read. The partitions are null in
 * state Empty, as Kafka writes them.
 */
public final class TransactionLogCodec {

    static final short KEY_VERSION = 0;
    static final short VALUE_VERSION = 1;

    /** A decoded record: the id and its state, or null for a tombstone. */
    public record Entry(String transactionalId, TxnTransit value) {
    }

    private TransactionLogCodec() {
    }

    public static byte[] key(String transactionalId) {
        byte[] id = transactionalId.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(4 + id.length);
        b.putShort(KEY_VERSION).putShort((short) id.length).put(id);
        return b.array();
    }

    public static byte[] value(TxnTransit t) {
        return value(t, VALUE_VERSION);
    }

    static byte[] value(TxnTransit t, short version) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
        DataOutputStream out = new DataOutputStream(bytes);
        boolean flexible = version >= 1;
        try {
            out.writeShort(version);
            out.writeLong(t.producerId());
            out.writeShort(t.producerEpoch());
            out.writeInt(t.txnTimeoutMs());
            out.writeByte(t.state().id);
            if (t.state() == TransactionState.EMPTY) {
                if (flexible) {
                    varint(out, 0);
                } else {
                    out.writeInt(-1);
                }
            } else {
                Map<String, List<Integer>> byTopic = new LinkedHashMap<>();
                for (TopicPartition tp : t.partitions()) {
                    byTopic.computeIfAbsent(tp.topic(), k -> new ArrayList<>()).add(tp.partition());
                }
                if (flexible) {
                    varint(out, byTopic.size() + 1);
                } else {
                    out.writeInt(byTopic.size());
                }
                for (Map.Entry<String, List<Integer>> e : byTopic.entrySet()) {
                    byte[] topic = e.getKey().getBytes(StandardCharsets.UTF_8);
                    if (flexible) {
                        varint(out, topic.length + 1);
                        out.write(topic);
                        varint(out, e.getValue().size() + 1);
                    } else {
                        out.writeShort(topic.length);
                        out.write(topic);
                        out.writeInt(e.getValue().size());
                    }
                    for (int p : e.getValue()) {
                        out.writeInt(p);
                    }
                    if (flexible) {
                        varint(out, 0); // no tagged fields in PartitionsSchema
                    }
                }
            }
            out.writeLong(t.txnLastUpdateTimestamp());
            out.writeLong(t.txnStartTimestamp());
            if (flexible) {
                int tags = (t.prevProducerId() != -1 ? 1 : 0) + (t.nextProducerId() != -1 ? 1 : 0)
                        + (t.clientTransactionVersion() != 0 ? 1 : 0);
                varint(out, tags);
                if (t.prevProducerId() != -1) {
                    varint(out, 0);
                    varint(out, 8);
                    out.writeLong(t.prevProducerId());
                }
                if (t.nextProducerId() != -1) {
                    varint(out, 1);
                    varint(out, 8);
                    out.writeLong(t.nextProducerId());
                }
                if (t.clientTransactionVersion() != 0) {
                    varint(out, 2);
                    varint(out, 2);
                    out.writeShort(t.clientTransactionVersion());
                }
            }
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private static void varint(DataOutputStream out, int v) throws IOException {
        ByteUtils.writeUnsignedVarint(v, out);
    }

    /**
     * Decodes one record; null when its key version is not a transaction key (Kafka skips those too).
     *
     * @throws IllegalArgumentException when the record is malformed
     */
    public static Entry decode(ByteBuffer key, ByteBuffer value) {
        try {
            ByteBuffer k = key.duplicate();
            short keyVersion = k.getShort();
            if (keyVersion != KEY_VERSION) {
                return null;
            }
            String id = string(k, false);
            if (value == null) {
                return new Entry(id, null);
            }
            ByteBuffer v = value.duplicate();
            short version = v.getShort();
            if (version < 0 || version > 1) {
                throw new IllegalArgumentException("unknown TransactionLogValue version " + version);
            }
            boolean flexible = version >= 1;
            long pid = v.getLong();
            short epoch = v.getShort();
            int timeout = v.getInt();
            TransactionState state = TransactionState.fromId(v.get());
            Set<TopicPartition> partitions = new LinkedHashSet<>();
            int topics = flexible ? ByteUtils.readUnsignedVarint(v) - 1 : v.getInt();
            for (int i = 0; i < topics; i++) {
                String topic = string(v, flexible);
                int n = flexible ? ByteUtils.readUnsignedVarint(v) - 1 : v.getInt();
                for (int j = 0; j < n; j++) {
                    partitions.add(new TopicPartition(topic, v.getInt()));
                }
                if (flexible) {
                    skipTags(v);
                }
            }
            long lastUpdate = v.getLong();
            long start = v.getLong();
            long prev = -1;
            long next = -1;
            short clientVersion = 0;
            if (flexible) {
                int tags = ByteUtils.readUnsignedVarint(v);
                for (int i = 0; i < tags; i++) {
                    int tag = ByteUtils.readUnsignedVarint(v);
                    int size = ByteUtils.readUnsignedVarint(v);
                    switch (tag) {
                        case 0 -> prev = v.getLong();
                        case 1 -> next = v.getLong();
                        case 2 -> clientVersion = v.getShort();
                        default -> v.position(v.position() + size);
                    }
                }
            }
            if (state == TransactionState.EMPTY) {
                partitions.clear();
            }
            return new Entry(id, new TxnTransit(pid, prev, next, epoch, (short) -1, timeout, state, partitions,
                    start, lastUpdate, clientVersion));
        } catch (BufferUnderflowException | IllegalStateException e) {
            throw new IllegalArgumentException("malformed __transaction_state record: " + e, e);
        }
    }

    private static String string(ByteBuffer b, boolean compact) {
        int len = compact ? ByteUtils.readUnsignedVarint(b) - 1 : b.getShort();
        if (len < 0) {
            throw new IllegalArgumentException("null string in a __transaction_state record");
        }
        byte[] bytes = new byte[len];
        b.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static void skipTags(ByteBuffer b) {
        int tags = ByteUtils.readUnsignedVarint(b);
        for (int i = 0; i < tags; i++) {
            ByteUtils.readUnsignedVarint(b);
            int size = ByteUtils.readUnsignedVarint(b);
            b.position(b.position() + size);
        }
    }
}
