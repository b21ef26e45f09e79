package io.runnel.txn;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

import io.runnel.cluster.BrokerDirectory;
import io.runnel.cluster.BrokerEndpoint;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetSocket;
import io.vertx.core.parsetools.RecordParser;
import org.apache.kafka.common.errors.BrokerNotAvailableException;
import org.apache.kafka.common.errors.DisconnectException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.message.RequestHeaderData;
import org.apache.kafka.common.message.ResponseHeaderData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.ObjectSerializationCache;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kafka requests from this broker to another (or to itself) over the inter-broker listener: one connection per
 * broker, opened with the listener's TLS and SASL login as replica fetchers open theirs (the {@code connector}),
 * requests pipelined on it and matched to their answers by correlation id. A connection that fails or leaves a
 * request unanswered for {@code requestTimeoutMs} is closed and its requests fail; the next request reconnects.
 * The transaction coordinator sends WriteTxnMarkers with it, partition leaders AddPartitionsToTxn.
 *
 * <p>Threading: everything runs on the client's own event-loop context; {@link #send} may be called from any
 * thread and its future completes on that context.
 */
public final class InterBrokerClient {

    private static final Logger LOG = LoggerFactory.getLogger(InterBrokerClient.class);

    private final Vertx vertx;
    private final Context context;
    private final BrokerDirectory directory;
    private final Function<BrokerEndpoint, Future<NetSocket>> connector;
    private final String clientId;
    private final long requestTimeoutMs;
    private final Map<Integer, Connection> connections = new HashMap<>();
    private boolean closed;

    private record Pending(ApiKeys key, short version, Promise<ApiMessage> promise, long timer) {
    }

    private final class Connection {
        final int brokerId;
        Future<NetSocket> socket;
        final Map<Integer, Pending> inFlight = new LinkedHashMap<>();
        int correlationId;

        Connection(int brokerId) {
            this.brokerId = brokerId;
        }
    }

    /** Creates the client on an event-loop context of its own. */
    public InterBrokerClient(Vertx vertx, BrokerDirectory directory,
                             Function<BrokerEndpoint, Future<NetSocket>> connector, int localNode,
                             long requestTimeoutMs) {
        this.vertx = vertx;
        this.context = ((io.vertx.core.internal.VertxInternal) vertx).createEventLoopContext();
        this.directory = directory;
        this.connector = connector;
        this.clientId = "runnel-broker-" + localNode;
        this.requestTimeoutMs = requestTimeoutMs;
    }

    /** Sends {@code request} as version {@code version} of {@code key} to broker {@code brokerId}. */
    public Future<ApiMessage> send(int brokerId, ApiKeys key, short version, ApiMessage request) {
        Promise<ApiMessage> promise = Promise.promise();
        context.runOnContext(v -> {
            if (closed) {
                promise.fail(new DisconnectException("closed"));
                return;
            }
            Connection c = connections.computeIfAbsent(brokerId, Connection::new);
            if (c.socket == null) {
                BrokerEndpoint endpoint = directory.endpoint(brokerId);
                if (endpoint == null) {
                    connections.remove(brokerId);
                    promise.fail(new BrokerNotAvailableException("broker " + brokerId + " is not registered"));
                    return;
                }
                c.socket = connect(c, endpoint);
            }
            Future<NetSocket> socket = c.socket;
            socket.onComplete(ar -> {
                if (ar.failed()) {
                    promise.fail(ar.cause());
                    return;
                }
                write(c, ar.result(), key, version, request, promise);
            });
        });
        return promise.future();
    }

