package io.runnel.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.apache.kafka.common.acl.AclOperation.*;
import static org.apache.kafka.common.acl.AclPermissionType.ALLOW;
import static org.apache.kafka.common.acl.AclPermissionType.DENY;
import static org.apache.kafka.common.resource.PatternType.LITERAL;
import static org.apache.kafka.common.resource.PatternType.PREFIXED;
import static org.apache.kafka.common.resource.ResourceType.CLUSTER;
import static org.apache.kafka.common.resource.ResourceType.GROUP;
import static org.apache.kafka.common.resource.ResourceType.TOPIC;
import static org.apache.kafka.common.resource.ResourceType.TRANSACTIONAL_ID;

import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.security.auth.KafkaPrincipal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The authorizer's decisions, case by case as Kafka's StandardAuthorizer decides them. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class AclAuthorizerTest {

    private static final KafkaPrincipal ALICE = new KafkaPrincipal("User", "alice");
    private static final KafkaPrincipal BOB = new KafkaPrincipal("User", "bob");
    private static final KafkaPrincipal ADMIN = new KafkaPrincipal("User", "admin");

    static AclBinding acl(ResourceType type, String name, PatternType pattern, String principal, String host,
                          AclOperation op, AclPermissionType permission) {
        return new AclBinding(new ResourcePattern(type, name, pattern),
                new AccessControlEntry(principal, host, op, permission));
    }

    static AclBinding allow(ResourceType type, String name, PatternType pattern, String principal, AclOperation op) {
        return acl(type, name, pattern, principal, "*", op, ALLOW);
    }

    static AclBinding deny(ResourceType type, String name, PatternType pattern, String principal, AclOperation op) {
        return acl(type, name, pattern, principal, "*", op, DENY);
    }

    record Case(String why, List<AclBinding> acls, boolean allowEveryone, KafkaPrincipal who, String host,
                AclOperation op, ResourceType type, String name, boolean expected) {
        @Override
        public String toString() {
            return why;
        }
    }

    static Stream<Arguments> cases() {
        String a = "User:alice";
        return Stream.of(
                new Case("no ACL at all: denied", List.of(), false, ALICE, "10.0.0.1", READ, TOPIC, "t", false),
                new Case("no ACL at all, allow.everyone.if.no.acl.found", List.of(), true, ALICE, "10.0.0.1", READ,
                        TOPIC, "t", true),
                new Case("an ACL for someone else on the resource: no longer 'no ACL found'",
                        List.of(allow(TOPIC, "t", LITERAL, "User:bob", READ)), true, ALICE, "h", READ, TOPIC, "t", false),
                new Case("an ACL on another resource only: still 'no ACL found'",
                        List.of(allow(TOPIC, "u", LITERAL, "User:bob", READ)), true, ALICE, "h", READ, TOPIC, "t", true),
                new Case("super user without ACLs", List.of(deny(TOPIC, "t", LITERAL, "User:admin", ALL)), false, ADMIN,
                        "h", WRITE, TOPIC, "t", true),
                new Case("literal allow", List.of(allow(TOPIC, "t", LITERAL, a, WRITE)), false, ALICE, "h", WRITE,
                        TOPIC, "t", true),
                new Case("literal allow of another topic", List.of(allow(TOPIC, "t2", LITERAL, a, WRITE)), false, ALICE,
                        "h", WRITE, TOPIC, "t", false),
                new Case("literal name is not a prefix", List.of(allow(TOPIC, "t", LITERAL, a, WRITE)), false, ALICE,
                        "h", WRITE, TOPIC, "tt", false),
                new Case("allow of another operation", List.of(allow(TOPIC, "t", LITERAL, a, WRITE)), false, ALICE,
                        "h", READ, TOPIC, "t", false),
                new Case("another resource type", List.of(allow(GROUP, "t", LITERAL, a, READ)), false, ALICE, "h",
                        READ, TOPIC, "t", false),
                new Case("wildcard resource", List.of(allow(TOPIC, "*", LITERAL, a, READ)), false, ALICE, "h", READ,
                        TOPIC, "anything", true),
                new Case("prefixed", List.of(allow(TOPIC, "pay", PREFIXED, a, READ)), false, ALICE, "h", READ, TOPIC,
                        "payments", true),
                new Case("prefixed equal to the name", List.of(allow(TOPIC, "pay", PREFIXED, a, READ)), false, ALICE,
                        "h", READ, TOPIC, "pay", true),
                new Case("prefixed longer than the name", List.of(allow(TOPIC, "payments", PREFIXED, a, READ)), false,
                        ALICE, "h", READ, TOPIC, "pay", false),
                new Case("prefixed * is not the wildcard", List.of(allow(TOPIC, "*", PREFIXED, a, READ)), false, ALICE,
                        "h", READ, TOPIC, "t", false),
                new Case("wildcard principal", List.of(allow(TOPIC, "t", LITERAL, "User:*", READ)), false, ALICE, "h",
                        READ, TOPIC, "t", true),
                new Case("another principal", List.of(allow(TOPIC, "t", LITERAL, "User:bob", READ)), false, ALICE, "h",
                        READ, TOPIC, "t", false),
                new Case("host matches", List.of(acl(TOPIC, "t", LITERAL, a, "10.0.0.1", READ, ALLOW)), false, ALICE,
                        "10.0.0.1", READ, TOPIC, "t", true),
                new Case("host differs", List.of(acl(TOPIC, "t", LITERAL, a, "10.0.0.1", READ, ALLOW)), false, ALICE,
                        "10.0.0.2", READ, TOPIC, "t", false),
                new Case("ALL allows any operation", List.of(allow(TOPIC, "t", LITERAL, a, ALL)), false, ALICE, "h",
                        ALTER_CONFIGS, TOPIC, "t", true),
                new Case("READ implies DESCRIBE", List.of(allow(TOPIC, "t", LITERAL, a, READ)), false, ALICE, "h",
                        DESCRIBE, TOPIC, "t", true),
                new Case("WRITE implies DESCRIBE", List.of(allow(TOPIC, "t", LITERAL, a, WRITE)), false, ALICE, "h",
                        DESCRIBE, TOPIC, "t", true),
                new Case("DELETE implies DESCRIBE", List.of(allow(TOPIC, "t", LITERAL, a, DELETE)), false, ALICE, "h",
                        DESCRIBE, TOPIC, "t", true),
                new Case("ALTER implies DESCRIBE", List.of(allow(TOPIC, "t", LITERAL, a, ALTER)), false, ALICE, "h",
                        DESCRIBE, TOPIC, "t", true),
                new Case("CREATE does not imply DESCRIBE", List.of(allow(TOPIC, "t", LITERAL, a, CREATE)), false, ALICE,
                        "h", DESCRIBE, TOPIC, "t", false),
                new Case("ALTER_CONFIGS implies DESCRIBE_CONFIGS", List.of(allow(TOPIC, "t", LITERAL, a, ALTER_CONFIGS)),
                        false, ALICE, "h", DESCRIBE_CONFIGS, TOPIC, "t", true),
                new Case("DESCRIBE does not imply READ", List.of(allow(TOPIC, "t", LITERAL, a, DESCRIBE)), false, ALICE,
                        "h", READ, TOPIC, "t", false),
                new Case("deny wins over allow", List.of(allow(TOPIC, "t", LITERAL, a, READ),
                        deny(TOPIC, "t", LITERAL, a, READ)), false, ALICE, "h", READ, TOPIC, "t", false),
                new Case("prefixed deny wins over literal allow", List.of(allow(TOPIC, "secret-x", LITERAL, a, READ),
                        deny(TOPIC, "secret", PREFIXED, a, READ)), false, ALICE, "h", READ, TOPIC, "secret-x", false),
                new Case("wildcard-principal deny wins over own allow", List.of(allow(TOPIC, "t", LITERAL, a, READ),
                        deny(TOPIC, "t", LITERAL, "User:*", READ)), false, ALICE, "h", READ, TOPIC, "t", false),
                new Case("deny ALL denies everything", List.of(allow(TOPIC, "t", LITERAL, a, WRITE),
                        deny(TOPIC, "*", LITERAL, a, ALL)), false, ALICE, "h", WRITE, TOPIC, "t", false),
                new Case("deny READ does not deny DESCRIBE implied by WRITE", List.of(allow(TOPIC, "t", LITERAL, a, WRITE),
                        deny(TOPIC, "t", LITERAL, a, READ)), false, ALICE, "h", DESCRIBE, TOPIC, "t", true),
                new Case("deny for another host does not apply", List.of(allow(TOPIC, "t", LITERAL, a, READ),
                        acl(TOPIC, "t", LITERAL, a, "10.9.9.9", READ, DENY)), false, ALICE, "10.0.0.1", READ, TOPIC, "t",
                        true),
                new Case("deny for another principal does not apply", List.of(allow(TOPIC, "t", LITERAL, a, READ),
                        deny(TOPIC, "t", LITERAL, "User:bob", READ)), false, ALICE, "h", READ, TOPIC, "t", true),
                new Case("group READ", List.of(allow(GROUP, "g", LITERAL, a, READ)), false, ALICE, "h", READ, GROUP, "g",
                        true),
                new Case("cluster ALTER", List.of(allow(CLUSTER, "kafka-cluster", LITERAL, a, ALTER)), false, ALICE, "h",
                        ALTER, CLUSTER, "kafka-cluster", true),
                new Case("transactional id WRITE by prefix", List.of(allow(TRANSACTIONAL_ID, "app-", PREFIXED, a, WRITE)),
                        false, ALICE, "h", WRITE, TRANSACTIONAL_ID, "app-1", true),
                new Case("bob is not alice", List.of(allow(TOPIC, "t", LITERAL, a, READ)), false, BOB, "h", READ, TOPIC,
                        "t", false))
                .map(Arguments::of);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void decidesAsKafka(Case c) {
        AclIndex index = AclIndex.EMPTY.with(c.acls());
        AclAuthorizer authorizer = new AclAuthorizer(Set.of(ADMIN), c.allowEveryone(), () -> index);
        assertThat(authorizer.authorize(c.who(), c.host(), c.op(), c.type(), c.name())).isEqualTo(c.expected());
    }

    @Test
    void anyTopicIsAuthorizedAsKafkasAuthorizeByResourceType() {
        String a = "User:alice";
        java.util.function.Function<List<AclBinding>, Boolean> decide = acls -> new AclAuthorizer(Set.of(ADMIN), false,
                () -> AclIndex.EMPTY.with(acls)).authorizeAnyTopic(ALICE, "h", WRITE);
        assertThat(decide.apply(List.of())).isFalse();
        assertThat(decide.apply(List.of(allow(TOPIC, "t", LITERAL, a, WRITE)))).isTrue();
        assertThat(decide.apply(List.of(allow(TOPIC, "t", LITERAL, a, READ)))).isFalse();
        assertThat(decide.apply(List.of(allow(GROUP, "t", LITERAL, a, WRITE)))).isFalse();
        assertThat(decide.apply(List.of(allow(TOPIC, "t", LITERAL, a, WRITE), deny(TOPIC, "t", LITERAL, a, WRITE))))
                .isFalse();
        assertThat(decide.apply(List.of(allow(TOPIC, "pay-x", LITERAL, a, WRITE), deny(TOPIC, "pay", PREFIXED, a, WRITE))))
                .isFalse();
        assertThat(decide.apply(List.of(allow(TOPIC, "pay", PREFIXED, a, ALL), deny(TOPIC, "pay-x", LITERAL, a, WRITE))))
                .isTrue();
        assertThat(decide.apply(List.of(allow(TOPIC, "*", LITERAL, "User:*", WRITE)))).isTrue();
        assertThat(decide.apply(List.of(allow(TOPIC, "t", LITERAL, a, WRITE), deny(TOPIC, "*", LITERAL, a, WRITE))))
                .isFalse();
        assertThat(new AclAuthorizer(Set.of(ADMIN), false, () -> AclIndex.EMPTY).authorizeAnyTopic(ADMIN, "h", WRITE))
                .isTrue();
    }

    @Test
    void aChangedIndexIsSeenByTheNextDecision() {
        AclIndex[] current = {AclIndex.EMPTY};
        AclAuthorizer authorizer = new AclAuthorizer(Set.of(), false, () -> current[0]);
        assertThat(authorizer.authorize(ALICE, "h", READ, TOPIC, "t")).isFalse();
        AclBinding grant = allow(TOPIC, "t", LITERAL, "User:alice", READ);
        current[0] = current[0].with(List.of(grant));
        assertThat(authorizer.authorize(ALICE, "h", READ, TOPIC, "t")).isTrue();
        current[0] = current[0].without(List.of(grant));
        assertThat(authorizer.authorize(ALICE, "h", READ, TOPIC, "t")).isFalse();
    }

    @Test
    void duplicatesAreKeptOnce() {
        AclBinding b = allow(TOPIC, "t", LITERAL, "User:alice", READ);
        AclIndex i = AclIndex.EMPTY.with(List.of(b)).with(List.of(b));
        assertThat(i.all()).containsExactly(b);
    }

    @Test
    void configSelectsTheAuthorizer() {
        assertThat(AclAuthorizer.fromConfig("", "", false, () -> AclIndex.EMPTY)).isNull();
        assertThat(AclAuthorizer.fromConfig(AclAuthorizer.STANDARD_AUTHORIZER, "User:admin;User:ops", false,
                () -> AclIndex.EMPTY)).isNotNull();
        assertThat(AclAuthorizer.fromConfig(AclAuthorizer.ACL_AUTHORIZER, "", false, () -> AclIndex.EMPTY))
                .isNotNull();
        assertThatThrownBy(() -> AclAuthorizer.fromConfig("com.example.MyAuthorizer", "", false, () -> AclIndex.EMPTY))
                .isInstanceOf(ConfigException.class).hasMessageContaining(AclAuthorizer.STANDARD_AUTHORIZER);
        assertThat(AclAuthorizer.parseSuperUsers(" User:admin ; User:ops;"))
                .containsExactlyInAnyOrder(ADMIN, new KafkaPrincipal("User", "ops"));
        assertThatThrownBy(() -> AclAuthorizer.parseSuperUsers("admin")).isInstanceOf(ConfigException.class);
    }
}
