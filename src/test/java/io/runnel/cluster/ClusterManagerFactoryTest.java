package io.runnel.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import io.runnel.config.BrokerConfig;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

class ClusterManagerFactoryTest {

    @Test
    void joinsOnlyTheListedMembersOnTheConfiguredInterface() {
        BrokerConfig broker = new BrokerConfig(Map.of("cluster.enabled", "true", "cluster.name", "c1",
                "cluster.port", "6001", "cluster.port.count", "3",
                "cluster.members", "127.0.0.1:6001, 127.0.0.1:6002"));
        Config config = ClusterManagerFactory.hazelcastConfig(ClusterManagerFactory.Settings.from(broker, "inc"));
        assertThat(config.getClusterName()).isEqualTo("c1");
        assertThat(config.getNetworkConfig().getPort()).isEqualTo(6001);
        assertThat(config.getNetworkConfig().getPortCount()).isEqualTo(3);
        assertThat(config.getNetworkConfig().getInterfaces().getInterfaces()).containsExactly("127.0.0.1");
        JoinConfig join = config.getNetworkConfig().getJoin();
        assertThat(join.getMulticastConfig().isEnabled()).isFalse();
        assertThat(join.getAutoDetectionConfig().isEnabled()).isFalse();
        assertThat(join.getTcpIpConfig().isEnabled()).isTrue();
        assertThat(join.getTcpIpConfig().getMembers()).containsExactly("127.0.0.1:6001", "127.0.0.1:6002");
        assertThat(config.getProperty("hazelcast.wait.seconds.before.join")).isEqualTo("0");
        // the maps the Vert.x event bus needs come from vertx-hazelcast's default configuration
        assertThat(config.getMultiMapConfigs()).containsKey("__vertx.subs");
    }

    @Test
    void refusesAPortRangeOrAMissingPort() {
        for (String bad : List.of("127.0.0.1:5701-5703", "127.0.0.1", "127.0.0.1:0")) {
            assertThatThrownBy(() -> ClusterManagerFactory.hazelcastConfig(
                    new ClusterManagerFactory.Settings("c", "127.0.0.1", 5701, 1, List.of(bad))))
                    .isInstanceOf(ConfigException.class).hasMessageContaining("cluster.members");
        }
    }
}
