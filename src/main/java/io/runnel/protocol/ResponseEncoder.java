package io.runnel.protocol;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.runnel.log.LogSlice;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.ResponseHeaderData;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.ObjectSerializationCache;
import org.apache.kafka.common.protocol.Writable;
import org.apache.kafka.common.record.BaseRecords;
import org.apache.kafka.common.record.MemoryRecords;

/**
 * Serialises a response (size prefix, header, body) with kafka-clients' generated code into Netty
 * messages: heap buffers for the encoded fields, and a zero-copy {@link SliceRegion} wherever the body
 * holds a {@link LogSlice} (Fetch records), so record data never passes through the heap.
 */
final class ResponseEncoder {

    private ResponseEncoder() {
    }

    static List<Object> encode(int correlationId, short headerVersion, ApiMessage body, short version) {
        ObjectSerializationCache cache = new ObjectSerializationCache();
        ResponseHeaderData header = new ResponseHeaderData().setCorrelationId(correlationId);
        int headerSize = header.size(cache, headerVersion);
        int bodySize = body.size(cache, version);
        SplittingWritable out = new SplittingWritable(4 + headerSize + bodySize);
        out.writeInt(headerSize + bodySize);
        header.write(out, cache, headerVersion);
        body.write(out, cache, version);
        return out.finish();
    }

    /**
     * Writes into heap buffers, cutting wherever a file slice must go out by zero copy. Sizes are known
     * up front except for how much of the body is file slices, so each buffer grows as needed.
     */
    private static final class SplittingWritable implements Writable {
        private final List<Object> parts = new ArrayList<>(3);
        private ByteBuf buf;

        SplittingWritable(int sizeHint) {
            this.buf = Unpooled.buffer(Math.min(sizeHint, 64 * 1024));
        }

        List<Object> finish() {
            if (buf.isReadable()) {
                parts.add(buf);
            } else {
                buf.release();
            }
            return parts;
        }

        @Override
        public void writeRecords(BaseRecords records) {
            if (records instanceof LogSlice slice) {
                if (slice.size() > 0) {
                    parts.add(buf);
                    parts.add(new SliceRegion(slice));
                    buf = Unpooled.buffer(256);
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
