package io.runnel.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.runnel.Broker;
import io.runnel.testutil.TestCluster;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two clustered nodes with the authorizer on: an ACL created through one node is applied by both (it is a
 * record of the metadata log), and followers, which fetch over PLAINTEXT as User:ANONYMOUS, replicate because
 * that principal is a super user (a follower's Fetch needs CLUSTER_ACTION).
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class ClusterAclIT {

    @TempDir
    Path dir;
    private final List<Broker> brokers = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (Broker b : brokers) {
            b.closeAndWait(30, TimeUnit.SECONDS);
        }
    }

    private Map<String, String> props(int id, TestCluster cluster) {
        Map<String, String> props = cluster.nodeProps(id);
        props.put("log.dirs", dir.resolve("node" + id).toString());
        props.put("listeners", "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0");
        props.put("sasl.enabled.mechanisms", "PLAIN");
        props.put("listener.name.sasl_plaintext.plain.sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required user_admin=\"admin-secret\""
                        + " user_alice=\"alice-secret\";");
        props.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
        props.put("super.users", "User:admin;User:ANONYMOUS");
        props.put("replica.lag.time.max.ms", "30000");
        props.put("admin.listener", "127.0.0.1:0");
        props.put("offsets.topic.num.partitions", "1");
        props.put("runnel.log.shards", "2");
        return props;
    }

    private Map<String, Object> client(String user) {
        Map<String, Object> c = new HashMap<>();
        c.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, brokers.get(0).bootstrapServers("SASL_PLAINTEXT"));
        c.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_PLAINTEXT");
        c.put(SaslConfigs.SASL_MECHANISM, "PLAIN");
        c.put(SaslConfigs.SASL_JAAS_CONFIG, "org.apache.kafka.common.security.plain.PlainLoginModule required"
                + " username=\"" + user + "\" password=\"" + user + "-secret\";");
        return c;
    }

    @Test
    void anAclCreatedOnOneNodeIsEnforcedByBothAndFollowersReplicate() throws Exception {
        TestCluster cluster = TestCluster.allocate("acl", 2);
        for (int id = 1; id <= 2; id++) {
            brokers.add(Broker.start(props(id, cluster)).toCompletionStage().toCompletableFuture()
                    .get(60, TimeUnit.SECONDS));
        }
        String topic = "acl-cluster";
        try (Admin admin = Admin.create(client("admin"))) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (admin.describeCluster().nodes().get(10, TimeUnit.SECONDS).size() < 2) {
                assertThat(System.nanoTime()).as("both brokers registered within 60 s").isLessThan(deadline);
                Thread.sleep(200);
            }
            admin.createTopics(List.of(new NewTopic(topic, 2, (short) 2))).all().get(30, TimeUnit.SECONDS);
            admin.createAcls(List.of(new AclBinding(new ResourcePattern(ResourceType.TOPIC, topic, PatternType.LITERAL),
                    new AccessControlEntry("User:alice", "*", AclOperation.WRITE, AclPermissionType.ALLOW))))
                    .all().get(30, TimeUnit.SECONDS);
        }
        Map<String, Object> pc = client("alice");
        pc.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        pc.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        pc.put(ProducerConfig.ACKS_CONFIG, "all");
        // shorter than replica.lag.time.max.ms: a follower refused its fetches would hold acks=all until then
        pc.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        pc.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 20_000);
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(pc)) {
            for (int i = 0; i < 20; i++) {
                // both partitions, so both leaders (one on each node) check alice's WRITE
                producer.send(new ProducerRecord<>(topic, i % 2, "k" + i, "v" + i)).get(30, TimeUnit.SECONDS);
            }
        }
        try (Admin admin = Admin.create(client("admin"))) {
            var offsets = admin.listOffsets(Map.of(new TopicPartition(topic, 0), OffsetSpec.latest(),
                    new TopicPartition(topic, 1), OffsetSpec.latest())).all().get(30, TimeUnit.SECONDS);
            assertThat(offsets.get(new TopicPartition(topic, 0)).offset()).isEqualTo(10);
            assertThat(offsets.get(new TopicPartition(topic, 1)).offset()).isEqualTo(10);
            // both replicas stayed in sync: the followers' fetches were authorized
            admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS).get(topic).partitions()
                    .forEach(p -> assertThat(p.isr()).hasSize(2));
        }
    }
}
