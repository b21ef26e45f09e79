package io.runnel.api;

import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import io.runnel.metadata.ScramCredentials;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.message.AlterUserScramCredentialsRequestData;
import org.apache.kafka.common.message.AlterUserScramCredentialsRequestData.ScramCredentialDeletion;
import org.apache.kafka.common.message.AlterUserScramCredentialsRequestData.ScramCredentialUpsertion;
import org.apache.kafka.common.message.AlterUserScramCredentialsResponseData;
import org.apache.kafka.common.message.AlterUserScramCredentialsResponseData.AlterUserScramCredentialsResult;
import org.apache.kafka.common.message.DescribeUserScramCredentialsRequestData;
import org.apache.kafka.common.message.DescribeUserScramCredentialsResponseData;
import org.apache.kafka.common.message.DescribeUserScramCredentialsResponseData.CredentialInfo;
import org.apache.kafka.common.message.DescribeUserScramCredentialsResponseData.DescribeUserScramCredentialsResult;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.ApiError;
import org.apache.kafka.common.security.scram.ScramCredential;
import org.apache.kafka.common.security.scram.internals.ScramFormatter;
import org.apache.kafka.common.security.scram.internals.ScramMechanism;

/**
 * DescribeUserScramCredentials and AlterUserScramCredentials (KIP-554), what {@code Admin.describeUserScramCredentials
 * / alterUserScramCredentials} and {@code kafka-configs.sh --entity-type users} use. Answers as Kafka's KRaft
 * controller and ScramImage do: one alteration per user per request (DUPLICATE_RESOURCE otherwise), a non-empty user
 * name (UNACCEPTABLE_CREDENTIAL), a known mechanism (UNSUPPORTED_SASL_MECHANISM), 4096..16384 iterations
 * (UNACCEPTABLE_CREDENTIAL), deleting only what exists (RESOURCE_NOT_FOUND, checked as the record is applied). The
 * client sends a salted password; the record keeps the salt, stored key and server key that kafka-clients'
 * {@link ScramFormatter} derives from it, never the password.
 *
 * <p>Not yet authorized: anyone who can reach a listener may call them until the authorizer checks ALTER / DESCRIBE
 * on the cluster, as Kafka does.
 */
public final class ScramCredentialsHandlers {

    /** Kafka's ScramControlManager bound. */
    static final int MAX_ITERATIONS = 16384;

    private ScramCredentialsHandlers() {
    }

    /** DescribeUserScramCredentials: all users for a null or empty list, else each named one. */
    public static final class Describe implements ApiHandler<DescribeUserScramCredentialsRequestData> {
        private final ScramCredentials credentials;

        public Describe(ScramCredentials credentials) {
            this.credentials = credentials;
        }

        @Override
        public ApiKeys apiKey() {
            return ApiKeys.DESCRIBE_USER_SCRAM_CREDENTIALS;
        }

        @Override
        public Future<DescribeUserScramCredentialsResponseData> handle(RequestContext ctx,
                                                                        DescribeUserScramCredentialsRequestData request) {
            if (!ctx.clusterAuthorized(AclOperation.DESCRIBE)) {
                // as Kafka: DESCRIBE on the cluster, else a top-level error and no users
                return Future.succeededFuture(new DescribeUserScramCredentialsResponseData()
                        .setErrorCode(Errors.CLUSTER_AUTHORIZATION_FAILED.code())
                        .setErrorMessage(Errors.CLUSTER_AUTHORIZATION_FAILED.message()));
            }
            return Future.succeededFuture(describe(credentials, request));
        }
    }

    static DescribeUserScramCredentialsResponseData describe(ScramCredentials credentials,
                                                             DescribeUserScramCredentialsRequestData request) {
        Map<String, Boolean> users = new LinkedHashMap<>();
        if (request.users() == null || request.users().isEmpty()) {
            credentials.userNames().forEach(u -> users.put(u, false));
        } else {
            request.users().forEach(u -> users.merge(u.name(), false, (a, b) -> true));
        }
        DescribeUserScramCredentialsResponseData response = new DescribeUserScramCredentialsResponseData()
                .setErrorCode(Errors.NONE.code());
        users.forEach((user, duplicate) -> {
            DescribeUserScramCredentialsResult result = new DescribeUserScramCredentialsResult().setUser(user);
            Map<ScramMechanism, ScramCredential> held = credentials.user(user);
            if (duplicate) {
                result.setErrorCode(Errors.DUPLICATE_RESOURCE.code()).setErrorMessage(
                        "Cannot describe SCRAM credentials for the same user twice in a single request: " + user);
            } else if (held.isEmpty()) {
                result.setErrorCode(Errors.RESOURCE_NOT_FOUND.code()).setErrorMessage(
                        "Attempt to describe a user credential that does not exist: " + user);
            } else {
                result.setErrorCode(Errors.NONE.code());
                for (ScramMechanism m : ScramMechanism.values()) {
                    ScramCredential c = held.get(m);
                    if (c != null) {
                        result.credentialInfos().add(new CredentialInfo()
                                .setMechanism(org.apache.kafka.clients.admin.ScramMechanism
                                        .fromMechanismName(m.mechanismName()).type())
                                .setIterations(c.iterations()));
                    }
                }
            }
            response.results().add(result);
        });
        return response;
    }

    /** AlterUserScramCredentials: the valid alterations go to the metadata log as one record. */
    public static final class Alter implements ApiHandler<AlterUserScramCredentialsRequestData> {
        private final Function<JsonObject, Future<JsonObject>> propose;

