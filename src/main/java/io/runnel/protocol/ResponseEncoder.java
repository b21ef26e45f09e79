package io.runnel.protocol;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.ReferenceCountUtil;
import io.runnel.log.LogSlice;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.message.ResponseHeaderData;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.ObjectSerializationCache;
import org.apache.kafka.common.protocol.Writable;
import org.apache.kafka.common.record.internal.BaseRecords;
import org.apache.kafka.common.record.internal.MemoryRecords;

/**
 * Serialises a response (size prefix, header, body) with kafka-clients' generated code into Netty
 * messages: one buffer from the connection's (pooled, direct) allocator holding every encoded field, cut
 * into slices of it wherever the body holds a {@link LogSlice} (Fetch records made by
 * {@link WireRecords#of(LogSlice)}), which goes out as a
 * zero-copy {@link SliceRegion}; record data never passes through the heap.
 *
 * <p>The buffer is sized exactly (the body's size minus its file slices), so encoding allocates no
 * garbage per response and Netty needs no heap-to-direct copy before the socket write. Each returned
 * part holds its own reference; whoever takes the list releases every part (Netty does on write).
 */
final class ResponseEncoder {

    private ResponseEncoder() {
    }

    static List<Object> encode(ByteBufAllocator alloc, int correlationId, short headerVersion, ApiMessage body,
                               short version) {
        ObjectSerializationCache cache = new ObjectSerializationCache();
        ResponseHeaderData header = new ResponseHeaderData().setCorrelationId(correlationId);
        int headerSize = header.size(cache, headerVersion);
        int bodySize = body.size(cache, version);
        // the body's size counts the file slices too, and it fits an int, so this does as well
        int inBuffer = (int) (4L + headerSize + bodySize - zeroCopyBytes(body));
        SplittingWritable out = new SplittingWritable(alloc.directBuffer(inBuffer));
        try {
            out.writeInt(headerSize + bodySize);
            header.write(out, cache, headerVersion);
            body.write(out, cache, version);
            return out.finish();
        } catch (RuntimeException | Error e) {
            out.discard();
            throw e;
        }
    }

    /** Bytes of the body that go out by zero copy: the Fetch records that are file slices. */
    static long zeroCopyBytes(ApiMessage body) {
        long n = 0;
        if (body instanceof FetchResponseData fetch) {
            for (FetchResponseData.FetchableTopicResponse t : fetch.responses()) {
                for (FetchResponseData.PartitionData p : t.partitions()) {
                    LogSlice slice = WireRecords.sliceOf(p.records());
                    if (slice != null) {
                        n += slice.size();
                    }
                }
            }
        }
        return n;
    }

    /**
     * Writes into one buffer and, wherever a file slice must go out by zero copy, ends the current part
     * (a retained slice of the buffer) and adds the slice's region. The buffer grows if the size computed
     * up front was short (a records type it does not know), which keeps the earlier parts valid: they are
     * views through the buffer, not of its old memory.
     */
    private static final class SplittingWritable implements Writable {
        private final List<Object> parts = new ArrayList<>(3);
        private final ByteBuf buf;
        private int partStart;

        SplittingWritable(ByteBuf buf) {
            this.buf = buf;
        }

        List<Object> finish() {
            cut();
            buf.release();
            return parts;
        }

        void discard() {
            parts.forEach(ReferenceCountUtil::safeRelease);
            parts.clear();
            buf.release();
        }

        private void cut() {
            int end = buf.writerIndex();
            if (end > partStart) {
                parts.add(buf.retainedSlice(partStart, end - partStart));
                partStart = end;
            }
        }

        @Override
        public void writeRecords(BaseRecords records) {
            LogSlice slice = WireRecords.sliceOf(records);
            if (slice != null) {
                if (slice.size() > 0) {
                    cut();
                    parts.add(new SliceRegion(slice));
                }
            } else if (records instanceof MemoryRecords m) {
                buf.writeBytes(m.buffer().duplicate());
            } else if (records != null) {
                throw new IllegalArgumentException("cannot encode records of type " + records.getClass());
            }
        }

        @Override
        public void writeByte(byte val) {
            buf.writeByte(val);
        }

        @Override
        public void writeShort(short val) {
            buf.writeShort(val);
        }

        @Override
        public void writeInt(int val) {
            buf.writeInt(val);
        }

        @Override
        public void writeLong(long val) {
            buf.writeLong(val);
        }

        @Override
        public void writeDouble(double val) {
            buf.writeDouble(val);
        }

        @Override
        public void writeByteArray(byte[] arr) {
            buf.writeBytes(arr);
        }

        @Override
        public void writeUnsignedVarint(int i) {
            while ((i & 0xFFFFFF80) != 0) {
                buf.writeByte((i & 0x7F) | 0x80);
                i >>>= 7;
            }
            buf.writeByte(i);
        }

        @Override
        public void writeByteBuffer(ByteBuffer b) {
            buf.writeBytes(b.duplicate());
        }

        @Override
        public void writeVarint(int i) {
            writeUnsignedVarint((i << 1) ^ (i >> 31));
        }

        @Override
        public void writeVarlong(long v) {
            long i = (v << 1) ^ (v >> 63);
            while ((i & 0xFFFFFFFFFFFFFF80L) != 0L) {
                buf.writeByte(((int) i & 0x7F) | 0x80);
                i >>>= 7;
            }
            buf.writeByte((int) i);
        }

        @Override
        public void writeUuid(Uuid uuid) {
            buf.writeLong(uuid.getMostSignificantBits());
            buf.writeLong(uuid.getLeastSignificantBits());
        }
    }
}
