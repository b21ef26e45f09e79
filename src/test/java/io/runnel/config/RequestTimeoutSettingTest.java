package io.runnel.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;

import io.runnel.txn.TransactionConfig;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

/** {@code request.timeout.ms}: Kafka's broker key, which bounds inter-broker requests and marker writes. */
class RequestTimeoutSettingTest {

    @Test
    void defaultIsKafkasAndTheTransactionCoordinatorUsesIt() {
        BrokerConfig c = new BrokerConfig(Map.of());
        assertThat(c.getInt(BrokerConfig.REQUEST_TIMEOUT_MS)).isEqualTo(30_000);
        assertThat(TransactionConfig.from(c, (short) 2).appendTimeoutMs()).isEqualTo(30_000L);
        BrokerConfig set = new BrokerConfig(Map.of("request.timeout.ms", "12000"));
        assertThat(TransactionConfig.from(set, (short) 2).appendTimeoutMs()).isEqualTo(12_000L);
    }

    @Test
    void badValuesStopStartUpNamingTheKey() {
        for (String bad : new String[] {"0", "-1", "soon", "99999999999"}) {
            assertThatThrownBy(() -> new BrokerConfig(Map.of("request.timeout.ms", bad))).as(bad)
                    .isInstanceOf(ConfigException.class).hasMessageContaining("request.timeout.ms");
        }
    }
}