        /** @param propose proposes a metadata record; completes (on the caller's context) once applied here */
        public Alter(Function<JsonObject, Future<JsonObject>> propose) {
            this.propose = propose;
        }

        @Override
        public ApiKeys apiKey() {
            return ApiKeys.ALTER_USER_SCRAM_CREDENTIALS;
        }

        @Override
        public Future<AlterUserScramCredentialsResponseData> handle(RequestContext ctx,
                                                                     AlterUserScramCredentialsRequestData request) {
            if (!ctx.clusterAuthorized(AclOperation.ALTER)) {
                // as Kafka: ALTER on the cluster, else every user named fails with CLUSTER_AUTHORIZATION_FAILED
                java.util.Set<String> users = new java.util.LinkedHashSet<>();
                request.deletions().forEach(d -> users.add(d.name()));
                request.upsertions().forEach(u -> users.add(u.name()));
                AlterUserScramCredentialsResponseData refused = new AlterUserScramCredentialsResponseData();
                users.forEach(user -> refused.results().add(new AlterUserScramCredentialsResult().setUser(user)
                        .setErrorCode(Errors.CLUSTER_AUTHORIZATION_FAILED.code())
                        .setErrorMessage(Errors.CLUSTER_AUTHORIZATION_FAILED.message())));
                return Future.succeededFuture(refused);
            }
            return alter(request, propose);
        }
    }

    static Future<AlterUserScramCredentialsResponseData> alter(AlterUserScramCredentialsRequestData request,
                                                               Function<JsonObject, Future<JsonObject>> propose) {
        Map<String, ScramCredentials.Alteration> valid = new LinkedHashMap<>();
        Map<String, ApiError> errors = new LinkedHashMap<>();
        for (ScramCredentialDeletion d : request.deletions()) {
            check(d.name(), d.mechanism(), null, valid, errors);
        }
        for (ScramCredentialUpsertion u : request.upsertions()) {
            check(u.name(), u.mechanism(), u, valid, errors);
        }
        AlterUserScramCredentialsResponseData response = new AlterUserScramCredentialsResponseData();
        Future<JsonObject> applied = valid.isEmpty() ? Future.succeededFuture(new JsonObject())
                : propose.apply(ScramCredentials.record(new ArrayList<>(valid.values())));
        return applied.map(reply -> {
            JsonObject failed = reply.getJsonObject("failed", new JsonObject());
            List<AlterUserScramCredentialsResult> results = response.results();
            valid.keySet().forEach(user -> {
                JsonObject f = failed.getJsonObject(user);
                results.add(f == null ? new AlterUserScramCredentialsResult().setUser(user)
                        .setErrorCode(Errors.NONE.code())
                        : new AlterUserScramCredentialsResult().setUser(user)
                        .setErrorCode(f.getInteger("error").shortValue()).setErrorMessage(f.getString("message")));
            });
            errors.forEach((user, e) -> results.add(new AlterUserScramCredentialsResult().setUser(user)
                    .setErrorCode(e.error().code()).setErrorMessage(e.message())));
            return response;
        });
    }

    /** Kafka's checks of one alteration; a user altered a second time is refused altogether. */
    private static void check(String user, byte mechanismType, ScramCredentialUpsertion upsertion,
                              Map<String, ScramCredentials.Alteration> valid, Map<String, ApiError> errors) {
        if (errors.containsKey(user)) {
            return;
        }
        if (valid.remove(user) != null) {
            errors.put(user, new ApiError(Errors.DUPLICATE_RESOURCE,
                    "A user credential cannot be altered twice in the same request"));
            return;
        }
        if (user.isEmpty()) {
            errors.put(user, new ApiError(Errors.UNACCEPTABLE_CREDENTIAL, "Username must not be empty"));
            return;
        }
        org.apache.kafka.clients.admin.ScramMechanism type =
                org.apache.kafka.clients.admin.ScramMechanism.fromType(mechanismType);
        ScramMechanism mechanism = type == org.apache.kafka.clients.admin.ScramMechanism.UNKNOWN ? null
                : ScramMechanism.forMechanismName(type.mechanismName());
        if (mechanism == null) {
            errors.put(user, new ApiError(Errors.UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism"));
            return;
        }
        if (upsertion == null) {
            valid.put(user, new ScramCredentials.Alteration(user, mechanism, null));
            return;
        }
        if (upsertion.iterations() < mechanism.minIterations()) {
            errors.put(user, new ApiError(Errors.UNACCEPTABLE_CREDENTIAL, "Too few iterations"));
            return;
        }
        if (upsertion.iterations() > MAX_ITERATIONS) {
            errors.put(user, new ApiError(Errors.UNACCEPTABLE_CREDENTIAL, "Too many iterations"));
            return;
        }
        if (upsertion.salt() == null || upsertion.salt().length == 0 || upsertion.saltedPassword() == null
                || upsertion.saltedPassword().length == 0) {
            errors.put(user, new ApiError(Errors.UNACCEPTABLE_CREDENTIAL, "Salt and salted password must not be empty"));
            return;
        }
        try {
            ScramFormatter formatter = new ScramFormatter(mechanism);
            byte[] salted = upsertion.saltedPassword();
            valid.put(user, new ScramCredentials.Alteration(user, mechanism, new ScramCredential(upsertion.salt(),
                    formatter.storedKey(formatter.clientKey(salted)), formatter.serverKey(salted),
                    upsertion.iterations())));
        } catch (NoSuchAlgorithmException | java.security.InvalidKeyException e) {
            errors.put(user, ApiError.fromThrowable(e));
        }
    }
}
