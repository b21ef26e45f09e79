import java.nio.file.Files;
import java.nio.file.Path;

import org.jose4j.jwk.JsonWebKey;
import org.jose4j.jwk.JsonWebKeySet;
import org.jose4j.jwk.RsaJsonWebKey;
import org.jose4j.jwk.RsaJwkGenerator;
import org.jose4j.jws.AlgorithmIdentifiers;
import org.jose4j.jws.JsonWebSignature;
import org.jose4j.jwt.JwtClaims;

/**
 * A stand-in identity provider for secure.sh: makes an RSA key, writes its public half as a JWKS to DIR/jwks.json
 * (which secure.sh serves over HTTP as sasl.oauthbearer.jwks.endpoint.url) and prints a JWT signed with it.
 * Run as a single-file program on the fat JAR's classpath (it holds jose4j):
 *
 * <pre>java -cp target/runnel.jar src/test/compat/OAuthToken.java DIR SUBJECT ISSUER AUDIENCE SECONDS</pre>
 */
public class OAuthToken {
    public static void main(String[] args) throws Exception {
        if (args.length != 5) {
            System.err.println("usage: OAuthToken DIR SUBJECT ISSUER AUDIENCE SECONDS");
            System.exit(2);
        }
        RsaJsonWebKey key = RsaJwkGenerator.generateJwk(2048);
        key.setKeyId("compat-key");
        key.setAlgorithm(AlgorithmIdentifiers.RSA_USING_SHA256);
        Files.writeString(Path.of(args[0], "jwks.json"),
                new JsonWebKeySet(key).toJson(JsonWebKey.OutputControlLevel.PUBLIC_ONLY));
        JwtClaims claims = new JwtClaims();
        claims.setSubject(args[1]);
        claims.setIssuer(args[2]);
        claims.setAudience(args[3]);
        claims.setIssuedAtToNow();
        claims.setExpirationTimeMinutesInTheFuture(Long.parseLong(args[4]) / 60f);
        JsonWebSignature jws = new JsonWebSignature();
        jws.setPayload(claims.toJson());
        jws.setKey(key.getPrivateKey());
        jws.setKeyIdHeaderValue(key.getKeyId());
        jws.setAlgorithmHeaderValue(AlgorithmIdentifiers.RSA_USING_SHA256);
        System.out.println(jws.getCompactSerialization());
    }
}
