package io.runnel.protocol;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.List;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.ReferenceCountUtil;
import io.netty.channel.FileRegion;
import io.runnel.api.ApiHandler;
import io.runnel.quota.ClientQuotas;
import io.runnel.quota.QuotaType;
import io.runnel.security.Authentication;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.net.NetSocketInternal;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.errors.ApiException;
import org.apache.kafka.common.message.ApiVersionsResponseData;
import org.apache.kafka.common.message.FetchRequestData;
import org.apache.kafka.common.message.FetchResponseData;
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
 * <p>Memory: a frame's buffer grows with the bytes that arrive, within the node's {@link RequestMemory}
 * budget (queued.max.request.bytes), and holds its reservation until the request is parsed, or, for the requests
 * whose parsed form still points into the frame (the record sets of Produce, see {@link #aliasesFrame}), until the
 * response is encoded; so a client that declares a large frame and trickles it holds only what it sent, and every
 * frame being read or written to the log is inside the budget. A request left waiting (a Fetch with a long
 * max wait) holds no frame, so it cannot keep budget from the node's other clients, even once its connection has
 * closed. Reading stops (the
 * channel's auto-read is turned off, so nothing more is read from the socket) while too many requests are in
 * flight, the write queue is full or the budget refused memory.
 *
 * <p>Client quotas ({@link ClientQuotas}): each answered request is charged to its user and client id (a Produce its
 * frame's size, a consumer's Fetch its response's size, every request but the exempt ones its time on the event
 * loop); over a quota, the response carries {@code throttle_time_ms} (a consumer's Fetch is answered empty, as in
 * Kafka) and reading stops for that time, the way Kafka mutes a throttled channel. A consumer's Fetch is capped
 * beforehand at what its quota allows over the sampling windows.
 *
 * <p>Threading: everything here runs on the connection's event loop; handler futures may complete
 * elsewhere and are brought back with {@link ContextInternal#execute}. {@link RequestMemory} calls
 * {@link #progressRate}, {@link #evict} and {@link #wake} from any thread.
 */
final class KafkaConnection implements RequestMemory.Holder, RequestMemory.Waiter {

    private static final Logger LOG = LoggerFactory.getLogger(KafkaConnection.class);
    /** Why connections were closed: 100 lines a minute at WARN, the rest at DEBUG (a client can cause thousands). */
    private static final RateLimitedLog CLOSE_LOG = new RateLimitedLog(100,
            java.util.concurrent.TimeUnit.MINUTES.toNanos(1), System::nanoTime);

    /**
     * Frames up to this size (most requests) get one buffer of exactly their size, filled by one copy, as
     * before the budget; larger ones start here (or at what the current read holds) and double as bytes arrive.
     */
    static final int FIRST_CHUNK = 64 * 1024;

    private final NetSocketInternal socket;
    private final ContextInternal context;
    private final ApiRegistry registry;
    private final RequestMemory memory;
    private final int maxFrameBytes;
    private final int maxInflight;
    private final Node localNode;
    private final String id;
    private final Runnable onRelease;
    /** Where the connection's authentication stands; requests are gated on it (see {@link #dispatch}). */
    private final Authentication auth;
    private final ProduceOrder produceOrder;
    private final ArrayDeque<Slot> inflight = new ArrayDeque<>();
    /**
     * The size prefix being read (it may span reads), then the frame being filled: a pooled direct buffer
     * whose capacity (all of it reserved from {@link #memory}) grows up to the declared size, owned by the
     * request until its response is encoded (see {@link #onData}).
     */
    private final byte[] sizePrefix = new byte[4];
    private int sizeFilled;
    /** The declared size of the frame being read, -1 while reading a size prefix. */
    private int frameSize = -1;
    private ByteBuf frame;
    /** Bytes reserved for the frame being read beyond its capacity: what a wake-up granted (see {@link #wake}). */
    private long credit;
    private boolean holding;
    private boolean closed;
    private boolean closeHandled;
    private boolean readingPaused;
    private boolean waitingForMemory;
    /** Muted for a client quota: nothing is read until {@link #throttleEndNanos} (Kafka's channel muting). */
    private boolean throttled;
    private long throttleEndNanos;
    /** Set when the budget asked this connection to close: {@link RequestMemory#evicted} is owed once closed. */
    private boolean evictionOwed;
    // progress of the frame being read, for the budget's choice of whom to evict (read from other threads);
    // time this side stopped reading does not count against the client
    private volatile long frameStartNanos;
    private volatile long frameFilled;
    private volatile long pausedNanos;
    private volatile long pausedSinceNanos;

    /** A request awaiting its turn to be answered. */
    private static final class Slot {
        List<Object> parts;
        boolean done;
    }

    KafkaConnection(NetSocketInternal socket, ContextInternal context, ApiRegistry registry, RequestMemory memory,
                    int maxFrameBytes, int maxInflight, Node localNode, String id, Runnable onRelease,
                    Authentication auth) {
        this.socket = socket;
        this.context = context;
        this.registry = registry;
        this.memory = memory;
        this.maxFrameBytes = maxFrameBytes;
        this.maxInflight = maxInflight;
        this.localNode = localNode;
        this.id = id;
        this.onRelease = onRelease;
        this.auth = auth;
        this.produceOrder = new ProduceOrder(context);
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
        closeHandled = true;
        onRelease.run();
        if (waitingForMemory) {
            waitingForMemory = false;
            memory.cancel(this);
        }
        releaseIncompleteFrame();
        for (Slot s : inflight) {
            release(s);
        }
        inflight.clear();
        if (evictionOwed) {
            evictionOwed = false;
            memory.evicted();
        }
    }

    private void releaseIncompleteFrame() {
        if (holding) {
            holding = false;
            memory.notHolding(this);
        }
        if (frame != null) {
            int reserved = frame.capacity();
            frame.release();
            frame = null;
            memory.releaseIncomplete(reserved);
        }
        releaseCredit();
        frameSize = -1;
    }

    private void releaseCredit() {
        if (credit > 0) {
            memory.releaseIncomplete(credit);
            credit = 0;
        }
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
     * Frames above {@link #FIRST_CHUNK} grow by doubling as their bytes arrive, never beyond what has arrived
     * and been granted by the budget (see {@link #fill}).
     * Parsed requests alias the frame only through record sets (Produce), which the partition owner has
     * written to the log before the handler's future completes; such a frame is released once the response
     * is encoded, any other once parsed.
     */
    private void onData(ByteBuf in) {
        while (!closed && in.isReadable()) {
            if (frameSize < 0) {
                int n = Math.min(4 - sizeFilled, in.readableBytes());
                in.readBytes(sizePrefix, sizeFilled, n);
                sizeFilled += n;
                if (sizeFilled < 4) {
                    return;
                }
                sizeFilled = 0;
                int size = ByteBuffer.wrap(sizePrefix).getInt();
                if (size < 0 || size > auth.maxFrameBytes(maxFrameBytes)) {
                    rejectFrameSize(size);
                    return;
                }
                frameSize = size;
            }
            fill(in);
            if (frame != null && frame.writerIndex() == frameSize) {
                completeFrame();
            }
        }
        if (frame != null && !closed) {
            // a frame that outlives the read it started in (most complete within it and never get here)
            if (!holding) {
                long now = System.nanoTime();
                frameStartNanos = now;
                pausedNanos = 0;
                if (readingPaused) {
                    pausedSinceNanos = now;
                }
                holding = true;
                memory.holding(this);
            }
            frameFilled = frame.writerIndex();
        }
    }

    /**
     * Copies what {@code in} holds of the current frame into it, first allocating or growing the frame within
     * the budget. Refused, it still takes the bytes already read (they are in memory anyway, and the read
     * buffer must be released), growing the frame to exactly what they need, and stops reading until the
     * budget wakes it.
     */
    private void fill(ByteBuf in) {
        int capacity = frame == null ? 0 : frame.capacity();
        int filled = frame == null ? 0 : frame.writerIndex();
        int n = Math.min(frameSize - filled, in.readableBytes());
        if (n == 0 && frameSize > 0) {
            return; // only the size prefix so far: nothing is allocated before the frame's bytes arrive
        }
        int need = filled + n;
        if (need > capacity || frame == null) {
            int target;
            if (frame == null) {
                target = frameSize <= FIRST_CHUNK ? frameSize : Math.min(frameSize, Math.max(FIRST_CHUNK, n));
            } else {
                target = (int) Math.min(frameSize, Math.max(need, 2L * capacity));
            }
            long fromCredit = Math.min(credit, target - capacity);
            long wanted = target - capacity - fromCredit;
            if (memory.tryReserve(wanted)) {
                credit -= fromCredit;
            } else {
                target = need;
                fromCredit = Math.min(credit, target - capacity);
                memory.forceReserve(target - capacity - fromCredit);
                credit -= fromCredit;
                waitForMemory(wanted);
            }
            if (frame == null) {
                frame = alloc().directBuffer(target, frameSize);
            } else {
                frame.capacity(target);
            }
        }
        in.readBytes(frame, n);
    }

    /** Hands the whole frame in {@link #frame} to {@link #dispatch}; its memory now waits on the handler. */
    private void completeFrame() {
        ByteBuf complete = frame;
        int reserved = complete.capacity();
        frame = null;
        frameSize = -1;
        if (holding) {
            holding = false;
            memory.notHolding(this);
        }
        memory.completed(reserved);
        releaseCredit();
        ByteBuf owned = null;
        try {
            owned = dispatch(complete, reserved);
        } finally {
            if (owned == null) {
                releaseFrame(complete, reserved);
            }
        }
    }

    private void releaseFrame(ByteBuf complete, int reserved) {
        complete.release();
        memory.release(reserved);
    }

    private void waitForMemory(long need) {
        if (!waitingForMemory) {
            waitingForMemory = true;
            updateReading();
            memory.await(this, need);
        }
    }

    /**
     * Both callbacks queue their work on the event loop rather than {@link ContextInternal#execute}, which runs
     * it at once when called on the same thread: a wake-up passed on from connection to connection of one event
     * loop would otherwise recurse as deep as the queue of waiters is long.
     */
    @Override
    public void wake(long granted) {
        context.nettyEventLoop().execute(() -> {
            if (closed || frame == null) {
                // closed, or the frame it was refused for was completed from the bytes already read
                memory.releaseIncomplete(granted);
            } else {
                credit += granted;
            }
            if (!closed) {
                waitingForMemory = false;
                updateReading();
            }
        });
    }

    @Override
    public long frameStartNanos() {
        return frameStartNanos;
    }

    @Override
    public double progressRate(long nowNanos) {
        long start = frameStartNanos;
        long pausedSince = pausedSinceNanos;
        long reading = nowNanos - start - pausedNanos - (pausedSince == 0 ? 0 : nowNanos - Math.max(pausedSince, start));
        return frameFilled / (Math.max(reading, 1_000_000L) / 1e9);
    }

    @Override
    public void evict() {
        context.nettyEventLoop().execute(() -> {
            evictionOwed = true;
            if (closeHandled) {
                evictionOwed = false;
                memory.evicted();
                return;
            }
            close("its request frame made the least progress while queued.max.request.bytes=" + memory.limit()
                    + " was exhausted (" + frameFilled + " of " + frameSize + " bytes received)");
        });
    }

    private void rejectFrameSize(int size) {
        String firstBytes = new String(sizePrefix, java.nio.charset.StandardCharsets.ISO_8859_1);
        if (firstBytes.matches("GET |POST|PUT |HEAD|DELE|OPTI|PATC|CONN")) {
            close("an HTTP request was sent to the Kafka port");
        } else if (size < 0) {
            close("negative frame size " + size);
        } else if (size > maxFrameBytes) {
            close("frame of " + size + " bytes is larger than socket.request.max.bytes=" + maxFrameBytes);
        } else {
            close("frame of " + size + " bytes before authentication is larger than sasl.server.max.receive.size="
                    + auth.maxFrameBytes(maxFrameBytes));
        }
    }

    /**
     * Serves one complete frame. Returns the frame when a handler took it and still reads from it (it is released
     * after the response is encoded), or null when the caller may release it at once: the request was answered or
     * refused here, or parsed into objects that no longer need the frame.
     */
    private ByteBuf dispatch(ByteBuf frameBuf, int reserved) {
        ByteBuffer buf = frameBuf.nioBuffer(0, frameBuf.writerIndex());
        if (auth.expectsRawToken()) {
            serveRawToken(buf);
            return null;
        }
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
        String unauthenticated = auth.refusal(apiKey);
        if (unauthenticated != null) {
            close(unauthenticated);
            return null;
        }
        long now = System.nanoTime();
        if (auth.sessionExpired(now) && !(apiKey == ApiKeys.SASL_HANDSHAKE && auth.mayReauthenticate(now))) {
            // KIP-368: as Kafka's SocketServer, on the first request after the session's end
            close("its SASL session (" + auth.sessionLifetimeMs() + " ms) ended without re-authentication");
            return null;
        }
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
        long parseStart = System.nanoTime();
        RequestHeader header;
        AbstractRequest request;
        try {
            header = RequestHeader.parse(buf);
            request = AbstractRequest.parseRequest(apiKey, version, new ByteBufferAccessor(buf)).request;
        } catch (RuntimeException e) {
            close("malformed " + apiKey + " v" + version + " request: " + (e.getMessage() != null ? e.getMessage() : e));
            return null;
        }
        boolean ownsFrame = aliasesFrame(apiKey);
        boolean consumerFetch = request.data() instanceof FetchRequestData f
                && (version >= 15 ? f.replicaState().replicaId() : f.replicaId()) < 0;
        if (consumerFetch) {
            capFetchToQuota((FetchRequestData) request.data(), header);
        }
        int frameBytes = frameBuf.writerIndex();
        Slot slot = enqueue();
        long started = System.nanoTime();
        RequestContext ctx = new RequestContext(header, socket.remoteAddress(), context, localNode, id, auth,
                registry.authorizer(), produceOrder);
        Future<? extends ApiMessage> result;
        try {
            @SuppressWarnings("unchecked")
            ApiHandler<ApiMessage> h = (ApiHandler<ApiMessage>) handler;
            result = h.handle(ctx, request.data());
        } catch (Throwable t) {
            result = Future.failedFuture(t);
        }
        long servingNanos = System.nanoTime() - parseStart;
        result.onComplete(ar -> {
            registry.metrics().requestCompleted(apiKey, started);
            context.execute(() -> {
                try {
                    respond(slot, header, request, ar, new Charge(frameBytes, servingNanos, consumerFetch));
                } finally {
                    if (ownsFrame) {
                        releaseFrame(frameBuf, reserved);
                    }
                }
            });
        });
        // the handler has what it needs from the frame, in a parsed form of its own, unless it aliases the frame
        return ownsFrame ? frameBuf : null;
    }

    /**
     * Whether a parsed request of {@code apiKey} still reads from its frame: kafka-clients parses zero-copy only
     * record sets (Produce) and opaque payloads (PushTelemetry's metrics, Envelope's request); every other field
     * is copied into the request objects while parsing.
     */
    static boolean aliasesFrame(ApiKeys apiKey) {
        return apiKey == ApiKeys.PRODUCE || apiKey == ApiKeys.PUSH_TELEMETRY || apiKey == ApiKeys.ENVELOPE;
    }

    /** A bare SASL token after a SaslHandshake v0: answered with the bare challenge, or the connection closes. */
    private void serveRawToken(ByteBuffer buf) {
        byte[] token = new byte[buf.remaining()];
        buf.get(token);
        try {
            ByteBuffer challenge = auth.rawToken(token);
            complete(enqueue(), List.of(io.netty.buffer.Unpooled.wrappedBuffer(challenge)));
        } catch (javax.security.sasl.SaslException e) {
            close("SASL authentication failed: " + e.getMessage());
        }
    }

    private Slot enqueue() {
        Slot slot = new Slot();
        inflight.add(slot);
        updateReading();
        return slot;
    }

    /** What a request costs against the client's quotas: its frame's bytes, its time on the event loop. */
    private record Charge(int frameBytes, long servingNanos, boolean consumerFetch) {
    }

    private void respond(Slot slot, RequestHeader header, AbstractRequest request, AsyncResult<? extends ApiMessage> ar,
                         Charge charge) {
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
            ClientQuotas quotas = registry.quotas();
            String user = principalName();
            String clientId = header.clientId() == null ? "" : header.clientId();
            long nowMs = System.currentTimeMillis();
            int requestThrottle = exemptFromRequestQuota(apiKey, charge) ? 0 : quotas.request()
                    .recordAndGetThrottleTimeMs(user, clientId, ClientQuotas.nanosToPercentage(charge.servingNanos()),
                            nowMs);
            int bandwidthThrottle = 0;
            if (apiKey == ApiKeys.PRODUCE && ar.succeeded()) {
                // Kafka charges a produce request's size, once it has been appended
                bandwidthThrottle = quotas.produce().recordAndGetThrottleTimeMs(user, clientId, charge.frameBytes(),
                        nowMs);
            }
            List<Object> parts = null;
            if (charge.consumerFetch() && ar.succeeded() && quotas.fetch().enabled()) {
                parts = ResponseEncoder.encode(alloc(), header.correlationId(), headerVersion, response, version);
                long size = 0;
                for (Object part : parts) {
                    size += part instanceof ByteBuf b ? b.readableBytes() : ((FileRegion) part).count();
                }
                bandwidthThrottle = quotas.fetch().recordAndGetThrottleTimeMs(user, clientId, size, nowMs);
                if (Math.max(bandwidthThrottle, requestThrottle) > 0) {
                    // as Kafka: a throttled consumer gets no data (it was not sent, so it is not charged)
                    quotas.fetch().unrecord(user, clientId, size, nowMs);
                    parts.forEach(ReferenceCountUtil::safeRelease);
                    parts = null;
                    response = new FetchResponseData().setErrorCode(Errors.NONE.code())
                            .setSessionId(((FetchResponseData) response).sessionId());
                }
            }
            int throttle = Math.max(bandwidthThrottle, requestThrottle);
            if (throttle > 0) {
                quotas.throttled(bandwidthThrottle >= requestThrottle ? bandwidthType(apiKey) : QuotaType.REQUEST,
                        throttle);
                if (response != null) {
                    ClientQuotas.setThrottleTimeMs(response, throttle);
                }
                parts = null;
            }
            if (parts == null && response != null) {
                parts = ResponseEncoder.encode(alloc(), header.correlationId(), headerVersion, response, version);
            }
            complete(slot, parts);
            if (throttle > 0) {
                mute(throttle);
            }
        } catch (RuntimeException e) {
            LOG.error("Cannot encode {} v{} response", apiKey, version, e);
            close("response encoding failed");
        }
    }

    private static QuotaType bandwidthType(ApiKeys apiKey) {
        return apiKey == ApiKeys.PRODUCE ? QuotaType.PRODUCE : QuotaType.FETCH;
    }

    /** The principal's name as quota entities name users (User:alice is "alice"; no SASL: "ANONYMOUS"). */
    private String principalName() {
        org.apache.kafka.common.security.auth.KafkaPrincipal p = auth.principal();
        return p == null ? "" : p.getName();
    }

    /**
     * Kafka exempts from the request-time quota what the cluster needs to work and what a client must be able to
     * do to learn of its throttling: ApiVersions, the SASL exchange, inter-broker requests and replica fetches.
     */
    private static boolean exemptFromRequestQuota(ApiKeys apiKey, Charge charge) {
        return apiKey == ApiKeys.API_VERSIONS || apiKey == ApiKeys.SASL_HANDSHAKE
                || apiKey == ApiKeys.SASL_AUTHENTICATE || apiKey.clusterAction
                || apiKey == ApiKeys.FETCH && !charge.consumerFetch();
    }

    /**
     * Kafka's cap on a consumer's fetch under a byte-rate quota: no response larger than what the quota allows over
     * {@code quota.window.num - 1} windows, so a single response cannot take a client far beyond it.
     */
    private void capFetchToQuota(FetchRequestData fetch, RequestHeader header) {
        ClientQuotas quotas = registry.quotas();
        if (!quotas.fetch().enabled()) {
            return;
        }
        double max = quotas.fetch().maxValueInQuotaWindow(principalName(),
                header.clientId() == null ? "" : header.clientId());
        if (max < Integer.MAX_VALUE) {
            int cap = (int) Math.max(1, max);
            if (fetch.maxBytes() <= 0 || fetch.maxBytes() > cap) {
                fetch.setMaxBytes(cap);
            }
            if (fetch.minBytes() > fetch.maxBytes()) {
                fetch.setMinBytes(fetch.maxBytes());
            }
        }
    }

    /**
     * Mutes the connection for a quota's throttle time, as Kafka does once a throttled response is sent: no request
     * is read from it until the time is up. Nothing waits: reading is turned off and a timer on this event loop turns
     * it back on. A longer throttle while muted extends it.
     */
    private void mute(int ms) {
        long end = System.nanoTime() + ms * 1_000_000L;
        if (throttled && end - throttleEndNanos <= 0) {
            return;
        }
        boolean timerPending = throttled;
        throttleEndNanos = end;
        if (!throttled) {
            throttled = true;
            updateReading();
        }
        if (!timerPending) {
            // one timer at a time: when it fires before an extended end, it sets itself again for the rest
            context.nettyEventLoop().schedule(this::unmuteWhenDue, ms, java.util.concurrent.TimeUnit.MILLISECONDS);
        }
    }

    private void unmuteWhenDue() {
        if (!throttled || closed) {
            return;
        }
        long left = throttleEndNanos - System.nanoTime();
        if (left <= 0) {
            throttled = false;
            updateReading();
        } else {
            // the throttle was extended since this timer was set (or it fired early): wait for the rest
            context.nettyEventLoop().schedule(this::unmuteWhenDue, left, java.util.concurrent.TimeUnit.NANOSECONDS);
        }
    }

    private void complete(Slot slot, List<Object> parts) {
        slot.parts = parts;
        slot.done = true;
        while (!inflight.isEmpty() && inflight.peekFirst().done) {
            Slot head = inflight.pollFirst();
            if (head.parts != null) {
                for (Object part : head.parts) {
                    if (part instanceof FileRegion region && socket.isSsl()) {
                        // TLS cannot carry a zero-copy file region: the SslHandler takes buffers only. A slice read
                        // in chunks may fail part way (its segment deleted): the response is cut, so the connection
                        // must close rather than go on with a broken stream
                        socket.writeMessage(TlsCopies.forTls(region, alloc()))
                                .onFailure(e -> close("a TLS fetch answer could not be read: " + e.getMessage()));
                    } else {
                        socket.writeMessage(part);
                    }
                }
            }
        }
        if (auth.closeAfterResponse() && inflight.isEmpty()) {
            close("SASL authentication failed (" + (auth.failure() != null ? auth.failure() : auth.state()) + ")");
            return;
        }
        updateReading();
    }

    /** The channel's allocator: responses come from the same pool as the reads, on this event loop's cache. */
    private ByteBufAllocator alloc() {
        return socket.channelHandlerContext().alloc();
    }

    /**
     * Reads from the socket only while a request may be taken on. This turns the channel's auto-read off
     * rather than pausing the Vert.x socket, which would go on reading into a queue of up to 24 read buffers
     * before it stopped the channel: memory outside the budget.
     */
    private void updateReading() {
        if (closed) {
            return;
        }
        boolean shouldPause = waitingForMemory || throttled || inflight.size() >= maxInflight || socket.writeQueueFull();
        if (shouldPause != readingPaused) {
            readingPaused = shouldPause;
            long now = System.nanoTime();
            if (shouldPause) {
                pausedSinceNanos = now;
            } else {
                pausedNanos += now - Math.max(pausedSinceNanos, frameStartNanos);
                pausedSinceNanos = 0;
            }
            socket.channelHandlerContext().channel().config().setAutoRead(!shouldPause);
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
        long leftOut = CLOSE_LOG.admit();
        if (leftOut < 0) {
            LOG.debug("Closing connection {} from {}: {}", id, socket.remoteAddress(), reason);
        } else {
            LOG.warn("Closing connection {} from {}: {}{}", id, socket.remoteAddress(), reason, leftOut == 0 ? ""
                    : " (" + leftOut + " more connections closed since the last such line; DEBUG logs each)");
        }
        closed = true;
        socket.close();
    }
}
