package io.runnel.metadata;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.TimeUnit;

import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.security.scram.ScramCredential;
import org.apache.kafka.common.security.scram.internals.ScramFormatter;
import org.apache.kafka.common.security.scram.internals.ScramMechanism;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ScramCredentialsTest {

    private final MetadataImage image = new MetadataImage(overrides -> false);
    private long index;

    private JsonObject apply(List<ScramCredentials.Alteration> alterations) {
        return image.apply(ScramCredentials.record(alterations), ++index, 1).reply();
    }

    private static ScramCredential credential(ScramMechanism m, String password, int iterations) throws Exception {
        return new ScramFormatter(m).generateCredential(password, iterations);
    }

    private ScramCredential cached(ScramMechanism m, String user) {
        return image.scram().cache().cache(m.mechanismName(), ScramCredential.class).get(user);
    }

    @Test
    void upsertsAreCachedPerMechanismAndDeletesRemoveThem() throws Exception {
        ScramCredential a256 = credential(ScramMechanism.SCRAM_SHA_256, "secret", 4096);
        ScramCredential a512 = credential(ScramMechanism.SCRAM_SHA_512, "secret", 8192);
        JsonObject reply = apply(List.of(new ScramCredentials.Alteration("alice", ScramMechanism.SCRAM_SHA_256, a256)));
        assertThat(reply.getJsonObject("failed")).isEmpty();
        apply(List.of(new ScramCredentials.Alteration("alice", ScramMechanism.SCRAM_SHA_512, a512)));

        assertThat(cached(ScramMechanism.SCRAM_SHA_256, "alice").storedKey()).isEqualTo(a256.storedKey());
        assertThat(cached(ScramMechanism.SCRAM_SHA_512, "alice").iterations()).isEqualTo(8192);
        assertThat(image.scram().user("alice")).containsOnlyKeys(ScramMechanism.SCRAM_SHA_256,
                ScramMechanism.SCRAM_SHA_512);
        assertThat(image.scram().userNames()).containsExactly("alice");

        apply(List.of(new ScramCredentials.Alteration("alice", ScramMechanism.SCRAM_SHA_256, null)));
        assertThat(cached(ScramMechanism.SCRAM_SHA_256, "alice")).isNull();
        assertThat(cached(ScramMechanism.SCRAM_SHA_512, "alice")).isNotNull();
        apply(List.of(new ScramCredentials.Alteration("alice", ScramMechanism.SCRAM_SHA_512, null)));
        assertThat(image.scram().userNames()).isEmpty();
        assertThat(cached(ScramMechanism.SCRAM_SHA_512, "alice")).isNull();
    }

    @Test
    void deletingWhatDoesNotExistFailsThatUserOnly() throws Exception {
        ScramCredential c = credential(ScramMechanism.SCRAM_SHA_256, "pw", 4096);
        JsonObject reply = apply(List.of(
                new ScramCredentials.Alteration("ghost", ScramMechanism.SCRAM_SHA_512, null),
                new ScramCredentials.Alteration("bob", ScramMechanism.SCRAM_SHA_256, c)));
        JsonObject failed = reply.getJsonObject("failed");
        assertThat(failed.fieldNames()).containsExactly("ghost");
        assertThat(failed.getJsonObject("ghost").getInteger("error")).isEqualTo((int) Errors.RESOURCE_NOT_FOUND.code());
        assertThat(image.scram().userNames()).containsExactly("bob");
    }

    @Test
    void aSnapshotKeepsTheSaltedCredentialsAndNoPassword() throws Exception {
        ScramCredential c = credential(ScramMechanism.SCRAM_SHA_512, "do-not-store-me", 5000);
        apply(List.of(new ScramCredentials.Alteration("carol", ScramMechanism.SCRAM_SHA_512, c)));
        JsonObject snapshot = image.toJson();
        assertThat(snapshot.encode()).doesNotContain("do-not-store-me");

        MetadataImage restored = new MetadataImage(overrides -> false);
        restored.load(new JsonObject(snapshot.encode()));
        ScramCredential back = restored.scram().cache().cache("SCRAM-SHA-512", ScramCredential.class).get("carol");
        assertThat(back.salt()).isEqualTo(c.salt());
        assertThat(back.storedKey()).isEqualTo(c.storedKey());
        assertThat(back.serverKey()).isEqualTo(c.serverKey());
        assertThat(back.iterations()).isEqualTo(5000);

        // a later snapshot without the user drops it from the cache as well
        restored.load(new MetadataImage(overrides -> false).toJson());
        assertThat(restored.scram().cache().cache("SCRAM-SHA-512", ScramCredential.class).get("carol")).isNull();
        assertThat(restored.scram().userNames()).isEmpty();
    }

    @Test
    void aSnapshotFromBeforeScramLoadsWithNoUsers() {
        JsonObject old = image.toJson();
        old.remove("scramCredentials");
        image.load(old);
        assertThat(image.scram().userNames()).isEmpty();
    }
}
