package io.runnel.bridge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.concurrent.TimeUnit;

import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class SubscriptionRequestTest {

    private static JsonObject minimal() {
        return new JsonObject().put("group", "g").put("topics", List.of("a", "b")).put("address", "app.in");
    }

    @Test
    void theIdCarriesTheWholeRequestSoAnotherBrokerCanTakeItOver() {
        SubscriptionRequest req = SubscriptionRequest.parse(minimal().put("credits", 7).put("sessionTimeoutMs", 3000)
                .put("ackTimeoutMs", 500L).put("autoOffsetReset", "earliest").put("nodeId", "n-1")
                .put("clientId", "c").put("encoding", "json").put("batch", 20).put("ordered", false));
        String id = req.toId();
        assertThat(id).startsWith("s1.").doesNotContain("/", "+", "=");
        SubscriptionRequest back = SubscriptionRequest.fromId(id);
        assertThat(back).isEqualTo(req);
        assertThat(back.instanceId()).startsWith("runnel-bridge-");
    }

    @Test
    void defaultsAreBinaryOrderedOneRecordPerDelivery() {
        SubscriptionRequest req = SubscriptionRequest.parse(minimal());
        assertThat(req.encoding()).isEqualTo("binary");
        assertThat(req.batch()).isEqualTo(1);
        assertThat(req.ordered()).isTrue();
        assertThat(req.credits()).isEqualTo(100);
        assertThat(req.earliest()).isFalse();
        assertThat(SubscriptionRequest.parse(minimal()).instanceId()).isNotEqualTo(req.instanceId());
        assertThat(SubscriptionRequest.fromId(req.toId())).isEqualTo(req);
    }

    @Test
    void anIdThatIsNotOneIsUnknown() {
        assertThat(SubscriptionRequest.fromId(null)).isNull();
        assertThat(SubscriptionRequest.fromId("0b5f6a1e-uuid")).isNull();
        assertThat(SubscriptionRequest.fromId("s1.!!!")).isNull();
        assertThat(SubscriptionRequest.fromId("s1.e30")).isNull(); // {}
    }

    @Test
    void badFieldsAreNamed() {
        assertThatThrownBy(() -> SubscriptionRequest.parse(minimal().put("encoding", "xml")))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("'encoding'");
        assertThatThrownBy(() -> SubscriptionRequest.parse(minimal().put("batch", 0)))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("'batch'");
        assertThatThrownBy(() -> SubscriptionRequest.parse(minimal().put("batch", 5)))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("'batch'", "encoding");
        assertThatThrownBy(() -> SubscriptionRequest.parse(minimal().put("credits", 0)))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("'credits'");
        assertThatThrownBy(() -> SubscriptionRequest.parse(minimal().put("ordered", "yes")))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("wrong type");
        assertThatThrownBy(() -> SubscriptionRequest.parse(minimal().remove("group") == null ? null : minimal().put("group", "")))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("'group'");
    }
}
