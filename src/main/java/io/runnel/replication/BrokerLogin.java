package io.runnel.replication;

import java.nio.ByteBuffer;

import javax.security.sasl.SaslClient;
import javax.security.sasl.SaslException;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetSocket;
import io.vertx.core.parsetools.RecordParser;
import org.apache.kafka.common.errors.IllegalSaslStateException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.UnsupportedSaslMechanismException;
import org.apache.kafka.common.message.RequestHeaderData;
import org.apache.kafka.common.message.ResponseHeaderData;
import org.apache.kafka.common.message.SaslAuthenticateRequestData;
import org.apache.kafka.common.message.SaslAuthenticateResponseData;
import org.apache.kafka.common.message.SaslHandshakeRequestData;
import org.apache.kafka.common.message.SaslHandshakeResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.protocol.ObjectSerializationCache;

/**
 * A broker's SASL login on a freshly opened connection to another broker, as Kafka's SaslClientAuthenticator runs
 * it: SaslHandshake v1 naming the mechanism, then SaslAuthenticate v2 requests carrying the tokens of a
 * {@link SaslClient} (kafka-clients' SCRAM client or the JDK's PLAIN one) until the client is complete. A refusal
 * (SASL_AUTHENTICATION_FAILED, UNSUPPORTED_SASL_MECHANISM, ...) fails the login with the broker's message and the
 * connection is closed; so is a login that takes longer than its timeout.
 *
 * <p>Threading: {@link #run} is called on the connection's context and completes there. SASL steps are evaluated
 * on a worker thread, since a SCRAM client derives the salted password with thousands of HMACs.
 */
public final class BrokerLogin {

    private static final short HANDSHAKE_VERSION = 1;
    private static final short AUTHENTICATE_VERSION = 2;

    private final Vertx vertx;
    private final Context context;
    private final NetSocket socket;
    private final SaslClient client;
    private final String clientId;
    private final Promise<NetSocket> done = Promise.promise();
    private final RecordParser parser = RecordParser.newFixed(4);
    private int correlationId;
    private int expected;
    private ApiKeys expectedKey;
    private int frameSize = -1;

    private BrokerLogin(Vertx vertx, Context context, NetSocket socket, SaslClient client, String clientId) {
        this.vertx = vertx;
        this.context = context;
        this.socket = socket;
        this.client = client;
        this.clientId = clientId;
    }

    /**
     * Logs in on {@code socket} with {@code client}; completes with the socket, authenticated and with no handler
     * of its own left, or fails (the socket then closed).
     */
    public static Future<NetSocket> run(Vertx vertx, NetSocket socket, SaslClient client, String clientId,
                                       long timeoutMs) {
        Context context = vertx.getOrCreateContext();
        BrokerLogin login = new BrokerLogin(vertx, context, socket, client, clientId);
        long timer = vertx.setTimer(timeoutMs, t -> login.fail(new SaslAuthenticationException(
                "no SASL login within " + timeoutMs + " ms")));
        login.start();
        return login.done.future().andThen(ar -> {
            vertx.cancelTimer(timer);
            try {
                client.dispose();
            } catch (SaslException ignored) {
                // nothing to give back: the clients here hold no resources
            }
        });
    }

    private void start() {
        parser.handler(this::onFrame);
        socket.handler(parser);
        socket.exceptionHandler(this::fail);
        socket.closeHandler(v -> fail(new SaslAuthenticationException("the broker closed the connection during"
                + " the SASL login")));
        send(ApiKeys.SASL_HANDSHAKE, HANDSHAKE_VERSION, new SaslHandshakeRequestData()
                .setMechanism(client.getMechanismName()));
    }

