package io.runnel.security;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Key;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Key and trust stores for tests, made with the JDK's keytool: a server certificate for CN=localhost (SAN
 * 127.0.0.1), a client certificate for CN=alice,OU=test,O=runnel, and one truststore (JKS) holding both, all
 * valid for two days. The server's key and certificate are also given as PEM strings, the way
 * ssl.keystore.key and ssl.keystore.certificate.chain take them.
 */
public record TestCertificates(Path serverKeystore, Path clientKeystore, Path truststore, String serverKeyPem,
                               String serverCertificatePem) {

    public static final String STORE_PASSWORD = "store-secret";
    public static final String TRUST_PASSWORD = "trust-secret";
    public static final String CLIENT_DN = "CN=alice,OU=test,O=runnel";

    public static TestCertificates create(Path dir) throws Exception {
        Path server = dir.resolve("server.p12");
        Path client = dir.resolve("client.p12");
        Path trust = dir.resolve("truststore.jks");
        keytool("-genkeypair", "-alias", "server", "-keyalg", "RSA", "-keysize", "2048", "-validity", "2",
                "-dname", "CN=localhost", "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-storetype", "PKCS12",
                "-keystore", server.toString(), "-storepass", STORE_PASSWORD, "-keypass", STORE_PASSWORD);
        keytool("-genkeypair", "-alias", "client", "-keyalg", "RSA", "-keysize", "2048", "-validity", "2",
                "-dname", CLIENT_DN, "-storetype", "PKCS12",
                "-keystore", client.toString(), "-storepass", STORE_PASSWORD, "-keypass", STORE_PASSWORD);
        for (String[] alias : new String[][] {{"server", server.toString()}, {"client", client.toString()}}) {
            Path cert = dir.resolve(alias[0] + ".crt");
            keytool("-exportcert", "-alias", alias[0], "-keystore", alias[1], "-storepass", STORE_PASSWORD, "-rfc",
                    "-file", cert.toString());
            keytool("-importcert", "-noprompt", "-alias", alias[0], "-file", cert.toString(), "-storetype", "JKS",
                    "-keystore", trust.toString(), "-storepass", TRUST_PASSWORD);
        }
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(server)) {
            ks.load(in, STORE_PASSWORD.toCharArray());
        }
        Key key = ks.getKey("server", STORE_PASSWORD.toCharArray());
        Certificate cert = ks.getCertificate("server");
        return new TestCertificates(server, client, trust, pem("PRIVATE KEY", key.getEncoded()),
                pem("CERTIFICATE", cert.getEncoded()));
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    public static void keytool(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("keytool " + String.join(" ", args) + " failed: " + out);
        }
    }
}
