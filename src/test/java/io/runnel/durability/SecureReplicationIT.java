package io.runnel.durability;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import io.runnel.config.BrokerConfig;
import io.runnel.config.Listener;
import io.runnel.replication.BrokerLogin;
import io.runnel.security.InterBrokerSecurity;
import io.runnel.security.TestCertificates;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.parsetools.RecordParser;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.SslConfigs;
import org.apache.kafka.common.message.FetchRequestData;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.message.RequestHeaderData;
import org.apache.kafka.common.message.ResponseHeaderData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.protocol.ObjectSerializationCache;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Three broker processes whose only listeners are SASL_SSL: the brokers replicate to each other over TLS as the
 * SCRAM-SHA-512 user {@code broker} (seeded by runnel.bootstrap.scram.users, as kafka-storage.sh format
 * --add-scram seeds it), with the authorizer on and {@code User:broker} a super user. acks=all writes from the Java
 * producer are replicated to every broker (the metadata quorum itself on mutual TLS:
 * controller.quorum.ssl.enabled), survive a kill -9 of the partition's leader, and are read back whole; a
 * user who may read the topic but not CLUSTER_ACTION the cluster cannot pose as a follower, while the broker's own
 * login can. The acks=all throughput is logged beside that of the same cluster over PLAINTEXT (measured, not
 * asserted: the machine is shared).
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class SecureReplicationIT {

    private static final Logger LOG = LoggerFactory.getLogger(SecureReplicationIT.class);
    private static final String BROKER_JAAS = "org.apache.kafka.common.security.scram.ScramLoginModule required"
            + " username=\"broker\" password=\"broker-secret\";";
    private static final int RECORDS = 20_000;
    private static final int VALUE_BYTES = 1024;

    @TempDir
    Path dir;
    private ProcessCluster cluster;
    private Vertx vertx;

    @AfterEach
    void stop() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
        if (vertx != null) {
            vertx.close().await(30, TimeUnit.SECONDS);
        }
    }

    private Map<String, String> secureSettings(TestCertificates certs) {
        Map<String, String> o = new HashMap<>();
        o.put("inter.broker.listener.name", "SASL_SSL");
        o.put("sasl.enabled.mechanisms", "SCRAM-SHA-512");
        o.put("sasl.mechanism.inter.broker.protocol", "SCRAM-SHA-512");
        o.put("listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config", BROKER_JAAS);
        o.put("ssl.keystore.location", certs.serverKeystore().toString());
        o.put("ssl.keystore.password", TestCertificates.STORE_PASSWORD);
        o.put("ssl.truststore.location", certs.truststore().toString());
        o.put("ssl.truststore.password", TestCertificates.TRUST_PASSWORD);
        // and the metadata quorum's Raft transport over mutual TLS with the same certificate and truststore
        o.put("controller.quorum.ssl.enabled", "true");
        o.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
        o.put("super.users", "User:broker;User:admin");
        o.put("runnel.bootstrap.scram.users",
                "SCRAM-SHA-512=[name=broker,password=broker-secret] SCRAM-SHA-512=[name=admin,password=\"admin secret\"]");
        return o;
    }

    private Map<String, Object> client(TestCertificates certs, String user, String password) {
        Map<String, Object> c = new HashMap<>();
        c.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
        c.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_SSL");
        c.put(SaslConfigs.SASL_MECHANISM, "SCRAM-SHA-512");
        c.put(SaslConfigs.SASL_JAAS_CONFIG, "org.apache.kafka.common.security.scram.ScramLoginModule required"
                + " username=\"" + user + "\" password=\"" + password + "\";");
        c.put(SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG, certs.truststore().toString());
        c.put(SslConfigs.SSL_TRUSTSTORE_PASSWORD_CONFIG, TestCertificates.TRUST_PASSWORD);
        return c;
    }

    @Test
    void replicatesOverSaslSslSurvivesLeaderKillAndRefusesAPosingPrincipal() throws Exception {
        TestCertificates certs = TestCertificates.create(dir);
        cluster = new ProcessCluster(dir, secureSettings(certs));
        for (int id = 1; id <= 3; id++) {
            cluster.override(id, Map.of("listeners", "SASL_SSL://" + cluster.address(id)));
        }
        cluster.startAll();
        String topic = "secure";
        Map<String, Object> admin = client(certs, "admin", "admin secret");
        try (Admin a = awaitLogin(admin)) {
            ProcessCluster.createReplicatedTopic(a, topic, 2);
            a.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion("alice",
                    new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), "alice-secret"))).all()
                    .get(30, TimeUnit.SECONDS);
            List<AclBinding> acls = new ArrayList<>();
            for (AclOperation op : List.of(AclOperation.READ, AclOperation.DESCRIBE)) {
                acls.add(new AclBinding(new ResourcePattern(ResourceType.TOPIC, topic, PatternType.LITERAL),
                        new AccessControlEntry("User:alice", "*", op, AclPermissionType.ALLOW)));
            }
            acls.add(new AclBinding(new ResourcePattern(ResourceType.GROUP, "alice", PatternType.PREFIXED),
                    new AccessControlEntry("User:alice", "*", AclOperation.READ, AclPermissionType.ALLOW)));
            a.createAcls(acls).all().get(30, TimeUnit.SECONDS);
        }

        List<String> acked = produce(admin, topic, "before-", RECORDS);
        double secureMbPerSec = lastRate;
        try (Admin a = Admin.create(admin)) {
            // every follower caught up over SASL_SSL: each partition's ISR is all three brokers
            ProcessCluster.await("every replica in sync", Duration.ofSeconds(60), () -> {
                TopicDescription d = ProcessCluster.describe(a, topic);
                return d != null && d.partitions().stream().allMatch(p -> p.isr().size() == 3);
            }, () -> cluster.describeEverywhere(topic));
            int leader = ProcessCluster.describe(a, topic).partitions().get(0).leader().id();
            cluster.kill(leader);
            ProcessCluster.await("a new leader", Duration.ofSeconds(60), () -> {
                TopicDescription d = ProcessCluster.describe(a, topic);
                return d != null && d.partitions().stream().allMatch(p -> p.leader() != null && p.leader().id() != leader);
            });
        }
        acked.addAll(produce(admin, topic, "after-", 2_000));

        // alice may read the topic: she gets every acknowledged record
        Map<String, Object> cc = client(certs, "alice", "alice-secret");
        cc.put(ConsumerConfig.GROUP_ID_CONFIG, "alice-readers");
        cc.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        cc.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        cc.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        Set<String> seen = new HashSet<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cc)) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (!seen.containsAll(acked) && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    seen.add(r.key());
                }
            }
        }
        assertThat(seen).as("every acknowledged record, after the leader's kill -9").containsAll(acked);

        // ... but may not fetch as a replica, even from the follower's own host; the broker's login may
        vertx = Vertx.vertx();
        String follower;
        Uuid topicId;
        int partitionLeader;
        try (Admin a = Admin.create(admin)) {
            TopicDescription d = ProcessCluster.describe(a, topic);
            topicId = d.topicId();
            partitionLeader = d.partitions().get(0).leader().id();
            follower = Integer.toString(d.partitions().get(0).isr().stream()
                    .filter(n -> n.id() != partitionLeader).findFirst().orElseThrow().id());
        }
        int replicaId = Integer.parseInt(follower);
        String leaderAddress = cluster.address(partitionLeader);
        assertThat(replicaFetch(leaderAddress, certs, "alice", "alice-secret", topic, topicId, replicaId))
                .as("a replica fetch by a principal without CLUSTER_ACTION").isEqualTo(Errors.TOPIC_AUTHORIZATION_FAILED);
        assertThat(replicaFetch(leaderAddress, certs, "broker", "broker-secret", topic, topicId, replicaId))
                .as("the same fetch by the brokers' principal").isEqualTo(Errors.NONE);
        LOG.info("acks=all over SASL_SSL (SCRAM-SHA-512, TLS between brokers): {} MB/s", String.format("%.1f", secureMbPerSec));
    }

    @Test
    void measuresTheSameLoadOverPlaintext() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Boolean.getBoolean("faults.full"), "a measurement: full form only (-Dfaults.full=true)");
        cluster = new ProcessCluster(dir, Map.of());
        cluster.startAll();
        Map<String, Object> c = new HashMap<>();
        c.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
        try (Admin a = Admin.create(c)) {
            ProcessCluster.createReplicatedTopic(a, "plain", 2);
        }
        List<String> acked = produce(c, "plain", "p-", RECORDS);
        assertThat(acked).hasSize(RECORDS);
        LOG.info("acks=all over PLAINTEXT: {} MB/s", String.format("%.1f", lastRate));
    }

    /** Admin.create, once a login works: the seeded users are written just after the brokers come up. */
    private static Admin awaitLogin(Map<String, Object> config) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (true) {
            Admin a = Admin.create(config);
            try {
                a.describeCluster().nodes().get(10, TimeUnit.SECONDS);
                return a;
            } catch (Exception e) {
                a.close(Duration.ofSeconds(5));
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(500);
            }
        }
    }

    private double lastRate;

    /** Sends {@code n} records with acks=all; returns the keys acknowledged, and sets the rate in MB/s. */
    private List<String> produce(Map<String, Object> base, String topic, String prefix, int n) throws Exception {
        Map<String, Object> pc = new HashMap<>(base);
        pc.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        pc.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        pc.put(ProducerConfig.ACKS_CONFIG, "all");
        pc.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        pc.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 120_000);
        pc.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 30_000);
        Set<String> acked = ConcurrentHashMap.newKeySet();
        AtomicReference<Exception> failure = new AtomicReference<>();
        String value = "x".repeat(VALUE_BYTES);
        long start = System.nanoTime();
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(pc)) {
            for (int i = 0; i < n; i++) {
                String key = prefix + i;
                producer.send(new ProducerRecord<>(topic, key, value), (md, e) -> {
                    if (e == null) {
                        acked.add(key);
                    } else {
                        failure.compareAndSet(null, e);
                    }
                });
            }
            producer.flush();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        lastRate = n * (double) VALUE_BYTES / (1 << 20) / seconds;
        assertThat(failure.get()).as("acks=all sends").isNull();
        assertThat(acked).hasSize(n);
        return new ArrayList<>(acked);
    }

    /**
     * One Fetch v17 naming {@code replicaId} as the fetching replica, sent to {@code leader} over SASL_SSL as
     * {@code user} (logged in with the brokers' own client code): the error of partition 0.
     */
    private Errors replicaFetch(String leader, TestCertificates certs, String user, String password, String topic,
                                Uuid topicId, int replicaId) throws Exception {
        Map<String, String> props = new HashMap<>(secureSettings(certs));
        props.put("listeners", "SASL_SSL://" + leader);
        props.put("listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config", "org.apache.kafka.common.security.scram"
                + ".ScramLoginModule required username=\"" + user + "\" password=\"" + password + "\";");
        BrokerConfig config = new BrokerConfig(props);
        Listener listener = config.interBrokerListener();
        InterBrokerSecurity security = InterBrokerSecurity.of(config, listener, "SCRAM-SHA-512");
        NetClient client = vertx.createNetClient(security.applyTo(new NetClientOptions().setConnectTimeout(10_000)));
        Promise<FetchResponseData> answer = Promise.promise();
        String host = leader.substring(0, leader.lastIndexOf(':'));
        int port = Integer.parseInt(leader.substring(leader.lastIndexOf(':') + 1));
        Future<NetSocket> socket = client.connect(port, host).compose(s -> BrokerLogin.run(vertx, s,
                saslClient(security, host), "posing-replica", 30_000));
        socket.onFailure(answer::tryFail).onSuccess(s -> {
            RecordParser parser = RecordParser.newFixed(4);
            int[] size = {-1};
            parser.handler(b -> {
                if (size[0] < 0) {
                    size[0] = b.getInt(0);
                    parser.fixedSizeMode(size[0]);
                    return;
                }
                ByteBuffer buf = ByteBuffer.wrap(b.getBytes());
                new ResponseHeaderData(new ByteBufferAccessor(buf), ApiKeys.FETCH.responseHeaderVersion((short) 17));
                answer.tryComplete(new FetchResponseData(new ByteBufferAccessor(buf), (short) 17));
            });
            s.handler(parser);
            FetchRequestData req = new FetchRequestData()
                    .setReplicaState(new FetchRequestData.ReplicaState().setReplicaId(replicaId).setReplicaEpoch(-1))
                    .setMaxWaitMs(0).setMinBytes(0).setMaxBytes(1 << 20).setSessionId(0).setSessionEpoch(-1);
            req.topics().add(new FetchRequestData.FetchTopic().setTopic(topic).setTopicId(topicId)
                    .setPartitions(List.of(new FetchRequestData.FetchPartition().setPartition(0).setFetchOffset(0)
                            .setCurrentLeaderEpoch(-1).setLastFetchedEpoch(-1).setPartitionMaxBytes(1024))));
            RequestHeaderData header = new RequestHeaderData().setRequestApiKey(ApiKeys.FETCH.id)
                    .setRequestApiVersion((short) 17).setCorrelationId(7).setClientId("posing-replica");
            short hv = ApiKeys.FETCH.requestHeaderVersion((short) 17);
            ObjectSerializationCache cache = new ObjectSerializationCache();
            int len = header.size(cache, hv) + req.size(cache, (short) 17);
            ByteBuffer out = ByteBuffer.allocate(4 + len).putInt(len);
            header.write(new ByteBufferAccessor(out), cache, hv);
            req.write(new ByteBufferAccessor(out), cache, (short) 17);
            s.write(Buffer.buffer(out.array()));
        });
        FetchResponseData response = answer.future().await(30, TimeUnit.SECONDS);
        socket.onSuccess(NetSocket::close);
        client.close();
        assertThat(response.errorCode()).isEqualTo(Errors.NONE.code());
        return Errors.forCode(response.responses().get(0).partitions().get(0).errorCode());
    }

    private static javax.security.sasl.SaslClient saslClient(InterBrokerSecurity security, String host) {
        try {
            return security.newSaslClient(host);
        } catch (javax.security.sasl.SaslException e) {
            throw new IllegalStateException(e);
        }
    }
}
