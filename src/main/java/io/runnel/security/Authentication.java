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
import org.apache.kafka.common.security.authenticator.SaslInternalConfigs;

/**
 * One connection's authentication, as Kafka's SaslServerAuthenticator runs it. A SASL connection starts in
 * {@link State#HANDSHAKE}: only ApiVersions and SaslHandshake are served; after a handshake v1 only
 * SaslAuthenticate, after a handshake v0 the next frames are bare SASL tokens (Kafka's legacy framing). Anything
 * else closes the connection, as in Kafka. The outcome is the {@link #principal}, kept for the authorizer.
 * Connections without SASL are complete from the start.
 *
 * <p>Sessions (KIP-368): a completed exchange gets a lifetime, {@code connections.max.reauth.ms} of its mechanism
 * capped by the expiry of the credential (an OAuth token's {@code exp}), computed as Kafka's SaslServerAuthenticator
 * computes it and sent to the client in SaslAuthenticate's session_lifetime_ms. Before it ends the client
 * re-authenticates on the same connection: a SaslHandshake (v1+, the same mechanism, at most one start a second)
 * on a completed connection begins a new exchange, which must end with the same principal; requests already
 * being served keep the old principal meanwhile. A connection whose session has ended without that is closed on
 * its next request ({@link #sessionExpired}).
 *
 * <p>Threading: used only on the connection's event loop. Not thread-safe.
 */
public final class Authentication {

    /** Where the exchange stands. */
    public enum State { HANDSHAKE, AUTHENTICATE, RAW_TOKENS, COMPLETE, FAILED }

    /** Kafka's MIN_REAUTH_INTERVAL_ONE_SECOND_NANOS: re-authentications start at most once a second. */
    private static final long MIN_REAUTH_INTERVAL_NANOS = 1_000_000_000L;

    private final ListenerSecurity listener;
    private final String listenerName;
    private final SSLSession session;
    private final InetAddress client;
    private State state;
    private SaslServer server;
    private KafkaPrincipal principal;
    private boolean closeAfterResponse;
    /** The mechanism of the completed exchange, which a re-authentication must use again. */
    private String mechanism;
    /** Why the re-authentication under way must fail (it asked for another mechanism), or null. */
    private String reauthRefusal;
    private boolean reauthenticating;
    private boolean sessionLimited;
    private long sessionExpirationNanos;
    private long sessionLifetimeMs;
    private long lastReauthStartNanos;
    private int reauthentications;
    /** Why the exchange failed, for the node's log only (the client is told less, as Kafka tells it). */
    private String failure;

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

    /**
     * The authenticated principal; null until the SASL exchange has completed. During a re-authentication, the
     * principal of the session being renewed.
     */
    public KafkaPrincipal principal() {
        return principal;
    }

    /** How many times this connection has re-authenticated (KIP-368). */
    public int reauthentications() {
        return reauthentications;
    }

    /** The lifetime given to the current session (session_lifetime_ms), 0 when it has no limit. */
    public long sessionLifetimeMs() {
        return sessionLifetimeMs;
    }

    /**
     * Whether the session has outlived its lifetime without re-authenticating: the connection is then closed on
     * its next request, unless that request begins a re-authentication ({@link #mayReauthenticate}).
     */
    public boolean sessionExpired(long nowNanos) {
        return state == State.COMPLETE && sessionLimited && nowNanos - sessionExpirationNanos > 0;
    }

