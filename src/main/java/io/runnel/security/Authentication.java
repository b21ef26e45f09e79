package io.runnel.security;

import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.Optional;

import javax.net.ssl.SSLSession;
import javax.security.sasl.SaslException;
import javax.security.sasl.SaslServer;

import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.message.SaslAuthenticateResponseData;
import org.apache.kafka.common.message.SaslHandshakeResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.security.auth.KafkaPrincipal;
import org.apache.kafka.common.security.auth.SaslAuthenticationContext;

/**
 * One connection's authentication, as Kafka's SaslServerAuthenticator runs it. A SASL connection starts in
 * {@link State#HANDSHAKE}: only ApiVersions and SaslHandshake are served; after a handshake v1 only
 * SaslAuthenticate, after a handshake v0 the next frames are bare SASL tokens (Kafka's legacy framing). Anything
 * else closes the connection, as in Kafka. The outcome is the {@link #principal}, kept for the authorizer.
 * Connections without SASL are complete from the start.
 *
 * <p>Threading: used only on the connection's event loop. Not thread-safe.
 */
public final class Authentication {

    /** Where the exchange stands. */
    public enum State { HANDSHAKE, AUTHENTICATE, RAW_TOKENS, COMPLETE, FAILED }

    private final ListenerSecurity listener;
    private final String listenerName;
    private final SSLSession session;
    private final InetAddress client;
    private State state;
    private SaslServer server;
    private KafkaPrincipal principal;
    private boolean closeAfterResponse;

    private Authentication(ListenerSecurity listener, String listenerName, SSLSession session, InetAddress client,
                           State state, KafkaPrincipal principal) {
        this.listener = listener;
        this.listenerName = listenerName;
        this.session = session;
        this.client = client;
        this.state = state;
        this.principal = principal;
    }

    /** An authenticated connection (no SASL on its listener), with the principal its transport gave. */
    public static Authentication complete(String listenerName, KafkaPrincipal principal) {
        return new Authentication(null, listenerName, null, null, State.COMPLETE, principal);
    }

    static Authentication sasl(ListenerSecurity listener, SSLSession session, InetAddress client) {
        return new Authentication(listener, listener.listener().name(), session, client, State.HANDSHAKE, null);
    }

    public String listenerName() {
        return listenerName;
    }

    public State state() {
        return state;
    }

    public boolean authenticated() {
        return state == State.COMPLETE;
    }

    /** The authenticated principal; null until the SASL exchange has completed. */
    public KafkaPrincipal principal() {
        return principal;
    }

    /** Largest frame accepted now: sasl.server.max.receive.size until authenticated. */
    public int maxFrameBytes(int authenticatedLimit) {
        return authenticated() || listener == null ? authenticatedLimit
                : Math.min(authenticatedLimit, listener.maxReceiveBeforeAuth());
    }

    /** Whether the next frame is a bare SASL token (after a SaslHandshake v0) rather than a Kafka request. */
    public boolean expectsRawToken() {
        return state == State.RAW_TOKENS;
    }

    /**
     * Why a request of {@code key} may not be served now (the connection is then closed, as Kafka closes it), or
     * null if it may.
     */
    public String refusal(ApiKeys key) {
        return switch (state) {
            case COMPLETE -> null;
            case HANDSHAKE -> key == ApiKeys.API_VERSIONS || key == ApiKeys.SASL_HANDSHAKE ? null
                    : "unexpected " + key + " request during SASL handshake (authenticate first)";
            case AUTHENTICATE -> key == ApiKeys.SASL_AUTHENTICATE ? null
                    : "unexpected " + key + " request during SASL authentication";
            case RAW_TOKENS -> "a SASL token was expected";
            case FAILED -> "authentication failed";
        };
    }

    /** Whether the connection is to be closed once the response just produced is written. */
    public boolean closeAfterResponse() {
        return closeAfterResponse;
    }

    /** SaslHandshake: picks the mechanism; an unknown one is answered with those enabled, then the connection closes. */
    public SaslHandshakeResponseData handshake(short version, String mechanism) {
        if (state != State.HANDSHAKE) {
            // Kafka's KafkaApis answers handshakes that arrive after authentication (or without SASL) so
            return new SaslHandshakeResponseData().setErrorCode(Errors.ILLEGAL_SASL_STATE.code());
        }
        SaslHandshakeResponseData response = new SaslHandshakeResponseData()
                .setMechanisms(listener.sasl().enabled());
        server = listener.sasl().newServer(mechanism);
        if (server == null) {
            state = State.FAILED;
            closeAfterResponse = true;
            return response.setErrorCode(Errors.UNSUPPORTED_SASL_MECHANISM.code());
        }
        state = version == 0 ? State.RAW_TOKENS : State.AUTHENTICATE;
        return response.setErrorCode(Errors.NONE.code());
    }

    /**
     * SaslAuthenticate: one token of the exchange. A refused one is answered with SASL_AUTHENTICATION_FAILED and
     * the connection is then closed (the caller holds the answer for connection.failed.authentication.delay.ms).
     */
    public SaslAuthenticateResponseData authenticate(byte[] token) {
        if (state != State.AUTHENTICATE) {
            return new SaslAuthenticateResponseData().setErrorCode(Errors.ILLEGAL_SASL_STATE.code())
                    .setErrorMessage("SaslAuthenticate request received after successful authentication");
        }
        try {
            byte[] challenge = evaluate(token);
            return new SaslAuthenticateResponseData().setErrorCode(Errors.NONE.code())
                    .setAuthBytes(challenge == null ? new byte[0] : challenge).setSessionLifetimeMs(0);
        } catch (SaslException | SaslAuthenticationException e) {
            state = State.FAILED;
            closeAfterResponse = true;
            String message = e instanceof SaslAuthenticationException ? e.getMessage()
                    : "Authentication failed during authentication due to invalid credentials with SASL mechanism "
                            + server.getMechanismName();
            return new SaslAuthenticateResponseData().setErrorCode(Errors.SASL_AUTHENTICATION_FAILED.code())
                    .setErrorMessage(message).setAuthBytes(new byte[0]);
        }
    }

    /** A bare token after SaslHandshake v0; the challenge to send back, size-prefixed. Throws when refused. */
    public ByteBuffer rawToken(byte[] token) throws SaslException {
        try {
            byte[] challenge = evaluate(token);
            byte[] c = challenge == null ? new byte[0] : challenge;
            return (ByteBuffer) ByteBuffer.allocate(4 + c.length).putInt(c.length).put(c).flip();
        } catch (SaslException | SaslAuthenticationException e) {
            state = State.FAILED;
            throw e instanceof SaslException s ? s : new SaslException(e.getMessage(), e);
        }
    }

    private byte[] evaluate(byte[] token) throws SaslException {
        byte[] challenge = server.evaluateResponse(token);
        if (server.isComplete()) {
            principal = listener.principals().build(new SaslAuthenticationContext(server, listener.protocol(), client,
                    listenerName, Optional.ofNullable(session)));
            state = State.COMPLETE;
        }
        return challenge;
    }
}
