package io.runnel.security;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.List;

import javax.security.sasl.SaslException;
import javax.security.sasl.SaslServer;

import org.apache.kafka.common.security.authenticator.CredentialCache;
import org.apache.kafka.common.security.plain.internals.PlainSaslServer;
import org.apache.kafka.common.security.scram.ScramCredential;
import org.apache.kafka.common.security.scram.internals.ScramFormatter;
import org.apache.kafka.common.security.scram.internals.ScramMechanism;

/**
 * Checks a user name and password for clients that send them in the clear over a connection of their own
 * (the TCP and SockJS event-bus bridges): against the SCRAM credentials of the metadata log (the password is
 * salted and hashed as the SCRAM exchange would, then compared with the stored key), then against the PLAIN
 * users of every SASL listener that enables PLAIN (their JAAS {@code user_<name>="<password>"} options, read by
 * Kafka's own PLAIN server).
 *
 * <p>Threading: {@link #verify} may take milliseconds (SCRAM's 4096+ PBKDF2 iterations): call it on a worker
 * thread, never on an event loop. Safe from any thread: the SCRAM cache is concurrent and the PLAIN servers
 * are new per call.
 */
public final class PasswordVerifier {

    private final List<ListenerSecurity> plainListeners;
    private final CredentialCache scram;

    public PasswordVerifier(List<ListenerSecurity> listeners, CredentialCache scram) {
        this.plainListeners = listeners.stream().filter(l -> l.sasl() != null
                && l.sasl().enabled().contains(PlainSaslServer.PLAIN_MECHANISM)).toList();
        this.scram = scram;
    }

    /** True when {@code password} is {@code user}'s SCRAM password (any mechanism) or PLAIN password. */
    public boolean verify(String user, String password) {
        if (user == null || user.isEmpty() || password == null) {
            return false;
        }
        for (ScramMechanism m : ScramMechanism.values()) {
            CredentialCache.Cache<ScramCredential> users = scram.cache(m.mechanismName(), ScramCredential.class);
            ScramCredential c = users == null ? null : users.get(user);
            if (c != null) {
                try {
                    ScramFormatter f = new ScramFormatter(m);
                    byte[] storedKey = f.storedKey(f.clientKey(f.saltedPassword(password, c.salt(), c.iterations())));
                    if (MessageDigest.isEqual(storedKey, c.storedKey())) {
                        return true;
                    }
                } catch (GeneralSecurityException e) {
                    // SHA-256 and SHA-512 are in every Java runtime; treat a failure as a wrong password
                }
            }
        }
        byte[] plain = ("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8);
        for (ListenerSecurity l : plainListeners) {
            SaslServer server = l.sasl().newServer(PlainSaslServer.PLAIN_MECHANISM);
            try {
                server.evaluateResponse(plain);
                if (server.isComplete()) {
                    return true;
                }
            } catch (SaslException | RuntimeException e) {
                // wrong password for this listener's users: try the next listener
            }
        }
        return false;
    }
}