    private void onFrame(Buffer b) {
        if (frameSize < 0) {
            frameSize = b.getInt(0);
            if (frameSize < 0 || frameSize > 1024 * 1024) {
                fail(new IllegalSaslStateException("a frame of " + frameSize + " bytes during the SASL login"));
                return;
            }
            parser.fixedSizeMode(frameSize);
            return;
        }
        frameSize = -1;
        parser.fixedSizeMode(4);
        if (done.future().isComplete()) {
            return;
        }
        try {
            ByteBuffer buf = ByteBuffer.wrap(b.getBytes());
            short version = expectedKey == ApiKeys.SASL_HANDSHAKE ? HANDSHAKE_VERSION : AUTHENTICATE_VERSION;
            ResponseHeaderData header = new ResponseHeaderData(new ByteBufferAccessor(buf),
                    expectedKey.responseHeaderVersion(version));
            if (header.correlationId() != expected) {
                throw new IllegalSaslStateException("correlation id " + header.correlationId() + ", expected " + expected);
            }
            if (expectedKey == ApiKeys.SASL_HANDSHAKE) {
                onHandshake(new SaslHandshakeResponseData(new ByteBufferAccessor(buf), version));
            } else {
                onAuthenticate(new SaslAuthenticateResponseData(new ByteBufferAccessor(buf), version));
            }
        } catch (RuntimeException e) {
            fail(e);
        }
    }

    private void onHandshake(SaslHandshakeResponseData response) {
        Errors error = Errors.forCode(response.errorCode());
        if (error == Errors.UNSUPPORTED_SASL_MECHANISM) {
            fail(new UnsupportedSaslMechanismException("the broker does not enable " + client.getMechanismName()
                    + "; it enables " + response.mechanisms()));
            return;
        }
        if (error != Errors.NONE) {
            fail(error.exception());
            return;
        }
        step(client.hasInitialResponse() ? new byte[0] : null);
    }

    private void onAuthenticate(SaslAuthenticateResponseData response) {
        Errors error = Errors.forCode(response.errorCode());
        if (error != Errors.NONE) {
            fail(error == Errors.SASL_AUTHENTICATION_FAILED
                    ? new SaslAuthenticationException(response.errorMessage()) : error.exception(response.errorMessage()));
            return;
        }
        if (client.isComplete()) {
            succeed();
            return;
        }
        step(response.authBytes());
    }

    /** Evaluates {@code challenge} (null: the first token of a client without an initial response) and sends it. */
    private void step(byte[] challenge) {
        vertx.executeBlocking(() -> client.evaluateChallenge(challenge == null ? new byte[0] : challenge), false)
                .onComplete(ar -> {
                    if (done.future().isComplete()) {
                        return;
                    }
                    if (ar.failed()) {
                        fail(ar.cause());
                    } else if (ar.result() == null && client.isComplete()) {
                        // the server's last message checked out (SCRAM's server signature): nothing more to send
                        succeed();
                    } else {
                        send(ApiKeys.SASL_AUTHENTICATE, AUTHENTICATE_VERSION,
                                new SaslAuthenticateRequestData().setAuthBytes(ar.result() == null ? new byte[0] : ar.result()));
                    }
                });
    }

    private void send(ApiKeys key, short version, ApiMessage body) {
        int id = ++correlationId;
        expected = id;
        expectedKey = key;
        RequestHeaderData header = new RequestHeaderData().setRequestApiKey(key.id).setRequestApiVersion(version)
                .setCorrelationId(id).setClientId(clientId);
        short headerVersion = key.requestHeaderVersion(version);
        ObjectSerializationCache cache = new ObjectSerializationCache();
        int size = header.size(cache, headerVersion) + body.size(cache, version);
        ByteBuffer buf = ByteBuffer.allocate(4 + size);
        buf.putInt(size);
        ByteBufferAccessor acc = new ByteBufferAccessor(buf);
        header.write(acc, cache, headerVersion);
        body.write(acc, cache, version);
        socket.write(Buffer.buffer(buf.array()));
    }

    private void succeed() {
        if (!done.future().isComplete()) {
            // before completing: the caller installs its own handlers in the completion's callbacks
            socket.handler(null);
            socket.exceptionHandler(null);
            socket.closeHandler(null);
            done.tryComplete(socket);
        }
    }

    private void fail(Throwable t) {
        context.runOnContext(v -> {
            if (done.tryFail(t)) {
                socket.handler(null);
                socket.closeHandler(null);
                socket.exceptionHandler(null);
                socket.close();
            }
        });
    }
}
