package io.runnel.bridge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.runnel.Broker;
import io.runnel.config.BrokerConfig;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ExternalBridgeSettingsTest {

    private static ExternalBridgeSettings settings(String... kv) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return ExternalBridgeSettings.of(new BrokerConfig(m));
    }

    @Test
    void offByDefaultWithEveryPublicAddressPermitted() {
        ExternalBridgeSettings s = settings();
        assertThat(s.anyEnabled()).isFalse();
        assertThat(s.inbound()).containsExactlyInAnyOrder("runnel.produce", "runnel.subscribe", "runnel.heartbeat",
                "runnel.commit", "runnel.unsubscribe", "runnel.metadata");
        assertThat(s.isPermittedInbound("runnel.node.1.produce")).isFalse();
    }

    @Test
    void listenersPrefixAndClientAddresses() {
        ExternalBridgeSettings s = settings("bridge.tcp.listener", "127.0.0.1:7000", "bridge.sockjs.listener",
                "[::1]:0", "bridge.address.prefix", "orders.bus", "bridge.permitted.addresses",
                "subscribe,heartbeat,commit,unsubscribe");
        assertThat(s.tcp()).isEqualTo(new ExternalBridgeSettings.HostPort("127.0.0.1", 7000));
        assertThat(s.sockJs()).isEqualTo(new ExternalBridgeSettings.HostPort("::1", 0));
        assertThat(s.isPermittedInbound("orders.bus.produce")).isFalse();
        assertThat(s.isPermittedInbound("orders.bus.subscribe")).isTrue();
        assertThat(s.isClientAddress("orders.bus.client.0f8fad5b-d9cb-469f-a165-70867728950e")).isTrue();
        assertThat(s.isClientAddress("orders.bus.client.short")).isFalse();
        assertThat(s.isClientAddress("orders.bus.client.abcdefgh.x")).isFalse();
        assertThat(s.isClientAddress("ordersXbus.client.abcdefgh")).isFalse();
        assertThat(s.isClientAddress("runnel.client.abcdefgh")).isFalse();
    }

    @Test
    void aBadValueNamesItsKey() {
        assertThatThrownBy(() -> settings("bridge.tcp.listener", "127.0.0.1")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("bridge.tcp.listener");
        assertThatThrownBy(() -> settings("bridge.sockjs.listener", "localhost:99999"))
                .hasMessageContaining("bridge.sockjs.listener");
        assertThatThrownBy(() -> settings("bridge.sockjs.path", "eventbus")).hasMessageContaining("bridge.sockjs.path");
        assertThatThrownBy(() -> settings("bridge.sockjs.path", "/runnel/x")).hasMessageContaining("bridge.sockjs.path");
        assertThatThrownBy(() -> settings("bridge.permitted.addresses", "produce,node.1.produce"))
                .hasMessageContaining("bridge.permitted.addresses").hasMessageContaining("node.1.produce");
        assertThatThrownBy(() -> settings("bridge.permitted.addresses", "subscribe"))
                .hasMessageContaining("bridge.permitted.addresses");
        assertThatThrownBy(() -> settings("bridge.auth.token", "short")).hasMessageContaining("bridge.auth.token")
                .hasMessageNotContaining("short");
        assertThatThrownBy(() -> settings("bridge.auth.max.failures", "0")).hasMessageContaining("bridge.auth.max.failures");
        assertThatThrownBy(() -> settings("bridge.tcp.listener", "127.0.0.1:0", "bridge.enabled", "false"))
                .hasMessageContaining("bridge.tcp.listener").hasMessageContaining("bridge.enabled");
    }

    @Test
    void aBadValueStopsBrokerStartUp() throws Exception {
        Throwable failure = Broker.start(Map.of("bridge.tcp.listener", "127.0.0.1:notaport"))
                .toCompletionStage().toCompletableFuture().handle((b, t) -> t).get(30, TimeUnit.SECONDS);
        assertThat(failure).isInstanceOf(ConfigException.class).hasMessageContaining("bridge.tcp.listener");
    }
}
