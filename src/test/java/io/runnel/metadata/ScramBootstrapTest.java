package io.runnel.metadata;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.security.scram.ScramCredential;
import org.apache.kafka.common.security.scram.internals.ScramFormatter;
import org.apache.kafka.common.security.scram.internals.ScramMechanism;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ScramBootstrapTest {

    @Test
    void parsesKafkaStorageAddScramSyntax() {
        ScramBootstrap b = ScramBootstrap.parse(" SCRAM-SHA-512=[name=broker,password=broker-secret]"
                + "  SCRAM-SHA-256=[name=alice,password=\"a, b]c\",iterations=8192] ");
        assertThat(b.entries()).containsExactly(
                new ScramBootstrap.Entry("broker", ScramMechanism.SCRAM_SHA_512, "broker-secret", 4096),
                new ScramBootstrap.Entry("alice", ScramMechanism.SCRAM_SHA_256, "a, b]c", 8192));
        assertThat(ScramBootstrap.parse("").isEmpty()).isTrue();
    }

    @Test
    void malformedEntriesStopStartUpNamingTheKey() {
        for (String bad : List.of("SCRAM-SHA-1=[name=a,password=b]", "SCRAM-SHA-512=[name=a]",
                "SCRAM-SHA-512=[name=a,password=b", "SCRAM-SHA-512=[name=a,password=b,iterations=10]",
                "SCRAM-SHA-512=[name=a,pw=b]", "broker:secret")) {
            assertThatThrownBy(() -> ScramBootstrap.parse(bad)).as(bad).isInstanceOf(ConfigException.class)
                    .hasMessageContaining("runnel.bootstrap.scram.users").hasMessageNotContaining("password=b");
        }
    }

    @Test
    void seedsOnlyTheCredentialsTheLogDoesNotHold() throws Exception {
        MetadataImage image = new MetadataImage(overrides -> false);
        ScramCredential existing = new ScramFormatter(ScramMechanism.SCRAM_SHA_512).generateCredential("old", 4096);
        image.apply(ScramCredentials.record(List.of(
                new ScramCredentials.Alteration("broker", ScramMechanism.SCRAM_SHA_512, existing))), 1, 1);
        ScramBootstrap b = ScramBootstrap.parse("SCRAM-SHA-512=[name=broker,password=new]"
                + " SCRAM-SHA-512=[name=admin,password=admin-secret] SCRAM-SHA-256=[name=broker,password=new]");
        List<JsonObject> proposed = new ArrayList<>();
        long[] index = {1};
        b.seed(image.scram(), work -> {
            try {
                return Future.succeededFuture(work.call());
            } catch (Exception e) {
                return Future.failedFuture(e);
            }
        }, record -> {
            proposed.add(record);
            return Future.succeededFuture(image.apply(record, ++index[0], 1).reply());
        }).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);

        assertThat(proposed).hasSize(1);
        assertThat(image.scram().user("broker").get(ScramMechanism.SCRAM_SHA_512).salt()).as("never replaced")
                .isEqualTo(existing.salt());
        assertThat(image.scram().user("broker")).containsKey(ScramMechanism.SCRAM_SHA_256);
        ScramCredential admin = image.scram().user("admin").get(ScramMechanism.SCRAM_SHA_512);
        assertThat(admin.iterations()).isEqualTo(4096);
        ScramFormatter f = new ScramFormatter(ScramMechanism.SCRAM_SHA_512);
        assertThat(f.storedKey(f.clientKey(f.saltedPassword("admin-secret", admin.salt(), 4096))))
                .as("the password's stored key").isEqualTo(admin.storedKey());

        proposed.clear();
        b.seed(image.scram(), work -> Future.failedFuture("nothing to hash"), record -> {
            proposed.add(record);
            return Future.succeededFuture(new JsonObject());
        }).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertThat(proposed).as("a second start proposes nothing").isEmpty();
    }
}
