package io.runnel.api;

import static io.runnel.api.AdminFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;

import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.message.AlterConfigsRequestData;
import org.apache.kafka.common.message.AlterConfigsRequestData.AlterConfigsResource;
import org.apache.kafka.common.message.AlterConfigsRequestData.AlterableConfig;
import org.apache.kafka.common.message.AlterConfigsResponseData;
import org.apache.kafka.common.message.AlterConfigsResponseData.AlterConfigsResourceResponse;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class AlterConfigsHandlerTest {

    @TempDir
    Path dir;
    AdminFixture fx;
    AlterConfigsHandler handler;

    @BeforeEach
    void setUp() {
        fx = new AdminFixture(dir);
        handler = new AlterConfigsHandler(fx.config, fx.topics);
    }

    @AfterEach
    void tearDown() {
        fx.close();
    }

    private static AlterConfigsResource resource(ConfigResource.Type type, String name, String... kv) {
        AlterConfigsResource r = new AlterConfigsResource().setResourceType(type.id()).setResourceName(name);
        for (int i = 0; i < kv.length; i += 2) {
            r.configs().add(new AlterableConfig().setName(kv[i]).setValue(kv[i + 1]));
        }
        return r;
    }

    private AlterConfigsResponseData alter(boolean validateOnly, AlterConfigsResource... resources) {
        AlterConfigsRequestData req = new AlterConfigsRequestData().setValidateOnly(validateOnly);
        for (AlterConfigsResource r : resources) {
            req.resources().add(r);
        }
        return await(handler.handle(fx.ctx(ApiKeys.ALTER_CONFIGS, 2), req));
    }

    @Test
    void replacesTheWholeOverrideSet() {
        fx.topic("t", 1, Map.of("retention.ms", "1000", "segment.bytes", "1048576"));

        AlterConfigsResourceResponse r = alter(false,
                resource(ConfigResource.Type.TOPIC, "t", "cleanup.policy", "compact")).responses().get(0);

        assertThat(r.errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(r.resourceName()).isEqualTo("t");
        assertThat(r.resourceType()).isEqualTo(ConfigResource.Type.TOPIC.id());
        assertThat(fx.topics.topic("t").configs()).isEqualTo(Map.of("cleanup.policy", "compact"));
    }

    @Test
    void validateOnlyChangesNothing() {
        fx.topic("v", 1, Map.of("retention.ms", "1000"));

        AlterConfigsResourceResponse r = alter(true, resource(ConfigResource.Type.TOPIC, "v")).responses().get(0);

        assertThat(r.errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(fx.topics.topic("v").configs()).isEqualTo(Map.of("retention.ms", "1000"));
    }

    @Test
    void invalidValuesAndNamesAreInvalidConfigNamingTheConfig() {
        fx.topic("i", 1, Map.of("retention.ms", "1000"));

        AlterConfigsResponseData resp = alter(false, resource(ConfigResource.Type.TOPIC, "i", "retention.ms", "-7"));
        AlterConfigsResponseData unknown = alter(false, resource(ConfigResource.Type.TOPIC, "i", "bogus.key", "1"));

        assertThat(resp.responses().get(0).errorCode()).isEqualTo(Errors.INVALID_CONFIG.code());
        assertThat(resp.responses().get(0).errorMessage()).contains("retention.ms").contains("-7");
        assertThat(unknown.responses().get(0).errorCode()).isEqualTo(Errors.INVALID_CONFIG.code());
        assertThat(unknown.responses().get(0).errorMessage()).contains("bogus.key");
        assertThat(fx.topics.topic("i").configs()).isEqualTo(Map.of("retention.ms", "1000"));
    }

    @Test
    void unknownTopicsAreUnknownButInvalidConfigsAreReportedFirst() {
        AlterConfigsResponseData resp = alter(false, resource(ConfigResource.Type.TOPIC, "nope", "retention.ms", "5"),
                resource(ConfigResource.Type.TOPIC, "nope2", "retention.ms", "x"));

        assertThat(resp.responses().get(0).errorCode()).isEqualTo(Errors.UNKNOWN_TOPIC_OR_PARTITION.code());
        assertThat(resp.responses().get(0).errorMessage()).isEqualTo("The topic 'nope' does not exist.");
        assertThat(resp.responses().get(1).errorCode()).isEqualTo(Errors.INVALID_CONFIG.code());
    }

    @Test
    void malformedResourcesAreInvalidRequests() {
        fx.topic("m", 1, Map.of());

        AlterConfigsResponseData resp = alter(false,
                resource(ConfigResource.Type.TOPIC, "m", "retention.ms", "1"),
                resource(ConfigResource.Type.TOPIC, "m", "retention.ms", "2"),
                resource(ConfigResource.Type.TOPIC, "other", "retention.ms", "1", "retention.ms", "2"),
                resource(ConfigResource.Type.TOPIC, "third", "retention.ms", null),
                resource(ConfigResource.Type.BROKER_LOGGER, "1", "root", "INFO"));

        assertThat(resp.responses()).allSatisfy(r -> assertThat(r.errorCode()).isEqualTo(Errors.INVALID_REQUEST.code()));
        assertThat(resp.responses()).extracting(AlterConfigsResourceResponse::errorMessage).containsExactly(
                "Each resource must appear at most once.", "Each resource must appear at most once.",
                "Error due to duplicate config keys", "Null value not supported for : retention.ms",
                "Unknown resource type 8");
        assertThat(fx.topics.topic("m").configs()).isEmpty();
    }

    @Test
    void onlyDynamicBrokerConfigsCanBeChanged() {
        AlterConfigsResponseData resp = alter(false,
                resource(ConfigResource.Type.BROKER, "1", "log.retention.ms", "5", "num.partitions", "2"),
                resource(ConfigResource.Type.BROKER, "2", "log.retention.ms", "5"),
                resource(ConfigResource.Type.BROKER, ""));

        assertThat(resp.responses().get(0).errorCode()).isEqualTo(Errors.INVALID_REQUEST.code());
        assertThat(resp.responses().get(0).errorMessage())
                .isEqualTo("Cannot update these configs dynamically: Set(num.partitions)");
        assertThat(resp.responses().get(1).errorMessage()).isEqualTo("Unexpected broker id, expected 1, but received 2");
        assertThat(resp.responses().get(2).errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(fx.topics.brokerConfigs("1")).isEmpty();
    }

    @Test
    void legacyAlterConfigsReplacesABrokersDynamicConfigs() {
        AlterConfigsResponseData first = alter(false, resource(ConfigResource.Type.BROKER, "1",
                "log.retention.ms", "5000", "log.segment.bytes", "2097152"));
        assertThat(first.responses().get(0).errorCode()).isEqualTo(Errors.NONE.code());
        alter(false, resource(ConfigResource.Type.BROKER, "1", "log.retention.ms", "6000"));
        assertThat(fx.topics.brokerConfigs("1")).containsExactly(java.util.Map.entry("log.retention.ms", "6000"));
        AlterConfigsResponseData only = alter(true, resource(ConfigResource.Type.BROKER, "", "log.retention.ms", "1"));
        assertThat(only.responses().get(0).errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(fx.topics.brokerConfigs("")).as("validate_only").isEmpty();
    }
}