    /** Whether a SaslHandshake now would begin a re-authentication (a limited session, none begun this second). */
    public boolean mayReauthenticate(long nowNanos) {
        return state == State.COMPLETE && sessionLimited
                && (lastReauthStartNanos == 0 || nowNanos - lastReauthStartNanos >= MIN_REAUTH_INTERVAL_NANOS);
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
                    : "unexpected " + key + " request during SASL " + (reauthenticating ? "re-" : "") + "authentication";
            case RAW_TOKENS -> "a SASL token was expected";
            case FAILED -> "authentication failed";
        };
    }

    /** Why the exchange failed (the SASL server's own words, for the node's log), or null. */
    public String failure() {
        return failure;
    }

    /** Whether the connection is to be closed once the response just produced is written. */
    public boolean closeAfterResponse() {
        return closeAfterResponse;
    }

    /** SaslHandshake: picks the mechanism; an unknown one is answered with those enabled, then the connection closes. */
    public SaslHandshakeResponseData handshake(short version, String mechanism) {
        long now = System.nanoTime();
        if (state == State.COMPLETE && listener != null && version >= 1 && mayReauthenticate(now)) {
            return reauthenticate(now, mechanism);
        }
        if (state != State.HANDSHAKE) {
            // Kafka's KafkaApis answers handshakes that arrive after authentication (or without SASL) so
            return new SaslHandshakeResponseData().setErrorCode(Errors.ILLEGAL_SASL_STATE.code());
        }
        SaslHandshakeResponseData response = new SaslHandshakeResponseData()
                .setMechanisms(listener.sasl().enabled());
        this.mechanism = mechanism;
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
     * KIP-368: a SaslHandshake on a completed connection with a limited session begins a new exchange. Another
     * mechanism than the session's is accepted here and refused at its SaslAuthenticate, as Kafka does.
     */
    private SaslHandshakeResponseData reauthenticate(long now, String requested) {
        lastReauthStartNanos = now;
        reauthenticating = true;
        state = State.AUTHENTICATE;
        if (!requested.equals(mechanism)) {
            reauthRefusal = "SASL mechanism '" + requested + "' requested by client is not supported for"
                    + " re-authentication of mechanism '" + mechanism + "'";
            server = null;
        } else {
            server = listener.sasl().newServer(mechanism);
        }
        return new SaslHandshakeResponseData().setMechanisms(listener.sasl().enabled())
                .setErrorCode(Errors.NONE.code());
    }

    /**
     * SaslAuthenticate: one token of the exchange. A refused one is answered with SASL_AUTHENTICATION_FAILED and
     * the connection is then closed (the caller holds the answer for connection.failed.authentication.delay.ms).
     */
    public SaslAuthenticateResponseData authenticate(short version, byte[] token) {
        if (state != State.AUTHENTICATE) {
            return new SaslAuthenticateResponseData().setErrorCode(Errors.ILLEGAL_SASL_STATE.code())
                    .setErrorMessage("SaslAuthenticate request received after successful authentication");
        }
        try {
            if (reauthRefusal != null) {
                throw new SaslAuthenticationException(reauthRefusal);
            }
            byte[] challenge = evaluate(token);
            SaslAuthenticateResponseData response = new SaslAuthenticateResponseData()
                    .setErrorCode(Errors.NONE.code()).setAuthBytes(challenge == null ? new byte[0] : challenge);
            if (state == State.COMPLETE && version >= 1) {
                response.setSessionLifetimeMs(sessionLifetimeMs);
            }
            return response;
        } catch (SaslException | SaslAuthenticationException | IllegalArgumentException e) {
            // IllegalArgumentException: kafka-clients' SASL servers refuse some malformed tokens so
            state = State.FAILED;
            closeAfterResponse = true;
            failure = e.getMessage();
            String message = e instanceof SaslAuthenticationException ? e.getMessage()
                    : "Authentication failed during authentication due to invalid credentials with SASL mechanism "
                            + mechanism;
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
        } catch (SaslException | SaslAuthenticationException | IllegalArgumentException e) {
            state = State.FAILED;
            throw e instanceof SaslException s ? s : new SaslException(e.getMessage(), e);
        }
    }

    private byte[] evaluate(byte[] token) throws SaslException {
        byte[] challenge = server.evaluateResponse(token);
        if (server.isComplete()) {
            KafkaPrincipal authenticated = listener.principals().build(new SaslAuthenticationContext(server,
                    listener.protocol(), client, listenerName, Optional.ofNullable(session)));
            if (reauthenticating && !authenticated.equals(principal)) {
                throw new SaslAuthenticationException("Cannot change principals during re-authentication from "
                        + principal + ": " + authenticated);
            }
            startSession();
            principal = authenticated;
            state = State.COMPLETE;
            if (reauthenticating) {
                reauthenticating = false;
                reauthentications++;
            }
        }
        return challenge;
    }

    /**
     * The new session's lifetime, as Kafka's SaslServerAuthenticator computes it: connections.max.reauth.ms of
     * the mechanism, capped by the credential's expiry (the negotiated property CREDENTIAL.LIFETIME.MS, an OAuth
     * token's exp), never negative; no limit when neither is set.
     */
    private void startSession() {
        long endMs = System.currentTimeMillis();
        long endNanos = System.nanoTime();
        Object expiry = server.getNegotiatedProperty(SaslInternalConfigs.CREDENTIAL_LIFETIME_MS_SASL_NEGOTIATED_PROPERTY_KEY);
        Long credentialExpirationMs = expiry instanceof Long l ? l : null;
        long maxReauthMs = listener.sasl().maxReauthMs(mechanism);
        sessionLimited = credentialExpirationMs != null || maxReauthMs > 0;
        if (!sessionLimited) {
            sessionLifetimeMs = 0;
            return;
        }
        long lifetime;
        if (credentialExpirationMs == null) {
            lifetime = maxReauthMs;
        } else if (maxReauthMs <= 0) {
            lifetime = credentialExpirationMs - endMs;
        } else {
            lifetime = Math.min(credentialExpirationMs - endMs, maxReauthMs);
        }
        sessionLifetimeMs = Math.max(0, lifetime);
        sessionExpirationNanos = endNanos + sessionLifetimeMs * 1_000_000L;
    }
}
