package io.runnel.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.runnel.Broker;
import io.runnel.config.BrokerConfig;
import io.runnel.replication.BrokerLogin;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetSocket;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The brokers' own client side of a secured inter-broker listener, against a real node: TLS checked against the
 * node's certificate, then a SASL login (SCRAM-SHA-512 as the user runnel.bootstrap.scram.users seeded, and PLAIN)
 * with the username and password of the listener's JAAS login; a wrong password is refused with the broker's
 * SASL_AUTHENTICATION_FAILED.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class BrokerLoginIT {

    @TempDir
    Path dir;
    private Broker broker;
    private Vertx vertx;

    @AfterEach
    void stop() throws Exception {
        if (vertx != null) {
            vertx.close().await(30, TimeUnit.SECONDS);
        }
        if (broker != null) {
            broker.closeAndWait(30, TimeUnit.SECONDS);
        }
    }

    private static String scramJaas(String user, String password) {
        return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + user
                + "\" password=\"" + password + "\";";
    }

    private Map<String, String> props(TestCertificates certs) {
        Map<String, String> p = new HashMap<>();
        p.put("log.dirs", dir.resolve("data").toString());
        p.put("listeners", "SASL_SSL://127.0.0.1:0");
        p.put("inter.broker.listener.name", "SASL_SSL");
        p.put("admin.listener", "127.0.0.1:0");
        p.put("bridge.enabled", "false");
        p.put("sasl.enabled.mechanisms", "SCRAM-SHA-512,PLAIN");
        p.put("sasl.mechanism.inter.broker.protocol", "SCRAM-SHA-512");
        p.put("listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config", scramJaas("broker", "broker-secret"));
        p.put("listener.name.sasl_ssl.plain.sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule"
                + " required username=\"carol\" password=\"carol-secret\" user_carol=\"carol-secret\";");
        p.put("ssl.keystore.location", certs.serverKeystore().toString());
        p.put("ssl.keystore.password", TestCertificates.STORE_PASSWORD);
        p.put("ssl.truststore.location", certs.truststore().toString());
        p.put("ssl.truststore.password", TestCertificates.TRUST_PASSWORD);
        p.put("runnel.bootstrap.scram.users", "SCRAM-SHA-512=[name=broker,password=broker-secret]");
        return p;
    }

    @Test
    void logsInOverTlsWithScramAndPlainAndIsRefusedAWrongPassword() throws Exception {
        TestCertificates certs = TestCertificates.create(dir);
        Map<String, String> props = props(certs);
        broker = Broker.start(props).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        props.put("listeners", "SASL_SSL://" + broker.bootstrapServers());
        vertx = Vertx.vertx();

        // the seeded user appears once the node has caught up with its log
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                login(props, "SCRAM-SHA-512");
                break;
            } catch (Exception e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(200);
            }
        }
        login(props, "PLAIN");

        props.put("listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config", scramJaas("broker", "wrong"));
        assertThatThrownBy(() -> login(props, "SCRAM-SHA-512")).hasRootCauseInstanceOf(SaslAuthenticationException.class)
                .hasMessageContaining("SCRAM-SHA-512");
    }

    private void login(Map<String, String> props, String mechanism) throws Exception {
        BrokerConfig config = new BrokerConfig(props);
        InterBrokerSecurity security = InterBrokerSecurity.of(config, config.interBrokerListener(), mechanism);
        assertThat(security.usesTls()).isTrue();
        NetClient client = vertx.createNetClient(security.applyTo(new NetClientOptions()));
        String address = broker.bootstrapServers();
        int port = Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
        javax.security.sasl.SaslClient sasl = security.newSaslClient("127.0.0.1");
        try {
            NetSocket s = client.connect(port, "127.0.0.1")
                    .compose(socket -> BrokerLogin.run(vertx, socket, sasl, "test", 20_000))
                    .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
            // the connection then serves requests: ApiVersions v3 is answered
            io.vertx.core.Promise<Integer> answered = io.vertx.core.Promise.promise();
            io.vertx.core.parsetools.RecordParser parser = io.vertx.core.parsetools.RecordParser.newFixed(4);
            int[] size = {-1};
            parser.handler(b -> {
                if (size[0] < 0) {
                    size[0] = b.getInt(0);
                    parser.fixedSizeMode(size[0]);
                } else {
                    answered.tryComplete(b.getInt(0));
                }
            });
            s.handler(parser);
            org.apache.kafka.common.message.RequestHeaderData header = new org.apache.kafka.common.message.RequestHeaderData()
                    .setRequestApiKey(org.apache.kafka.common.protocol.ApiKeys.API_VERSIONS.id).setRequestApiVersion((short) 3)
                    .setCorrelationId(42).setClientId("test");
            org.apache.kafka.common.message.ApiVersionsRequestData body = new org.apache.kafka.common.message.ApiVersionsRequestData()
                    .setClientSoftwareName("test").setClientSoftwareVersion("1");
            org.apache.kafka.common.protocol.ObjectSerializationCache cache = new org.apache.kafka.common.protocol.ObjectSerializationCache();
            short hv = org.apache.kafka.common.protocol.ApiKeys.API_VERSIONS.requestHeaderVersion((short) 3);
            int len = header.size(cache, hv) + body.size(cache, (short) 3);
            java.nio.ByteBuffer out = java.nio.ByteBuffer.allocate(4 + len).putInt(len);
            header.write(new org.apache.kafka.common.protocol.ByteBufferAccessor(out), cache, hv);
            body.write(new org.apache.kafka.common.protocol.ByteBufferAccessor(out), cache, (short) 3);
            s.write(io.vertx.core.buffer.Buffer.buffer(out.array()));
            assertThat(answered.future().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS))
                    .as("correlation id of the answer").isEqualTo(42);
            s.close();
        } finally {
            client.close();
        }
    }
}
