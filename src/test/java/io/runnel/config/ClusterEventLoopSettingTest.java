package io.runnel.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;

import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

/** {@code cluster.event.loop.threads}: the event loops of the clustered side (event bus and bridges). */
class ClusterEventLoopSettingTest {

    @Test
    void oneLoopUnlessSet() {
        assertThat(new BrokerConfig(Map.of()).getInt(BrokerConfig.CLUSTER_EVENT_LOOP_THREADS)).isEqualTo(1);
        assertThat(new BrokerConfig(Map.of("cluster.event.loop.threads", "8"))
                .getInt(BrokerConfig.CLUSTER_EVENT_LOOP_THREADS)).isEqualTo(8);
    }

    @Test
    void badValuesStopStartUpNamingTheKey() {
        for (String bad : new String[] {"0", "-2", "many", "5000"}) {
            assertThatThrownBy(() -> new BrokerConfig(Map.of("cluster.event.loop.threads", bad))).as(bad)
                    .isInstanceOf(ConfigException.class).hasMessageContaining("cluster.event.loop.threads");
        }
    }
}
