package io.runnel.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import io.runnel.metadata.MetadataImage;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.common.message.AlterUserScramCredentialsRequestData;
import org.apache.kafka.common.message.AlterUserScramCredentialsRequestData.ScramCredentialDeletion;
import org.apache.kafka.common.message.AlterUserScramCredentialsRequestData.ScramCredentialUpsertion;
import org.apache.kafka.common.message.AlterUserScramCredentialsResponseData;
import org.apache.kafka.common.message.AlterUserScramCredentialsResponseData.AlterUserScramCredentialsResult;
import org.apache.kafka.common.message.DescribeUserScramCredentialsRequestData;
import org.apache.kafka.common.message.DescribeUserScramCredentialsResponseData;
import org.apache.kafka.common.message.DescribeUserScramCredentialsResponseData.DescribeUserScramCredentialsResult;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.security.scram.ScramCredential;
import org.apache.kafka.common.security.scram.internals.ScramFormatter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ScramCredentialsHandlersTest {

    private final MetadataImage image = new MetadataImage(overrides -> false);
    private final AtomicInteger proposals = new AtomicInteger();
    private long index;

    private Future<JsonObject> propose(JsonObject record) {
        proposals.incrementAndGet();
        try {
            return Future.succeededFuture(image.apply(record, ++index, 1).reply());
        } catch (RuntimeException e) {
            return Future.failedFuture(e);
        }
    }

    private Map<String, AlterUserScramCredentialsResult> alter(AlterUserScramCredentialsRequestData request) {
        AlterUserScramCredentialsResponseData response = ScramCredentialsHandlers.alter(request, this::propose)
                .toCompletionStage().toCompletableFuture().join();
        return response.results().stream().collect(Collectors.toMap(AlterUserScramCredentialsResult::user, r -> r));
    }

    private static ScramCredentialUpsertion upsertion(String user, ScramMechanism m, String password, int iterations)
            throws Exception {
        org.apache.kafka.common.security.scram.internals.ScramMechanism internal =
                org.apache.kafka.common.security.scram.internals.ScramMechanism.forMechanismName(m.mechanismName());
        byte[] salt = new ScramFormatter(internal).secureRandomBytes();
        return new ScramCredentialUpsertion().setName(user).setMechanism(m.type()).setIterations(iterations)
                .setSalt(salt).setSaltedPassword(new ScramFormatter(internal).saltedPassword(password, salt, iterations));
    }

    @Test
    void anUpsertionStoresTheKeysThatTheSaltedPasswordGives() throws Exception {
        ScramCredentialUpsertion u = upsertion("alice", ScramMechanism.SCRAM_SHA_256, "secret", 4096);
        Map<String, AlterUserScramCredentialsResult> results = alter(new AlterUserScramCredentialsRequestData()
                .setUpsertions(List.of(u)));
        assertThat(results.get("alice").errorCode()).isEqualTo(Errors.NONE.code());

        ScramCredential stored = image.scram().cache().cache("SCRAM-SHA-256", ScramCredential.class).get("alice");
        ScramCredential expected = new ScramFormatter(
                org.apache.kafka.common.security.scram.internals.ScramMechanism.SCRAM_SHA_256)
                .generateCredential(u.salt(), u.saltedPassword(), 4096);
        assertThat(stored.storedKey()).isEqualTo(expected.storedKey());
        assertThat(stored.serverKey()).isEqualTo(expected.serverKey());
        assertThat(stored.salt()).isEqualTo(u.salt());
    }

    @Test
    void invalidAlterationsGetKafkasErrorsAndChangeNothing() throws Exception {
        AlterUserScramCredentialsRequestData request = new AlterUserScramCredentialsRequestData()
                .setDeletions(List.of(
                        new ScramCredentialDeletion().setName("nobody").setMechanism(ScramMechanism.SCRAM_SHA_256.type()),
                        new ScramCredentialDeletion().setName("twice").setMechanism(ScramMechanism.SCRAM_SHA_256.type()),
                        new ScramCredentialDeletion().setName("weird").setMechanism((byte) 9)))
                .setUpsertions(List.of(
                        upsertion("twice", ScramMechanism.SCRAM_SHA_512, "pw", 4096),
                        upsertion("", ScramMechanism.SCRAM_SHA_256, "pw", 4096),
                        upsertion("few", ScramMechanism.SCRAM_SHA_256, "pw", 4095),
                        upsertion("many", ScramMechanism.SCRAM_SHA_512, "pw", 16385),
                        upsertion("max", ScramMechanism.SCRAM_SHA_512, "pw", 16384)));
        Map<String, AlterUserScramCredentialsResult> results = alter(request);

        assertThat(results.get("nobody").errorCode()).isEqualTo(Errors.RESOURCE_NOT_FOUND.code());
        assertThat(results.get("nobody").errorMessage()).isEqualTo("Attempt to delete a user credential that does not exist");
        assertThat(results.get("twice").errorCode()).isEqualTo(Errors.DUPLICATE_RESOURCE.code());
        assertThat(results.get("twice").errorMessage()).isEqualTo("A user credential cannot be altered twice in the same request");
        assertThat(results.get("weird").errorCode()).isEqualTo(Errors.UNSUPPORTED_SASL_MECHANISM.code());
        assertThat(results.get("").errorCode()).isEqualTo(Errors.UNACCEPTABLE_CREDENTIAL.code());
        assertThat(results.get("").errorMessage()).isEqualTo("Username must not be empty");
        assertThat(results.get("few").errorMessage()).isEqualTo("Too few iterations");
        assertThat(results.get("many").errorMessage()).isEqualTo("Too many iterations");
        assertThat(results.get("max").errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(results).hasSize(7);
        assertThat(image.scram().userNames()).containsExactly("max");
    }

    @Test
    void nothingValidProposesNothing() throws Exception {
        alter(new AlterUserScramCredentialsRequestData().setUpsertions(List.of(
                upsertion("few", ScramMechanism.SCRAM_SHA_256, "pw", 10))));
        assertThat(proposals.get()).isZero();
    }

    @Test
    void describeListsMechanismsAndIterationsAndKafkasErrors() throws Exception {
        alter(new AlterUserScramCredentialsRequestData().setUpsertions(List.of(
                upsertion("alice", ScramMechanism.SCRAM_SHA_256, "a", 4096),
                upsertion("bob", ScramMechanism.SCRAM_SHA_512, "b", 8192))));
        alter(new AlterUserScramCredentialsRequestData().setUpsertions(List.of(
                upsertion("alice", ScramMechanism.SCRAM_SHA_512, "a", 10000))));

        DescribeUserScramCredentialsResponseData all = ScramCredentialsHandlers.describe(image.scram(),
                new DescribeUserScramCredentialsRequestData().setUsers(null));
        assertThat(all.errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(all.results()).extracting(DescribeUserScramCredentialsResult::user).containsExactly("alice", "bob");
        DescribeUserScramCredentialsResult alice = all.results().get(0);
        assertThat(alice.credentialInfos()).extracting(c -> c.mechanism() + ":" + c.iterations())
                .containsExactly(ScramMechanism.SCRAM_SHA_256.type() + ":4096",
                        ScramMechanism.SCRAM_SHA_512.type() + ":10000");

        DescribeUserScramCredentialsResponseData some = ScramCredentialsHandlers.describe(image.scram(),
                new DescribeUserScramCredentialsRequestData().setUsers(List.of(
                        new DescribeUserScramCredentialsRequestData.UserName().setName("bob"),
                        new DescribeUserScramCredentialsRequestData.UserName().setName("zed"),
                        new DescribeUserScramCredentialsRequestData.UserName().setName("alice"),
                        new DescribeUserScramCredentialsRequestData.UserName().setName("alice"))));
        Map<String, DescribeUserScramCredentialsResult> byUser = some.results().stream()
                .collect(Collectors.toMap(DescribeUserScramCredentialsResult::user, r -> r));
        assertThat(byUser).hasSize(3);
        assertThat(byUser.get("bob").credentialInfos()).hasSize(1);
        assertThat(byUser.get("zed").errorCode()).isEqualTo(Errors.RESOURCE_NOT_FOUND.code());
        assertThat(byUser.get("zed").errorMessage()).isEqualTo("Attempt to describe a user credential that does not exist: zed");
        assertThat(byUser.get("alice").errorCode()).isEqualTo(Errors.DUPLICATE_RESOURCE.code());
    }
}
