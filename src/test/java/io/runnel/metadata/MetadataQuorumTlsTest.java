package io.runnel.metadata;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import io.runnel.config.BrokerConfig;
import io.runnel.security.QuorumTls;
import io.runnel.security.TestCertificates;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutual TLS on the metadata quorum's Raft transport ({@code controller.quorum.ssl.enabled=true}): three members in
 * one JVM holding certificates the cluster trusts elect a leader and commit; a member whose certificate comes from
 * another issuer, or that speaks plaintext, is never heard: the other two go on without it, and it never sees
 * what they commit nor gets its own proposals in.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MetadataQuorumTlsTest {

    private static final int REQUEST_TIMEOUT_MS = 3000;

    @TempDir
    Path dir;
    private TestCertificates certs;
    private final Map<Integer, MetadataQuorum> nodes = new HashMap<>();
    private final List<QuorumConfig.Voter> voters = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        certs = TestCertificates.create(dir);
        for (int id = 1; id <= 3; id++) {
            voters.add(new QuorumConfig.Voter(id, "127.0.0.1", io.runnel.testutil.Ports.free()));
        }
    }

    @AfterEach
    void closeAll() {
        nodes.values().forEach(MetadataQuorum::close);
    }

    /** The quorum's TLS as a broker reads it from its configuration. */
    private Map<String, String> tlsSettings(Path keystore) {
        Map<String, String> p = new HashMap<>();
        p.put(BrokerConfig.CONTROLLER_QUORUM_SSL_ENABLED, "true");
        p.put("ssl.keystore.location", keystore.toString());
        p.put("ssl.keystore.type", "PKCS12");
        p.put("ssl.keystore.password", TestCertificates.STORE_PASSWORD);
        p.put("ssl.truststore.location", certs.truststore().toString());
        p.put("ssl.truststore.password", TestCertificates.TRUST_PASSWORD);
        return p;
    }

    private QuorumTls tls(Path keystore) {
        return QuorumTls.from(new BrokerConfig(tlsSettings(keystore)));
    }

    private void start(int id, QuorumTls tls) throws IOException {
        QuorumConfig config = new QuorumConfig(voters, true, dir.resolve("node" + id), id, 500, REQUEST_TIMEOUT_MS,
                100_000);
        MetadataQuorum q = new MetadataQuorum(config, "tls-test", new MetadataStateMachine(new MetadataImage(c -> false)), tls);
        q.start("127.0.0.1", voters.get(id - 1).port());
        nodes.put(id, q);
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("waiting for %s", what).isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    /** Waits until one of {@code members} leads and all of them know it. */
    private int awaitLeader(List<Integer> members) throws InterruptedException {
        int[] leader = {-1};
        await("a leader among " + members, () -> {
            for (int id : members) {
                if (nodes.get(id).isLeaderReady()) {
                    leader[0] = id;
                    return members.stream().allMatch(m -> nodes.get(m).leaderId() == id);
                }
            }
            return false;
        });
        return leader[0];
    }

    private JsonObject propose(int from) throws Exception {
        return nodes.get(from).propose(MetadataRecords.allocateProducerIds(from, 10))
                .get(2L * REQUEST_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    }

    @Test
    void threeMembersWithTrustedCertificatesElectAndCommit() throws Exception {
        QuorumTls tls = tls(certs.serverKeystore());
        for (int id = 1; id <= 3; id++) {
            start(id, tls);
        }
        int leader = awaitLeader(List.of(1, 2, 3));
        int follower = leader % 3 + 1;
        long index = propose(follower).getLong(MetadataQuorum.LOG_INDEX);
        assertThat(index).isPositive();
        await("every member to apply the record", () -> nodes.values().stream().allMatch(q -> q.stateMachine().appliedIndex() >= index));
    }

    /**
     * Ratis's gRPC client (3.1) closes its request stream for good on the first failed answer (LeaderNotReady from a
     * leader just elected did it in SecureReplicationIT: every later proposal failed with "client->n2 is closed"
     * for the whole term). A proposer renews the connection after a failure: here the stream to the leader is
     * closed the way such an answer closes it, and the next proposal still gets in.
     */
    @Test
    void aProposerRecoversFromAStreamClosedByAFailedAnswer() throws Exception {
        QuorumTls tls = tls(certs.serverKeystore());
        for (int id = 1; id <= 3; id++) {
            start(id, tls);
        }
        int leader = awaitLeader(List.of(1, 2, 3));
        int proposer = leader % 3 + 1;
        long first = propose(proposer).getLong(MetadataQuorum.LOG_INDEX);

        java.lang.reflect.Field rpcField = MetadataQuorum.class.getDeclaredField("rpc");
        rpcField.setAccessible(true);
        org.apache.ratis.client.impl.RaftClientRpcWithProxy<?> rpc =
                (org.apache.ratis.client.impl.RaftClientRpcWithProxy<?>) rpcField.get(nodes.get(proposer));
        Object proxy = rpc.getProxies().getProxy(MetadataQuorum.peerId(leader));
        java.lang.reflect.Method streams = proxy.getClass().getDeclaredMethod("getUnorderedAsyncStreamObservers");
        streams.setAccessible(true);
        Object observers = streams.invoke(proxy);
        java.lang.reflect.Method close = observers.getClass().getDeclaredMethod("close");
        close.setAccessible(true);
        close.invoke(observers);

        long next = propose(proposer).getLong(MetadataQuorum.LOG_INDEX);
        assertThat(next).isGreaterThan(first);
    }

    @Test
    void aMemberWhoseCertificateTheClusterDoesNotTrustIsNeverHeard() throws Exception {
        // another issuer's certificate (self-signed, not in the cluster's truststore); it trusts the cluster itself
        Path rogue = dir.resolve("rogue.p12");
        TestCertificates.keytool("-genkeypair", "-alias", "rogue", "-keyalg", "RSA", "-keysize", "2048", "-validity",
                "2", "-dname", "CN=localhost,O=elsewhere", "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-storetype",
                "PKCS12", "-keystore", rogue.toString(), "-storepass", TestCertificates.STORE_PASSWORD, "-keypass",
                TestCertificates.STORE_PASSWORD);
        outsiderIsNeverHeard(tls(rogue));
    }

    @Test
    void aPlaintextMemberCannotTalkToATlsQuorum() throws Exception {
        outsiderIsNeverHeard(null);
    }

    /** Members 1 and 2 trusted, member 3 with {@code outsider}'s transport. */
    private void outsiderIsNeverHeard(QuorumTls outsider) throws Exception {
        QuorumTls tls = tls(certs.serverKeystore());
        start(1, tls);
        start(2, tls);
        start(3, outsider);
        int leader = awaitLeader(List.of(1, 2));
        long index = propose(leader == 1 ? 2 : 1).getLong(MetadataQuorum.LOG_INDEX);
        assertThat(index).isPositive();
        await("both trusted members to apply it", () -> nodes.get(1).stateMachine().appliedIndex() >= index
                && nodes.get(2).stateMachine().appliedIndex() >= index);

        MetadataQuorum three = nodes.get(3);
        // give it every chance: several election timeouts and heartbeats
        Thread.sleep(3000);
        assertThat(three.stateMachine().appliedIndex()).as("the outsider saw nothing committed").isLessThan(index);
        assertThat(three.leaderId()).as("the outsider never heard from the leader").isNotEqualTo(leader);
        assertThat(nodes.get(leader).silenceMs().get(3)).as("the outsider never answered the leader")
                .isGreaterThanOrEqualTo(2000L);
        assertThatThrownBy(() -> propose(3)).isInstanceOf(ExecutionException.class);
        assertThat(nodes.get(leader).isLeaderReady()).as("the trusted members still lead").isTrue();
        long next = propose(leader).getLong(MetadataQuorum.LOG_INDEX);
        assertThat(next).isGreaterThan(index);
        assertThat(three.stateMachine().appliedIndex()).isLessThan(index);
    }

    @Test
    void badSettingsStopStartUpNamingTheKey() {
        Map<String, String> noTrust = tlsSettings(certs.serverKeystore());
        noTrust.remove("ssl.truststore.location");
        noTrust.remove("ssl.truststore.password");
        assertThatThrownBy(() -> QuorumTls.from(new BrokerConfig(noTrust))).isInstanceOf(ConfigException.class)
                .hasMessageContaining("ssl.truststore.location")
                .hasMessageContaining(BrokerConfig.CONTROLLER_QUORUM_SSL_ENABLED);

        Map<String, String> noKeystore = tlsSettings(certs.serverKeystore());
        noKeystore.remove("ssl.keystore.location");
        noKeystore.remove("ssl.keystore.type");
        noKeystore.remove("ssl.keystore.password");
        assertThatThrownBy(() -> QuorumTls.from(new BrokerConfig(noKeystore))).isInstanceOf(ConfigException.class)
                .hasMessageContaining("ssl.keystore.location");

        Map<String, String> wrongPassword = tlsSettings(certs.serverKeystore());
        wrongPassword.put("ssl.keystore.password", "not-it");
        assertThatThrownBy(() -> QuorumTls.from(new BrokerConfig(wrongPassword))).isInstanceOf(ConfigException.class)
                .hasMessageContaining("ssl.keystore");

        // controller.quorum.ssl.* override the listener's: a good truststore here mends the missing one
        Map<String, String> quorumOwn = new HashMap<>(noTrust);
        quorumOwn.put("controller.quorum.ssl.truststore.location", certs.truststore().toString());
        quorumOwn.put("controller.quorum.ssl.truststore.password", TestCertificates.TRUST_PASSWORD);
        assertThat(QuorumTls.from(new BrokerConfig(quorumOwn))).isNotNull();
        // ... and a bad one there breaks a good listener's
        Map<String, String> quorumBad = tlsSettings(certs.serverKeystore());
        quorumBad.put("controller.quorum.ssl.truststore.password", "not-it");
        assertThatThrownBy(() -> QuorumTls.from(new BrokerConfig(quorumBad))).isInstanceOf(ConfigException.class)
                .hasMessageContaining("ssl.truststore");

        Map<String, String> off = tlsSettings(certs.serverKeystore());
        off.put(BrokerConfig.CONTROLLER_QUORUM_SSL_ENABLED, "false");
        assertThat(QuorumTls.from(new BrokerConfig(off))).isNull();
    }
}