    private Future<NetSocket> connect(Connection c, BrokerEndpoint endpoint) {
        Promise<NetSocket> p = Promise.promise();
        connector.apply(endpoint).onComplete(ar -> context.runOnContext(v -> {
            if (ar.failed()) {
                LOG.info("Cannot reach broker {} at {}:{}: {}", c.brokerId, endpoint.host(), endpoint.port(),
                        ar.cause().toString());
                if (connections.get(c.brokerId) == c) {
                    connections.remove(c.brokerId);
                }
                p.fail(ar.cause());
                return;
            }
            NetSocket s = ar.result();
            if (closed || connections.get(c.brokerId) != c) {
                s.close();
                p.fail(new DisconnectException("closed"));
                return;
            }
            RecordParser parser = RecordParser.newFixed(4);
            parser.handler(new io.vertx.core.Handler<>() {
                private int size = -1;

                @Override
                public void handle(Buffer b) {
                    if (size < 0) {
                        size = b.getInt(0);
                        parser.fixedSizeMode(size);
                    } else {
                        size = -1;
                        parser.fixedSizeMode(4);
                        onFrame(c, s, b);
                    }
                }
            });
            s.handler(parser);
            s.closeHandler(x -> broken(c, s, new DisconnectException("connection to broker " + c.brokerId
                    + " closed")));
            s.exceptionHandler(t -> broken(c, s, t));
            p.complete(s);
        }));
        return p.future();
    }

    private void write(Connection c, NetSocket s, ApiKeys key, short version, ApiMessage request,
                       Promise<ApiMessage> promise) {
        if (connections.get(c.brokerId) != c) {
            promise.fail(new DisconnectException("connection to broker " + c.brokerId + " closed"));
            return;
        }
        int id = ++c.correlationId;
        RequestHeaderData header = new RequestHeaderData().setRequestApiKey(key.id).setRequestApiVersion(version)
                .setCorrelationId(id).setClientId(clientId);
        short headerVersion = key.requestHeaderVersion(version);
        ObjectSerializationCache cache = new ObjectSerializationCache();
        int size = header.size(cache, headerVersion) + request.size(cache, version);
        ByteBuffer buf = ByteBuffer.allocate(4 + size);
        buf.putInt(size);
        ByteBufferAccessor acc = new ByteBufferAccessor(buf);
        header.write(acc, cache, headerVersion);
        request.write(acc, cache, version);
        long timer = vertx.setTimer(requestTimeoutMs, t -> context.runOnContext(v -> broken(c, s,
                new TimeoutException("no answer from broker " + c.brokerId + " within " + requestTimeoutMs + " ms"))));
        c.inFlight.put(id, new Pending(key, version, promise, timer));
        s.write(Buffer.buffer(buf.array()));
    }

    private void onFrame(Connection c, NetSocket s, Buffer frame) {
        try {
            ByteBuffer buf = ByteBuffer.wrap(frame.getBytes());
            int correlationId = buf.getInt(0);
            Pending p = c.inFlight.remove(correlationId);
            if (p == null) {
                throw new IllegalStateException("an answer to unknown request " + correlationId);
            }
            vertx.cancelTimer(p.timer());
            new ResponseHeaderData(new ByteBufferAccessor(buf), p.key().responseHeaderVersion(p.version()));
            ApiMessage response = p.key().messageType.newResponse();
            response.read(new ByteBufferAccessor(buf), p.version());
            p.promise().complete(response);
        } catch (RuntimeException e) {
            broken(c, s, e);
        }
    }

    private void broken(Connection c, NetSocket s, Throwable cause) {
        if (connections.get(c.brokerId) == c) {
            connections.remove(c.brokerId);
        }
        for (Iterator<Pending> it = c.inFlight.values().iterator(); it.hasNext(); ) {
            Pending p = it.next();
            it.remove();
            vertx.cancelTimer(p.timer());
            p.promise().tryFail(cause);
        }
        s.close();
    }

    public Future<Void> close() {
        Promise<Void> done = Promise.promise();
        context.runOnContext(v -> {
            closed = true;
            for (Connection c : connections.values()) {
                if (c.socket != null) {
                    c.socket.onSuccess(NetSocket::close);
                }
            }
            connections.clear();
            done.complete();
        });
        return done.future();
    }
}
