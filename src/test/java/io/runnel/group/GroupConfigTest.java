package io.runnel.group;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;

import org.junit.jupiter.api.Test;

class GroupConfigTest {

    @Test
    void defaultsAreKafkas() {
        GroupConfig d = GroupConfig.fromProperties(Map.of());
        assertThat(d).isEqualTo(GroupConfig.defaults());
        assertThat(d.groupInitialRebalanceDelayMs()).isEqualTo(3000);
        assertThat(d.groupMinSessionTimeoutMs()).isEqualTo(6000);
        assertThat(d.groupMaxSessionTimeoutMs()).isEqualTo(1_800_000);
        assertThat(d.offsetsRetentionMs()).isEqualTo(604_800_000L);
        assertThat(d.offsetsTopicNumPartitions()).isEqualTo(50);
    }

    @Test
    void propertiesOverrideAndBadValuesNameTheProperty() {
        GroupConfig c = GroupConfig.fromProperties(Map.of("group.initial.rebalance.delay.ms", "0",
                "offsets.topic.num.partitions", "3"));
        assertThat(c.groupInitialRebalanceDelayMs()).isZero();
        assertThat(c.offsetsTopicNumPartitions()).isEqualTo(3);
        assertThatThrownBy(() -> GroupConfig.fromProperties(Map.of("group.max.size", "many")))
                .hasMessageContaining("group.max.size");
        assertThatThrownBy(() -> GroupConfig.fromProperties(Map.of("group.min.session.timeout.ms", "2000000")))
                .hasMessageContaining("group.min.session.timeout.ms");
    }
}
