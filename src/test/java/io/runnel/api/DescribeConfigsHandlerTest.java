package io.runnel.api;

import static io.runnel.api.AdminFixture.await;
import static io.runnel.api.AdminFixture.awaitFailure;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.apache.kafka.common.message.DescribeConfigsRequestData;
import org.apache.kafka.common.message.DescribeConfigsRequestData.DescribeConfigsResource;
import org.apache.kafka.common.message.DescribeConfigsResponseData;
import org.apache.kafka.common.message.DescribeConfigsResponseData.DescribeConfigsResourceResult;
import org.apache.kafka.common.message.DescribeConfigsResponseData.DescribeConfigsResult;
import org.apache.kafka.common.message.DescribeConfigsResponseData.DescribeConfigsSynonym;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.protocol.MessageUtil;
import org.apache.kafka.common.requests.DescribeConfigsResponse.ConfigSource;
import org.apache.kafka.common.requests.DescribeConfigsResponse.ConfigType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class DescribeConfigsHandlerTest {

    @TempDir
    Path dir;
    AdminFixture fx;
    DescribeConfigsHandler handler;

    @AfterEach
    void tearDown() {
        if (fx != null) {
            fx.close();
        }
    }

    private void start(Map<String, String> props) {
        fx = new AdminFixture(dir, props);
        handler = new DescribeConfigsHandler(fx.config, fx.topics);
    }

    private DescribeConfigsResponseData describe(boolean synonyms, boolean docs, DescribeConfigsResource... resources) {
        DescribeConfigsRequestData req = new DescribeConfigsRequestData().setIncludeSynonyms(synonyms)
                .setIncludeDocumentation(docs).setResources(List.of(resources));
        return await(handler.handle(fx.ctx(ApiKeys.DESCRIBE_CONFIGS, 4), req));
    }

    private static DescribeConfigsResource resource(ConfigResource.Type type, String name, String... keys) {
        return new DescribeConfigsResource().setResourceType(type.id()).setResourceName(name)
                .setConfigurationKeys(keys.length == 0 ? null : List.of(keys));
    }

    private static DescribeConfigsResourceResult entry(DescribeConfigsResult r, String name) {
        return r.configs().stream().filter(c -> c.name().equals(name)).findFirst().orElseThrow();
    }

    private static String synonym(DescribeConfigsSynonym s) {
        return ConfigSource.forId(s.source()) + ":" + s.name() + "=" + s.value();
    }

    @Test
    void topicConfigsShowEffectiveValuesSourcesAndSynonyms() {
        start(Map.of("log.retention.ms", "1000"));
        fx.topic("t", 1, Map.of("segment.bytes", "1048576"));

        DescribeConfigsResult r = describe(true, false, resource(ConfigResource.Type.TOPIC, "t")).results().get(0);

        assertThat(r.errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(r.resourceName()).isEqualTo("t");
        assertThat(r.configs()).hasSize(io.runnel.config.TopicConfigs.DEF.names().size());
        DescribeConfigsResourceResult segment = entry(r, "segment.bytes");
        assertThat(segment.value()).isEqualTo("1048576");
        assertThat(segment.configSource()).isEqualTo(ConfigSource.TOPIC_CONFIG.id());
        assertThat(segment.configType()).isEqualTo(ConfigType.INT.id());
        assertThat(segment.synonyms()).extracting(DescribeConfigsHandlerTest::synonym).containsExactly(
                "TOPIC_CONFIG:segment.bytes=1048576", "DEFAULT_CONFIG:log.segment.bytes=1073741824");
        DescribeConfigsResourceResult retention = entry(r, "retention.ms");
        assertThat(retention.value()).isEqualTo("1000");
        assertThat(retention.configSource()).isEqualTo(ConfigSource.STATIC_BROKER_CONFIG.id());
        assertThat(retention.synonyms()).extracting(DescribeConfigsHandlerTest::synonym).containsExactly(
                "STATIC_BROKER_CONFIG:log.retention.ms=1000", "DEFAULT_CONFIG:log.retention.hours=168");
        DescribeConfigsResourceResult cleanup = entry(r, "cleanup.policy");
        assertThat(cleanup.value()).isEqualTo("delete");
        assertThat(cleanup.configSource()).isEqualTo(ConfigSource.DEFAULT_CONFIG.id());
        assertThat(cleanup.configType()).isEqualTo(ConfigType.LIST.id());
        assertThat(cleanup.synonyms()).extracting(DescribeConfigsHandlerTest::synonym)
                .containsExactly("DEFAULT_CONFIG:log.cleanup.policy=delete");
        assertThat(r.configs()).allSatisfy(c -> {
            assertThat(c.readOnly()).isFalse();
            assertThat(c.isSensitive()).isFalse();
            assertThat(c.documentation()).isNull();
        });
    }

    @Test
    void retentionSetInHoursReportsTheValueWithKafkasDefaultSource() {
        // Kafka drops synonyms listed before log.retention.ms itself, so the source stays DEFAULT_CONFIG
        start(Map.of("log.retention.hours", "1"));
        fx.topic("h", 1, Map.of());

        DescribeConfigsResourceResult retention = entry(
                describe(true, false, resource(ConfigResource.Type.TOPIC, "h")).results().get(0), "retention.ms");

        assertThat(retention.value()).isEqualTo("3600000");
        assertThat(retention.configSource()).isEqualTo(ConfigSource.DEFAULT_CONFIG.id());
        assertThat(retention.synonyms()).isEmpty();
    }

    @Test
    void requestedKeysAndDocumentationOnly() {
        start(Map.of());
        fx.topic("k", 1, Map.of());

        DescribeConfigsResult r = describe(false, true,
                resource(ConfigResource.Type.TOPIC, "k", "retention.ms", "cleanup.policy")).results().get(0);

        assertThat(r.configs()).extracting(DescribeConfigsResourceResult::name)
                .containsExactlyInAnyOrder("retention.ms", "cleanup.policy");
        assertThat(entry(r, "retention.ms").documentation()).isEqualTo(TopicConfig.RETENTION_MS_DOC);
        assertThat(entry(r, "retention.ms").synonyms()).isEmpty();
    }

    @Test
    void everyTopicConfigIsDocumented() {
        for (String name : io.runnel.config.TopicConfigs.DEF.names()) {
            assertThat(ConfigDescriber.topicDocumentation(name)).as(name).isNotBlank();
        }
    }

    @Test
    void unknownAndInvalidTopicsFailThatResourceOnly() {
        start(Map.of());
        fx.topic("ok", 1, Map.of());

        DescribeConfigsResponseData resp = describe(false, false, resource(ConfigResource.Type.TOPIC, "missing"),
                resource(ConfigResource.Type.TOPIC, "bad name"), resource(ConfigResource.Type.TOPIC, "ok"));

        assertThat(resp.results().get(0).errorCode()).isEqualTo(Errors.UNKNOWN_TOPIC_OR_PARTITION.code());
        assertThat(resp.results().get(0).configs()).isEmpty();
        assertThat(resp.results().get(1).errorCode()).isEqualTo(Errors.INVALID_TOPIC_EXCEPTION.code());
        assertThat(resp.results().get(1).resourceName()).isEqualTo("bad name");
        assertThat(resp.results().get(2).errorCode()).isEqualTo(Errors.NONE.code());
        for (short v = ApiKeys.DESCRIBE_CONFIGS.oldestVersion(); v <= ApiKeys.DESCRIBE_CONFIGS.latestVersion(); v++) {
            assertThat(MessageUtil.toByteBufferAccessor(resp, v).buffer().remaining()).isPositive();
        }
    }

    @Test
    void thisBrokerListsItsConfigsWithOnlyTheDynamicOnesWritable() {
        start(Map.of("num.partitions", "3"));

        DescribeConfigsResult r = describe(true, true, resource(ConfigResource.Type.BROKER, "1")).results().get(0);

        assertThat(r.errorCode()).isEqualTo(Errors.NONE.code());
        DescribeConfigsResourceResult partitions = entry(r, "num.partitions");
        assertThat(partitions.value()).isEqualTo("3");
        assertThat(partitions.configSource()).isEqualTo(ConfigSource.STATIC_BROKER_CONFIG.id());
        assertThat(partitions.synonyms()).extracting(DescribeConfigsHandlerTest::synonym)
                .containsExactly("STATIC_BROKER_CONFIG:num.partitions=3", "DEFAULT_CONFIG:num.partitions=1");
        assertThat(partitions.documentation()).isNotBlank();
        DescribeConfigsResourceResult replication = entry(r, "default.replication.factor");
        assertThat(replication.configSource()).isEqualTo(ConfigSource.DEFAULT_CONFIG.id());
        assertThat(replication.configType()).isEqualTo(ConfigType.SHORT.id());
        assertThat(partitions.readOnly()).isTrue();
        assertThat(entry(r, "log.retention.ms").readOnly()).isFalse();
        assertThat(entry(r, "log.retention.hours").readOnly()).as("as in Kafka: only the primary name").isTrue();
    }

    @Test
    void dynamicBrokerConfigsShowTheirSourcesOnBrokersAndTopics() {
        start(Map.of("log.retention.ms", "1000", "min.insync.replicas", "1"));
        fx.topic("t", 1, Map.of());
        fx.topic("own", 1, Map.of("retention.ms", "7"));
        await(fx.topics.alterBrokerConfigs("", c -> Map.of("log.retention.ms", "2000", "min.insync.replicas", "2"), false));
        await(fx.topics.alterBrokerConfigs("1", c -> Map.of("log.retention.ms", "3000"), false));

        DescribeConfigsResponseData resp = describe(true, false, resource(ConfigResource.Type.BROKER, "1"),
                resource(ConfigResource.Type.BROKER, ""), resource(ConfigResource.Type.TOPIC, "t"),
                resource(ConfigResource.Type.TOPIC, "own", "retention.ms"));

        DescribeConfigsResourceResult node = entry(resp.results().get(0), "log.retention.ms");
        assertThat(node.value()).isEqualTo("3000");
        assertThat(node.configSource()).isEqualTo(ConfigSource.DYNAMIC_BROKER_CONFIG.id());
        assertThat(node.synonyms()).extracting(DescribeConfigsHandlerTest::synonym).containsExactly(
                "DYNAMIC_BROKER_CONFIG:log.retention.ms=3000", "DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=2000",
                "STATIC_BROKER_CONFIG:log.retention.ms=1000", "DEFAULT_CONFIG:log.retention.hours=168");
        DescribeConfigsResourceResult minIsr = entry(resp.results().get(0), "min.insync.replicas");
        assertThat(minIsr.value()).isEqualTo("2");
        assertThat(minIsr.configSource()).isEqualTo(ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.id());

        DescribeConfigsResult cluster = resp.results().get(1);
        assertThat(cluster.configs()).extracting(DescribeConfigsResourceResult::name)
                .containsExactly("log.retention.ms", "min.insync.replicas");
        assertThat(cluster.configs().get(0).value()).isEqualTo("2000");
        assertThat(cluster.configs().get(0).configSource()).isEqualTo(ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.id());
        assertThat(cluster.configs().get(0).synonyms()).extracting(DescribeConfigsHandlerTest::synonym)
                .containsExactly("DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=2000");

        DescribeConfigsResourceResult retention = entry(resp.results().get(2), "retention.ms");
        assertThat(retention.value()).isEqualTo("3000");
        assertThat(retention.configSource()).isEqualTo(ConfigSource.DYNAMIC_BROKER_CONFIG.id());
        DescribeConfigsResourceResult topicMinIsr = entry(resp.results().get(2), "min.insync.replicas");
        assertThat(topicMinIsr.value()).isEqualTo("2");
        assertThat(topicMinIsr.configSource()).isEqualTo(ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.id());
        DescribeConfigsResourceResult own = entry(resp.results().get(3), "retention.ms");
        assertThat(own.value()).isEqualTo("7");
        assertThat(own.configSource()).isEqualTo(ConfigSource.TOPIC_CONFIG.id());
    }

    @Test
    void otherBrokersAndClusterDefaults() {
        start(Map.of());

        DescribeConfigsResponseData resp = describe(false, false, resource(ConfigResource.Type.BROKER, "2"),
                resource(ConfigResource.Type.BROKER, "one"), resource(ConfigResource.Type.BROKER, ""),
                resource(ConfigResource.Type.BROKER_LOGGER, "1"));

        assertThat(resp.results().get(0).errorCode()).isEqualTo(Errors.INVALID_REQUEST.code());
        assertThat(resp.results().get(0).errorMessage())
                .isEqualTo("Unexpected broker id, expected 1 or empty string, but received 2");
        assertThat(resp.results().get(1).errorMessage()).isEqualTo("Broker id must be an integer, but it is: one");
        assertThat(resp.results().get(2).errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(resp.results().get(2).configs()).isEmpty();
        assertThat(resp.results().get(3).errorCode()).isEqualTo(Errors.INVALID_REQUEST.code());
    }

    @Test
    void anUnknownResourceTypeFailsTheRequest() {
        start(Map.of());
        DescribeConfigsRequestData req = new DescribeConfigsRequestData().setResources(List.of(
                new DescribeConfigsResource().setResourceType((byte) 99).setResourceName("x")));

        assertThat(awaitFailure(handler.handle(fx.ctx(ApiKeys.DESCRIBE_CONFIGS, 4), req)))
                .isInstanceOf(InvalidRequestException.class);
    }
}
