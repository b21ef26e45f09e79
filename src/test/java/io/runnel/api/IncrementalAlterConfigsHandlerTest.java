package io.runnel.api;

import static io.runnel.api.AdminFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.vertx.core.Future;
import org.apache.kafka.clients.admin.AlterConfigOp.OpType;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.message.IncrementalAlterConfigsRequestData;
import org.apache.kafka.common.message.IncrementalAlterConfigsRequestData.AlterConfigsResource;
import org.apache.kafka.common.message.IncrementalAlterConfigsRequestData.AlterableConfig;
import org.apache.kafka.common.message.IncrementalAlterConfigsResponseData;
import org.apache.kafka.common.message.IncrementalAlterConfigsResponseData.AlterConfigsResourceResponse;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.apache.kafka.common.TopicPartition;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class IncrementalAlterConfigsHandlerTest {

    @TempDir
    Path dir;
    AdminFixture fx;
    IncrementalAlterConfigsHandler handler;

    @BeforeEach
    void setUp() {
        fx = new AdminFixture(dir);
        handler = new IncrementalAlterConfigsHandler(fx.config, fx.topics);
    }

    @AfterEach
    void tearDown() {
        fx.close();
    }

    private static AlterableConfig op(String name, OpType op, String value) {
        return new AlterableConfig().setName(name).setConfigOperation(op.id()).setValue(value);
    }

    private static AlterConfigsResource resource(ConfigResource.Type type, String name, AlterableConfig... ops) {
        AlterConfigsResource r = new AlterConfigsResource().setResourceType(type.id()).setResourceName(name);
        for (AlterableConfig c : ops) {
            r.configs().add(c);
        }
        return r;
    }

    private Future<IncrementalAlterConfigsResponseData> send(AlterConfigsResource... resources) {
        IncrementalAlterConfigsRequestData req = new IncrementalAlterConfigsRequestData();
        for (AlterConfigsResource r : resources) {
            req.resources().add(r);
        }
        return handler.handle(fx.ctx(ApiKeys.INCREMENTAL_ALTER_CONFIGS, 1), req);
    }

    private AlterConfigsResourceResponse alterTopic(String topic, AlterableConfig... ops) {
        return await(send(resource(ConfigResource.Type.TOPIC, topic, ops))).responses().get(0);
    }

    @Test
    void setAndDeleteChangeOnlyTheNamedKeys() {
        fx.topic("t", 1, Map.of("retention.ms", "1000", "segment.bytes", "1048576"));

        AlterConfigsResourceResponse r = alterTopic("t", op("retention.ms", OpType.SET, "2000"),
                op("segment.bytes", OpType.DELETE, null), op("max.message.bytes", OpType.SET, "4096"));

        assertThat(r.errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(fx.topics.topic("t").configs())
                .isEqualTo(Map.of("retention.ms", "2000", "max.message.bytes", "4096"));
    }

    @Test
    void appendAndSubtractWorkOnListsStartingFromTheDefault() {
        fx.topic("l", 1, Map.of());

        assertThat(alterTopic("l", op("cleanup.policy", OpType.APPEND, "compact")).errorCode())
                .isEqualTo(Errors.NONE.code());
        assertThat(fx.topics.topic("l").configs()).isEqualTo(Map.of("cleanup.policy", "delete,compact"));
        assertThat(alterTopic("l", op("cleanup.policy", OpType.APPEND, "compact")).errorCode())
                .isEqualTo(Errors.NONE.code());
        assertThat(fx.topics.topic("l").configs()).isEqualTo(Map.of("cleanup.policy", "delete,compact"));
        assertThat(alterTopic("l", op("cleanup.policy", OpType.SUBTRACT, "delete")).errorCode())
                .isEqualTo(Errors.NONE.code());
        assertThat(fx.topics.topic("l").configs()).isEqualTo(Map.of("cleanup.policy", "compact"));
    }

    @Test
    void appendToANonListConfigIsInvalidConfig() {
        fx.topic("n", 1, Map.of());

        AlterConfigsResourceResponse r = alterTopic("n", op("retention.ms", OpType.APPEND, "5"));

        assertThat(r.errorCode()).isEqualTo(Errors.INVALID_CONFIG.code());
        assertThat(r.errorMessage()).isEqualTo("Can't APPEND to key retention.ms because its type is not LIST.");
    }

    @Test
    void oneBadOperationChangesNothing() {
        fx.topic("b", 1, Map.of("retention.ms", "1000"));

        AlterConfigsResourceResponse r = alterTopic("b", op("retention.ms", OpType.SET, "2000"),
                op("segment.bytes", OpType.SET, "not-a-number"));

        assertThat(r.errorCode()).isEqualTo(Errors.INVALID_CONFIG.code());
        assertThat(r.errorMessage()).contains("segment.bytes");
        assertThat(fx.topics.topic("b").configs()).isEqualTo(Map.of("retention.ms", "1000"));
    }

    @Test
    void nullValuesUnknownOperationsAndUnknownTopicsAreRefused() {
        fx.topic("r", 1, Map.of());

        IncrementalAlterConfigsResponseData resp = await(send(
                resource(ConfigResource.Type.TOPIC, "r", op("retention.ms", OpType.SET, null)),
                resource(ConfigResource.Type.TOPIC, "missing", op("retention.ms", OpType.SET, "1")),
                resource(ConfigResource.Type.TOPIC, "odd",
                        new AlterableConfig().setName("retention.ms").setConfigOperation((byte) 9).setValue("1"))));

        assertThat(resp.responses().get(0).errorCode()).isEqualTo(Errors.INVALID_REQUEST.code());
        assertThat(resp.responses().get(0).errorMessage()).isEqualTo("Null value not supported for : retention.ms");
        assertThat(resp.responses().get(1).errorCode()).isEqualTo(Errors.UNKNOWN_TOPIC_OR_PARTITION.code());
        assertThat(resp.responses().get(2).errorCode()).isEqualTo(Errors.INVALID_REQUEST.code());
        assertThat(resp.responses().get(2).errorMessage()).isEqualTo("Unknown operations type 9");
    }

    @Test
    void brokerResourcesTakeDynamicLogConfigsAndRefuseTheRest() {
        // one resource a request: Kafka fails a resource named twice in one request
        IncrementalAlterConfigsResponseData deleted = await(send(
                resource(ConfigResource.Type.BROKER, "1", op("log.retention.ms", OpType.DELETE, null))));
        assertThat(deleted.responses().get(0).errorCode()).isEqualTo(Errors.NONE.code());
        IncrementalAlterConfigsResponseData resp = await(send(
                resource(ConfigResource.Type.BROKER, "", op("log.retention.ms", OpType.SET, "5"),
                        op("log.cleanup.policy", OpType.APPEND, "compact")),
                resource(ConfigResource.Type.BROKER, "1", op("num.partitions", OpType.SET, "5")),
                resource(ConfigResource.Type.BROKER, "2", op("log.retention.ms", OpType.SET, "5"))));

        assertThat(resp.responses().get(0).errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(resp.responses().get(1).errorCode()).isEqualTo(Errors.INVALID_REQUEST.code());
        assertThat(resp.responses().get(1).errorMessage())
                .isEqualTo("Cannot update these configs dynamically: Set(num.partitions)");
        assertThat(resp.responses().get(2).errorMessage()).isEqualTo("Unexpected broker id, expected 1, but received 2");
        assertThat(fx.topics.brokerConfigs("")).containsOnly(Map.entry("log.retention.ms", "5"),
                Map.entry("log.cleanup.policy", "delete,compact"));
        assertThat(fx.topics.brokerConfigs("1")).isEmpty();
    }

    @Test
    void badDynamicValuesAreInvalidConfigNamingTheKeyAndValidateOnlyChangesNothing() {
        AlterConfigsResourceResponse bad = await(send(resource(ConfigResource.Type.BROKER, "",
                op("log.retention.ms", OpType.SET, "soon")))).responses().get(0);
        assertThat(bad.errorCode()).isEqualTo(Errors.INVALID_CONFIG.code());
        assertThat(bad.errorMessage()).contains("log.retention.ms");
        IncrementalAlterConfigsRequestData req = new IncrementalAlterConfigsRequestData().setValidateOnly(true);
        req.resources().add(resource(ConfigResource.Type.BROKER, "1", op("min.insync.replicas", OpType.SET, "2")));
        assertThat(await(handler.handle(fx.ctx(ApiKeys.INCREMENTAL_ALTER_CONFIGS, 1), req)).responses().get(0)
                .errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(fx.topics.brokerConfigs("1")).isEmpty();
    }

    @Test
    void aDynamicDefaultReachesRunningPartitionsAndATopicOverrideStillWins() throws InterruptedException {
        fx.topic("plain", 1, Map.of());
        fx.topic("own", 1, Map.of("retention.ms", "7"));
        await(send(resource(ConfigResource.Type.BROKER, "", op("log.retention.ms", OpType.SET, "12345"))));
        TopicPartition plain = new TopicPartition("plain", 0);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (fx.partitions.get(plain).log().config().retentionMs() != 12345L && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(fx.partitions.get(plain).log().config().retentionMs()).isEqualTo(12345L);
        assertThat(fx.partitions.get(new TopicPartition("own", 0)).log().config().retentionMs()).isEqualTo(7L);
        await(send(resource(ConfigResource.Type.BROKER, "", op("log.retention.ms", OpType.DELETE, null))));
        deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (fx.partitions.get(plain).log().config().retentionMs() == 12345L && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(fx.partitions.get(plain).log().config().retentionMs()).as("back to the static default")
                .isEqualTo(fx.config.retentionMs());
    }

    @Test
    void concurrentChangesDoNotLoseEachOther() {
        fx.topic("c", 1, Map.of());
        String[] keys = {"retention.ms", "segment.bytes", "max.message.bytes", "flush.ms", "segment.ms"};
        List<Future<IncrementalAlterConfigsResponseData>> all = new ArrayList<>();
        for (String key : keys) {
            all.add(send(resource(ConfigResource.Type.TOPIC, "c", op(key, OpType.SET, "1048576"))));
        }

        await(Future.all(all));

        assertThat(fx.topics.topic("c").configs()).containsOnlyKeys(keys);
    }
}
