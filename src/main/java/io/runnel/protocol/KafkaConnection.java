package io.runnel.protocol;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.List;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.ReferenceCountUtil;
import io.runnel.api.ApiHandler;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.net.NetSocketInternal;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.errors.ApiException;
import org.apache.kafka.common.message.ApiVersionsResponseData;
import org.apache.kafka.common.message.ProduceRequestData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.AbstractRequest;
import org.apache.kafka.common.requests.RequestHeader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Kafka client connection: frames (4-byte size checked against socket.request.max.bytes before any
 * buffer for it exists), request headers, dispatch to the registered handler, and responses written
 * strictly in request order although requests are served concurrently.
 *
 * <p>Threading: everything here runs on the connection's event loop; handler futures may complete
 * elsewhere and are brought back with {@link ContextInternal#execute}.
 */
final class KafkaConnection {

    private static final Logger LOG = LoggerFactory.getLogger(KafkaConnection.class);

    private final NetSocketInternal socket;
    private final ContextInternal context;
    private final ApiRegistry registry;
    private final int maxFrameBytes;
    private final int maxInflight;
    private final Node localNode;
    private final String id;
    private final ArrayDeque<Slot> inflight = new ArrayDeque<>();
    /**
     * The size prefix being read (it may span reads), then the frame being filled: a pooled direct buffer
     * of exactly its size, owned by the request until its response is encoded (see {@link #onData}).
     */
    private final byte[] sizePrefix = new byte[4];
    private int sizeFilled;
    private ByteBuf frame;
    private boolean closed;
    private boolean readingPaused;

    /** A request awaiting its turn to be answered. */
    private static final class Slot {
        List<Object> parts;
        boolean done;
    }

    KafkaConnection(NetSocketInternal socket, ContextInternal context, ApiRegistry registry, int maxFrameBytes,
                    int maxInflight, Node localNode, String id) {
        this.socket = socket;
        this.context = context;
        this.registry = registry;
        this.maxFrameBytes = maxFrameBytes;
        this.maxInflight = maxInflight;
        this.localNode = localNode;
        this.id = id;
    }

    void start() {
        registry.metrics().connectionOpened();
        // raw Netty buffers: the plain data handler would first copy each read into a new heap buffer
        socket.messageHandler(this::onMessage);
        socket.closeHandler(v -> onClosed());
        socket.exceptionHandler(t -> LOG.debug("Connection {} error: {}", id, t.toString()));
        socket.drainHandler(v -> updateReading());
    }

    private void onClosed() {
        registry.metrics().connectionClosed();
        closed = true;
        if (frame != null) {
            frame.release();
            frame = null;
        }
        for (Slot s : inflight) {
            release(s);
        }
        inflight.clear();
    }

    private void onMessage(Object msg) {
        try {
            if (msg instanceof ByteBuf in) {
                onData(in);
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    /**
     * Copies each frame once, from the read buffer straight into a pooled direct buffer of exactly its
     * size, which the request then owns: no cumulation buffer that grows and is copied out of again, and
     * no heap garbage per request (at a few thousand small requests a second, a heap array per frame was
     * the largest single allocation and set the young-collection rate). A direct frame also lets the
     * log write a produced batch to its file without the JDK's copy into a temporary direct buffer.
     * Parsed requests alias the frame only through record sets (Produce), which the partition owner has
     * written to the log before the handler's future completes; the frame is released once the response
     * is encoded.
     */
    private void onData(ByteBuf in) {
        while (!closed && in.isReadable()) {
            if (frame == null) {
                int n = Math.min(4 - sizeFilled, in.readableBytes());
                in.readBytes(sizePrefix, sizeFilled, n);
                sizeFilled += n;
                if (sizeFilled < 4) {
                    return;
                }
                sizeFilled = 0;
                int size = ByteBuffer.wrap(sizePrefix).getInt();
                if (size < 0 || size > maxFrameBytes) {
                    rejectFrameSize(size);
                    return;
                }
                frame = alloc().directBuffer(size, size);
            }
            int n = Math.min(frame.writableBytes(), in.readableBytes());
            in.readBytes(frame, n);
            if (!frame.isWritable()) {
                ByteBuf complete = frame;
                frame = null;
                ByteBuf owned = null;
                try {
                    owned = dispatch(complete);
                } finally {
                    if (owned == null) {
                        complete.release();
                    }
                }
            }
        }
    }

    private void rejectFrameSize(int size) {
        String firstBytes = new String(sizePrefix, java.nio.charset.StandardCharsets.ISO_8859_1);
        if (firstBytes.matches("GET |POST|PUT |HEAD|DELE|OPTI|PATC|CONN")) {
            close("an HTTP request was sent to the Kafka port");
        } else if (size < 0) {
            close("negative frame size " + size);
        } else {
            close("frame of " + size + " bytes is larger than socket.request.max.bytes=" + maxFrameBytes);
        }
    }

    /**
     * Serves one complete frame. Returns the frame when a handler took it (it is released after the
     * response is encoded), or null when the request was answered or refused here and the caller may
     * release it at once.
     */
    private ByteBuf dispatch(ByteBuf frameBuf) {
        ByteBuffer buf = frameBuf.nioBuffer(0, frameBuf.writerIndex());
        if (buf.remaining() < 8) {
            close("truncated request header");
            return null;
        }
        short apiKeyId = buf.getShort(0);
        short version = buf.getShort(2);
        if (!ApiKeys.hasId(apiKeyId)) {
            close("unknown API key " + apiKeyId);
            return null;
        }
        ApiKeys apiKey = ApiKeys.forId(apiKeyId);
        ApiHandler<?> handler = registry.handler(apiKey);
        if (handler == null) {
            close("API " + apiKey + " is not served by this broker");
            return null;
        }
        boolean versionServed = version >= handler.minVersion() && version <= handler.maxVersion()
                && version >= ApiRegistry.parseableFloor(apiKey);
        if (!versionServed && apiKey == ApiKeys.API_VERSIONS) {
            // Kafka answers an unknown ApiVersions version with v0, error 35 and the supported ranges
            Slot slot = enqueue();
            ApiVersionsResponseData resp = ApiVersionsHandlers.versions(registry)
                    .setErrorCode(Errors.UNSUPPORTED_VERSION.code());
            complete(slot, ResponseEncoder.encode(alloc(), buf.getInt(4), (short) 0, resp, (short) 0));
            return null;
        }
        if (!versionServed) {
            close("version " + version + " of " + apiKey + " is not supported (served: " + handler.minVersion()
                    + " to " + handler.maxVersion() + ")");
            return null;
        }
        RequestHeader header;
        AbstractRequest request;
        try {
            header = RequestHeader.parse(buf);
            request = AbstractRequest.parseRequest(apiKey, version, new ByteBufferAccessor(buf)).request;
        } catch (RuntimeException e) {
            close("malformed " + apiKey + " v" + version + " request: " + e.getMessage());
            return null;
        }
        Slot slot = enqueue();
        long started = System.nanoTime();
        RequestContext ctx = new RequestContext(header, socket.remoteAddress(), context, localNode, id);
        Future<? extends ApiMessage> result;
        try {
            @SuppressWarnings("unchecked")
            ApiHandler<ApiMessage> h = (ApiHandler<ApiMessage>) handler;
            result = h.handle(ctx, request.data());
        } catch (Throwable t) {
            result = Future.failedFuture(t);
        }
        result.onComplete(ar -> {
            registry.metrics().requestCompleted(apiKey, started);
            context.execute(() -> {
                try {
                    respond(slot, header, request, ar);
                } finally {
                    frameBuf.release();
                }
            });
        });
        return frameBuf;
    }

    private Slot enqueue() {
        Slot slot = new Slot();
        inflight.add(slot);
        updateReading();
        return slot;
    }

    private void respond(Slot slot, RequestHeader header, AbstractRequest request, AsyncResult<? extends ApiMessage> ar) {
        if (closed) {
            return;
        }
        ApiKeys apiKey = header.apiKey();
        short version = header.apiVersion();
        short headerVersion = apiKey.responseHeaderVersion(version);
        ApiMessage response;
        if (ar.succeeded()) {
            response = ar.result();
        } else {
            Throwable cause = ar.cause();
            if (request.data() instanceof ProduceRequestData p && p.acks() == 0) {
                // acks=0 has no response: closing the connection is how Kafka tells the producer
                close("acks=0 produce failed: " + cause);
                return;
            }
            if (!(cause instanceof ApiException)) {
                LOG.error("Unexpected error serving {} v{} for {} ({})", apiKey, version, header.clientId(), id, cause);
            }
            response = request.getErrorResponse(0, cause).data();
        }
        try {
            complete(slot, response == null ? null : ResponseEncoder.encode(alloc(), header.correlationId(), headerVersion,
                    response, version));
        } catch (RuntimeException e) {
            LOG.error("Cannot encode {} v{} response", apiKey, version, e);
            close("response encoding failed");
        }
    }

    private void complete(Slot slot, List<Object> parts) {
        slot.parts = parts;
        slot.done = true;
        while (!inflight.isEmpty() && inflight.peekFirst().done) {
            Slot head = inflight.pollFirst();
            if (head.parts != null) {
                for (Object part : head.parts) {
                    socket.writeMessage(part);
                }
            }
        }
        updateReading();
    }

    /** The channel's allocator: responses come from the same pool as the reads, on this event loop's cache. */
    private ByteBufAllocator alloc() {
        return socket.channelHandlerContext().alloc();
    }

    private void updateReading() {
        if (closed) {
            return;
        }
        boolean shouldPause = inflight.size() >= maxInflight || socket.writeQueueFull();
        if (shouldPause && !readingPaused) {
            readingPaused = true;
            socket.pause();
        } else if (!shouldPause && readingPaused) {
            readingPaused = false;
            socket.resume();
        }
    }

    private void release(Slot s) {
        if (s.parts != null) {
            s.parts.forEach(ReferenceCountUtil::safeRelease);
        }
    }

    private void close(String reason) {
        if (closed) {
            return;
        }
        LOG.warn("Closing connection {} from {}: {}", id, socket.remoteAddress(), reason);
        closed = true;
        socket.close();
    }
}
