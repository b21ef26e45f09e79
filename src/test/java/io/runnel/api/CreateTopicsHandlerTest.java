package io.runnel.api;

import static io.runnel.api.AdminFixture.await;
import static io.runnel.api.AdminFixture.awaitFailure;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.PolicyViolationException;
import org.apache.kafka.common.message.CreateTopicsRequestData;
import org.apache.kafka.common.message.CreateTopicsRequestData.CreatableReplicaAssignment;
import org.apache.kafka.common.message.CreateTopicsRequestData.CreatableTopic;
import org.apache.kafka.common.message.CreateTopicsRequestData.CreatableTopicConfig;
import org.apache.kafka.common.message.CreateTopicsResponseData;
import org.apache.kafka.common.message.CreateTopicsResponseData.CreatableTopicConfigs;
import org.apache.kafka.common.message.CreateTopicsResponseData.CreatableTopicResult;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.protocol.MessageUtil;
import org.apache.kafka.common.requests.DescribeConfigsResponse.ConfigSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class CreateTopicsHandlerTest {

    @TempDir
    Path dir;
    AdminFixture fx;
    CreateTopicsHandler handler;

    @BeforeEach
    void setUp() {
        fx = new AdminFixture(dir, Map.of("num.partitions", "4", "log.retention.ms", "1000"));
        handler = new CreateTopicsHandler(fx.config, fx.topics);
    }

    @AfterEach
    void tearDown() {
        fx.close();
    }

    private CreateTopicsResponseData create(boolean validateOnly, CreatableTopic... topics) {
        CreateTopicsRequestData req = new CreateTopicsRequestData().setValidateOnly(validateOnly).setTimeoutMs(1000);
        for (CreatableTopic t : topics) {
            req.topics().add(t);
        }
        return await(handler.handle(fx.ctx(ApiKeys.CREATE_TOPICS, 7), req));
    }

    private static CreatableTopic topic(String name, int partitions, int rf) {
        return new CreatableTopic().setName(name).setNumPartitions(partitions).setReplicationFactor((short) rf);
    }

    private static CreatableTopic withConfig(CreatableTopic t, String name, String value) {
        t.configs().add(new CreatableTopicConfig().setName(name).setValue(value));
        return t;
    }

    private static CreatableTopic withAssignment(CreatableTopic t, int partition, Integer... brokers) {
        t.assignments().add(new CreatableReplicaAssignment().setPartitionIndex(partition).setBrokerIds(List.of(brokers)));
        return t;
    }

    private static CreatableTopicConfigs config(CreatableTopicResult r, String name) {
        return r.configs().stream().filter(c -> c.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void validateOnlyReturnsEffectiveConfigsPartitionsReplicationFactorAndIdWithoutCreating() {
        CreateTopicsResponseData resp = create(true, withConfig(topic("orders", 3, 1), "segment.bytes", "1048576"));

        CreatableTopicResult r = resp.topics().find("orders");
        assertThat(r.errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(r.errorMessage()).isNull();
        assertThat(r.numPartitions()).isEqualTo(3);
        assertThat(r.replicationFactor()).isEqualTo((short) 1);
        assertThat(r.topicId()).isNotEqualTo(Uuid.ZERO_UUID);
        assertThat(config(r, "segment.bytes").value()).isEqualTo("1048576");
        assertThat(config(r, "segment.bytes").configSource()).isEqualTo(ConfigSource.TOPIC_CONFIG.id());
        assertThat(config(r, "retention.ms").value()).isEqualTo("1000");
        assertThat(config(r, "retention.ms").configSource()).isEqualTo(ConfigSource.STATIC_BROKER_CONFIG.id());
        assertThat(config(r, "cleanup.policy").value()).isEqualTo("delete");
        assertThat(config(r, "cleanup.policy").configSource()).isEqualTo(ConfigSource.DEFAULT_CONFIG.id());
        assertThat(r.configs()).extracting(CreatableTopicConfigs::name).isSorted();
        assertThat(r.configs()).allSatisfy(c -> {
            assertThat(c.readOnly()).isFalse();
            assertThat(c.isSensitive()).isFalse();
        });
        assertThat(fx.topics.topic("orders")).isNull();
    }

    @Test
    void minusOneTakesBrokerDefaults() {
        CreatableTopicResult r = create(true, topic("defaults", -1, -1)).topics().find("defaults");

        assertThat(r.errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(r.numPartitions()).isEqualTo(4);
        assertThat(r.replicationFactor()).isEqualTo((short) 1);
    }

    @Test
    void duplicateNamesAreInvalidRequestsListedAfterTheOthers() {
        CreateTopicsResponseData resp = create(true, topic("dup", 1, 1), topic("ok", 1, 1), topic("dup", 2, 1));

        assertThat(resp.topics()).extracting(CreatableTopicResult::name).containsExactly("ok", "dup");
        CreatableTopicResult dup = resp.topics().find("dup");
        assertThat(dup.errorCode()).isEqualTo(Errors.INVALID_REQUEST.code());
        assertThat(dup.errorMessage()).isEqualTo("Duplicate topic name.");
        assertThat(dup.numPartitions()).isEqualTo(-1);
    }

    @Test
    void existingTopicIsTopicAlreadyExists() {
        fx.topic("taken", 1, Map.of());

        CreatableTopicResult r = create(false, topic("taken", 1, 1)).topics().find("taken");

        assertThat(r.errorCode()).isEqualTo(Errors.TOPIC_ALREADY_EXISTS.code());
        assertThat(r.errorMessage()).isEqualTo("Topic 'taken' already exists.");
    }

    @Test
    void invalidAndCollidingNamesAreInvalidTopic() {
        fx.topic("a_b", 1, Map.of());

        CreateTopicsResponseData resp = create(false, topic("bad name", 1, 1), topic("a.b", 1, 1));

        assertThat(resp.topics().find("bad name").errorCode()).isEqualTo(Errors.INVALID_TOPIC_EXCEPTION.code());
        assertThat(resp.topics().find("bad name").errorMessage()).contains("'bad name'");
        CreatableTopicResult collides = resp.topics().find("a.b");
        assertThat(collides.errorCode()).isEqualTo(Errors.INVALID_TOPIC_EXCEPTION.code());
        assertThat(collides.errorMessage()).isEqualTo("Topic 'a.b' collides with existing topic: a_b");
    }

    @Test
    void invalidConfigsAreInvalidConfigNamingTheConfig() {
        CreateTopicsResponseData resp = create(true,
                withConfig(topic("badvalue", 1, 1), "retention.ms", "-5"),
                withConfig(topic("unknown", 1, 1), "no.such.config", "1"),
                withConfig(topic("nullvalue", 1, 1), "retention.ms", null));

        assertThat(resp.topics().find("badvalue").errorCode()).isEqualTo(Errors.INVALID_CONFIG.code());
        assertThat(resp.topics().find("badvalue").errorMessage()).contains("retention.ms");
        assertThat(resp.topics().find("unknown").errorCode()).isEqualTo(Errors.INVALID_CONFIG.code());
        assertThat(resp.topics().find("unknown").errorMessage()).contains("no.such.config");
        assertThat(resp.topics().find("nullvalue").errorMessage())
                .isEqualTo("Null value not supported for topic configs: retention.ms");
    }

    @Test
    void invalidCountsGetKafkasErrors() {
        CreateTopicsResponseData resp = create(true, topic("rf0", 1, 0), topic("rf3", 1, 3), topic("p0", 0, 1),
                topic("pneg", -2, 1));

        assertThat(resp.topics().find("rf0").errorCode()).isEqualTo(Errors.INVALID_REPLICATION_FACTOR.code());
        assertThat(resp.topics().find("rf0").errorMessage())
                .isEqualTo("Replication factor must be larger than 0, or -1 to use the default value.");
        assertThat(resp.topics().find("rf3").errorCode()).isEqualTo(Errors.INVALID_REPLICATION_FACTOR.code());
        assertThat(resp.topics().find("rf3").errorMessage()).isEqualTo("Unable to replicate the partition 3 time(s): "
                + "The target replication factor of 3 cannot be reached because only 1 broker(s) are registered.");
        assertThat(resp.topics().find("p0").errorCode()).isEqualTo(Errors.INVALID_PARTITIONS.code());
        assertThat(resp.topics().find("p0").errorMessage())
                .isEqualTo("Number of partitions was set to an invalid non-positive value.");
        assertThat(resp.topics().find("pneg").errorCode()).isEqualTo(Errors.INVALID_PARTITIONS.code());
    }

    @Test
    void manualAssignmentsMayNameOnlyThisBroker() {
        CreateTopicsResponseData resp = create(true,
                withAssignment(withAssignment(topic("mine", -1, -1), 0, 1), 1, 1),
                withAssignment(topic("other", -1, -1), 0, 2),
                withAssignment(topic("twice", -1, -1), 0, 1, 1),
                withAssignment(topic("gap", -1, -1), 1, 1),
                withAssignment(topic("counted", 1, -1), 0, 1),
                withAssignment(withAssignment(topic("repeat", -1, -1), 0, 1), 0, 1));

        CreatableTopicResult mine = resp.topics().find("mine");
        assertThat(mine.errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(mine.numPartitions()).isEqualTo(2);
        assertThat(mine.replicationFactor()).isEqualTo((short) 1);
        assertThat(resp.topics().find("other").errorCode()).isEqualTo(Errors.INVALID_REPLICA_ASSIGNMENT.code());
        assertThat(resp.topics().find("other").errorMessage())
                .isEqualTo("The manual partition assignment includes broker 2, but no such broker is registered.");
        assertThat(resp.topics().find("twice").errorMessage())
                .isEqualTo("The manual partition assignment includes the broker 1 more than once.");
        assertThat(resp.topics().find("gap").errorMessage())
                .isEqualTo("partitions should be a consecutive 0-based integer sequence");
        assertThat(resp.topics().find("counted").errorCode()).isEqualTo(Errors.INVALID_REQUEST.code());
        assertThat(resp.topics().find("counted").errorMessage())
                .isEqualTo("A manual partition assignment was specified, but numPartitions was not set to -1.");
        assertThat(resp.topics().find("repeat").errorMessage())
                .isEqualTo("Found multiple manual partition assignments for partition 0");
    }

    @Test
    void tooManyPartitionsInOneRequestFailsTheWholeRequest() {
        CreateTopicsRequestData req = new CreateTopicsRequestData();
        req.topics().add(topic("huge", 6000, 1));
        req.topics().add(topic("huge2", 6000, 1));

        Throwable t = awaitFailure(handler.handle(fx.ctx(ApiKeys.CREATE_TOPICS, 7), req));

        assertThat(t).isInstanceOf(PolicyViolationException.class)
                .hasMessage("Excessively large number of partitions per request.");
    }

    @Test
    void theMetadataLogIsNotCreatable() {
        CreatableTopicResult r = create(true, topic("__cluster_metadata", 1, 1)).topics().find("__cluster_metadata");

        assertThat(r.errorCode()).isEqualTo(Errors.TOPIC_AUTHORIZATION_FAILED.code());
    }

    @Test
    void responsesEncodeAtEveryVersion() {
        CreateTopicsResponseData resp = create(true, topic("enc", 1, 1), topic("enc", 1, 1), topic("x y", 1, 1));
        for (short v = ApiKeys.CREATE_TOPICS.oldestVersion(); v <= ApiKeys.CREATE_TOPICS.latestVersion(); v++) {
            assertThat(MessageUtil.toByteBufferAccessor(resp, v).buffer().remaining()).isPositive();
        }
    }

    @Test
    void createsTheTopicAndItsPartitions() {
        CreatableTopicResult r = create(false, topic("real", 2, 1)).topics().find("real");

        assertThat(r.errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(fx.topics.topic("real").partitions()).isEqualTo(2);
        assertThat(fx.topics.topic("real").id()).isEqualTo(r.topicId());
        assertThat(fx.partitions.all()).hasSize(2);
    }
}
