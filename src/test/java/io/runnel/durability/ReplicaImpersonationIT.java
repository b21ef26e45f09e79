package io.runnel.durability;

import static io.runnel.durability.ProcessCluster.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import io.runnel.testutil.RawKafkaClient;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.FetchRequestData;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A raw client that claims the followers' replica ids cannot stand in for them. Three brokers as processes
 * on 127.0.0.1 (their followers fetch from there, so the full ISR and a first acks=all write show that real
 * followers pass), one partition with replication factor 3 and min.insync.replicas=2. Both followers are
 * killed; within replica.lag.time.max.ms the leader still counts them in sync and appends an acks=all write,
 * which then waits for them. A raw client connected from 127.0.0.2 sends Fetches naming each dead follower
 * (v12's replica_id and v17's replica_state) at the leader's log end, which, taken as the followers', would
 * raise the high watermark and acknowledge the write with its one real copy. They must be refused with
 * TOPIC_AUTHORIZATION_FAILED, the high watermark must stay, the write must stay unacknowledged, and the
 * leader must log the refusal with the address and the claimed id.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class ReplicaImpersonationIT {

    private static final String TOPIC = "impersonated";

    @TempDir
    Path dir;
    private ProcessCluster cluster;

    @AfterEach
    void stop() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void aFetchClaimingAFollowersIdFromAnotherAddressIsRefusedAndAcknowledgesNothing() throws Exception {
        // nothing leaves the ISR during the test: the dead followers still count, so only fetches could free the write
        cluster = new ProcessCluster(dir, Map.of("replica.lag.time.max.ms", "60000"));
        cluster.startAll();
        Properties ap = new Properties();
        ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
        ap.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        ap.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "10000");
        try (Admin admin = Admin.create(ap)) {
            ProcessCluster.createReplicatedTopic(admin, TOPIC, 1);
            await("a full ISR", Duration.ofSeconds(30), () -> {
                TopicDescription d = ProcessCluster.describe(admin, TOPIC);
                return d != null && d.partitions().get(0).leader() != null && d.partitions().get(0).isr().size() == 3;
            });
            TopicDescription d = ProcessCluster.describe(admin, TOPIC);
            TopicPartitionInfo p = d.partitions().get(0);
            Uuid topicId = d.topicId();
            Node leader = p.leader();
            List<Integer> followers = new ArrayList<>();
            p.replicas().forEach(n -> {
                if (n.id() != leader.id()) {
                    followers.add(n.id());
                }
            });

            Properties pp = new Properties();
            pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, leader.host() + ":" + leader.port());
            pp.put(ProducerConfig.ACKS_CONFIG, "all");
            pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
            pp.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "30000");
            pp.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "60000");
            KafkaProducer<String, String> producer = new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer());
            try {
                RecordMetadata first = producer.send(new ProducerRecord<>(TOPIC, "k", "with every replica")).get(30, TimeUnit.SECONDS);
                assertThat(first.offset()).isZero();
                long hwBefore = highWatermark(admin);
                assertThat(hwBefore).isEqualTo(1);

                for (int f : followers) {
                    cluster.kill(f);
                }
                Future<RecordMetadata> second = producer.send(new ProducerRecord<>(TOPIC, "k", "with the leader alone"));

                String leaderAddress = leader.host() + ":" + leader.port();
                try (RawKafkaClient fake = new RawKafkaClient(leaderAddress, InetAddress.getByName("127.0.0.2"))) {
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                    int refused = 0;
                    while (System.nanoTime() < deadline) {
                        for (int f : followers) {
                            for (short version : new short[] {12, 17}) {
                                Errors e = fakeFetch(fake, version, f, topicId, 2);
                                assertThat(e).as("fetch v%d claiming follower %d", version, f)
                                        .isEqualTo(Errors.TOPIC_AUTHORIZATION_FAILED);
                                refused++;
                            }
                        }
                        Thread.sleep(100);
                    }
                    assertThat(refused).isPositive();
                }

                assertThat(highWatermark(admin)).as("the high watermark after the fake fetches").isEqualTo(hwBefore);
                try {
                    second.get(1, TimeUnit.SECONDS);
                    throw new AssertionError("acks=all completed with the leader's copy alone");
                } catch (TimeoutException | java.util.concurrent.ExecutionException expected) {
                    // still waiting (or failed): not acknowledged
                }
            } finally {
                // a plain close would wait for the unacknowledged write until its delivery timeout
                producer.close(Duration.ZERO);
            }
            Path leaderLog = cluster.logDir().resolve("node" + leader.id() + ".log");
            assertThat(Files.readString(leaderLog))
                    .contains("Refused a Fetch from 127.0.0.2 claiming to be replica " + followers.get(0));
        }
    }

    /** The leader's high watermark, as ListOffsets LATEST answers it. */
    private static long highWatermark(Admin admin) throws Exception {
        TopicPartition tp = new TopicPartition(TOPIC, 0);
        return admin.listOffsets(Map.of(tp, OffsetSpec.latest())).partitionResult(tp).get(10, TimeUnit.SECONDS).offset();
    }

    /** A follower's fetch at {@code offset} claiming {@code replicaId}; the partition's error. */
    private static Errors fakeFetch(RawKafkaClient client, short version, int replicaId, Uuid topicId, long offset)
            throws Exception {
        FetchRequestData req = new FetchRequestData().setMaxWaitMs(0).setMinBytes(1).setMaxBytes(1 << 20)
                .setSessionId(0).setSessionEpoch(-1).setIsolationLevel((byte) 0);
        if (version >= 15) {
            req.setReplicaState(new FetchRequestData.ReplicaState().setReplicaId(replicaId).setReplicaEpoch(-1));
        } else {
            req.setReplicaId(replicaId);
        }
        FetchRequestData.FetchTopic ft = new FetchRequestData.FetchTopic().setTopic(TOPIC).setTopicId(topicId);
        ft.partitions().add(new FetchRequestData.FetchPartition().setPartition(0).setFetchOffset(offset)
                .setCurrentLeaderEpoch(-1).setLastFetchedEpoch(-1).setPartitionMaxBytes(1 << 20));
        req.topics().add(ft);
        client.send(ApiKeys.FETCH, version, req);
        ByteBuffer body = client.receive(ApiKeys.FETCH, version);
        FetchResponseData resp = new FetchResponseData(new ByteBufferAccessor(body), version);
        assertThat(resp.errorCode()).isZero();
        return Errors.forCode(resp.responses().get(0).partitions().get(0).errorCode());
    }
}
