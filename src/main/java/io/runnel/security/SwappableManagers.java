package io.runnel.security;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.concurrent.atomic.AtomicReference;

import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The key and trust managers a TLS listener's SSL context is built with, delegating every call to the stores in
 * force now, so that replacing them ({@link #swap}) changes the certificate every later handshake presents and
 * checks on every event loop of the listener at once, without rebuilding the context; a handshake already done
 * (an open connection) is not touched. Both managers read one reference, so a handshake never mixes an old key
 * store with a new trust store. Any thread.
 */
final class SwappableManagers {

    /** One generation of stores: the key manager (never null on a server) and the trust manager (null: none). */
    record Stores(X509ExtendedKeyManager keys, X509ExtendedTrustManager trust) {
        static Stores of(KeyManagerFactory kmf, TrustManagerFactory tmf) {
            X509ExtendedKeyManager keys = null;
            if (kmf != null) {
                for (KeyManager km : kmf.getKeyManagers()) {
                    if (km instanceof X509ExtendedKeyManager x) {
                        keys = x;
                        break;
                    }
                }
            }
            X509ExtendedTrustManager trust = null;
            if (tmf != null) {
                for (TrustManager tm : tmf.getTrustManagers()) {
                    if (tm instanceof X509ExtendedTrustManager x) {
                        trust = x;
                        break;
                    }
                }
            }
            return new Stores(keys, trust);
        }
    }

    private final AtomicReference<Stores> current;
    private final KeyManagerView keyManager = new KeyManagerView();
    private final TrustManagerView trustManager = new TrustManagerView();

    SwappableManagers(Stores initial) {
        this.current = new AtomicReference<>(initial);
    }

    void swap(Stores next) {
        current.set(next);
    }

    Stores current() {
        return current.get();
    }

    X509ExtendedKeyManager keyManager() {
        return keyManager;
    }

    X509ExtendedTrustManager trustManager() {
        return trustManager;
    }

    private final class KeyManagerView extends X509ExtendedKeyManager {
        private X509ExtendedKeyManager d() {
            return current.get().keys();
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return d().getClientAliases(keyType, issuers);
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return d().chooseClientAlias(keyType, issuers, socket);
        }

        @Override
        public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
            return d().chooseEngineClientAlias(keyType, issuers, engine);
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            return d().getServerAliases(keyType, issuers);
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return d().chooseServerAlias(keyType, issuers, socket);
        }

        @Override
        public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
            return d().chooseEngineServerAlias(keyType, issuers, engine);
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            return d().getCertificateChain(alias);
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return d().getPrivateKey(alias);
        }
    }

    private final class TrustManagerView extends X509ExtendedTrustManager {
        private X509ExtendedTrustManager d() {
            return current.get().trust();
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            d().checkClientTrusted(chain, authType, socket);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            d().checkServerTrusted(chain, authType, socket);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            d().checkClientTrusted(chain, authType, engine);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            d().checkServerTrusted(chain, authType, engine);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            d().checkClientTrusted(chain, authType);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            d().checkServerTrusted(chain, authType);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            X509ExtendedTrustManager t = current.get().trust();
            return t == null ? new X509Certificate[0] : t.getAcceptedIssuers();
        }
    }
}
