package io.runnel.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;

import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

class ConnectionSettingsTest {

    @Test
    void defaultsAreKafkasExceptTheRequestMemoryBound() {
        BrokerConfig c = new BrokerConfig(Map.of());
        assertThat(c.getInt(BrokerConfig.MAX_CONNECTIONS)).isEqualTo(Integer.MAX_VALUE);
        assertThat(c.getInt(BrokerConfig.MAX_CONNECTIONS_PER_IP)).isEqualTo(Integer.MAX_VALUE);
        assertThat(c.connectionsMaxIdleMs()).isEqualTo(600_000L);
        long maxDirect = io.netty.util.internal.PlatformDependent.maxDirectMemory();
        assertThat(c.queuedMaxRequestBytes()).isEqualTo(Math.max(maxDirect / 4, 100 * 1024 * 1024));
    }

    @Test
    void minusOneMeansUnboundedAndNeverIdle() {
        BrokerConfig c = new BrokerConfig(Map.of("queued.max.request.bytes", "-1", "connections.max.idle.ms", "-1"));
        assertThat(c.queuedMaxRequestBytes()).isEqualTo(Long.MAX_VALUE);
        assertThat(c.connectionsMaxIdleMs()).isZero(); // Vert.x's "no idle timeout"
        BrokerConfig set = new BrokerConfig(Map.of("queued.max.request.bytes", "209715200"));
        assertThat(set.queuedMaxRequestBytes()).isEqualTo(209715200L);
    }

    @Test
    void badValuesStopStartUpNamingTheKey() {
        for (Map<String, String> bad : new Map[] {
            Map.of("queued.max.request.bytes", "0"),
            Map.of("queued.max.request.bytes", "-2"),
            Map.of("queued.max.request.bytes", "lots"),
            Map.of("queued.max.request.bytes", "1048576"), // below socket.request.max.bytes
            Map.of("max.connections", "-1"),
            Map.of("max.connections.per.ip", "-5"),
            Map.of("connections.max.idle.ms", "0"),
            Map.of("connections.max.idle.ms", "-7")}) {
            String key = bad.keySet().iterator().next();
            assertThatThrownBy(() -> new BrokerConfig(bad)).as(bad.toString())
                    .isInstanceOf(ConfigException.class).hasMessageContaining(key);
        }
        // at or above socket.request.max.bytes is fine
        new BrokerConfig(Map.of("queued.max.request.bytes", "1048576", "socket.request.max.bytes", "1048576"));
    }
}
