package io.runnel.security;

import java.util.HashSet;
import java.util.Set;
import java.util.function.Supplier;

import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.security.auth.KafkaPrincipal;
import org.apache.kafka.common.utils.internals.SecurityUtils;

/**
 * Runnel's authorizer: decides as Kafka's StandardAuthorizer does over the ACLs of the metadata log.
 * Super users may do anything; otherwise a matching DENY wins over any ALLOW; an ALLOW of READ, WRITE, DELETE
 * or ALTER also allows DESCRIBE, and one of ALTER_CONFIGS allows DESCRIBE_CONFIGS (a DENY denies only its own
 * operation, or every one for ALL); a resource no ACL names at all is allowed only with
 * {@code allow.everyone.if.no.acl.found}. An ACL matches a principal by equality or {@code User:*}, a host by
 * equality with the client's address or {@code *}, a resource by its literal name, the literal {@code *}, or
 * a prefix.
 *
 * <p>Threading: any thread; each decision reads the current {@link AclIndex}, an immutable value.
 */
public final class AclAuthorizer {

    /** Kafka's authorizer class name (KRaft), which turns Runnel's authorizer on. */
    public static final String STANDARD_AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";
    /** The ZooKeeper-era name, which Kafka 4 no longer has: accepted as the same authorizer. */
    public static final String ACL_AUTHORIZER = "kafka.security.authorizer.AclAuthorizer";
    private static final String WILDCARD_PRINCIPAL = KafkaPrincipal.USER_TYPE + ":*";

    private final Set<KafkaPrincipal> superUsers;
    private final boolean allowEveryoneIfNoAclFound;
    private final Supplier<AclIndex> acls;

    public AclAuthorizer(Set<KafkaPrincipal> superUsers, boolean allowEveryoneIfNoAclFound, Supplier<AclIndex> acls) {
        this.superUsers = Set.copyOf(superUsers);
        this.allowEveryoneIfNoAclFound = allowEveryoneIfNoAclFound;
        this.acls = acls;
    }

    /**
     * The authorizer {@code authorizer.class.name} asks for: null when empty (no authorizer, ACL APIs answer
     * SECURITY_DISABLED); a {@link ConfigException} for a class Runnel does not provide.
     */
    public static AclAuthorizer fromConfig(String className, String superUsers, boolean allowEveryoneIfNoAclFound,
                                           Supplier<AclIndex> acls) {
        if (className == null || className.isBlank()) {
            return null;
        }
        String name = className.trim();
        if (!name.equals(STANDARD_AUTHORIZER) && !name.equals(ACL_AUTHORIZER)) {
            throw new ConfigException("authorizer.class.name", className, "Runnel provides only "
                    + STANDARD_AUTHORIZER + " (ACLs kept in the metadata log); leave it empty for no authorizer");
        }
        return new AclAuthorizer(parseSuperUsers(superUsers), allowEveryoneIfNoAclFound, acls);
    }

    /** {@code super.users}: principals separated by semicolons, e.g. {@code User:admin;User:ops}. */
    public static Set<KafkaPrincipal> parseSuperUsers(String value) {
        Set<KafkaPrincipal> out = new HashSet<>();
        if (value == null) {
            return out;
        }
        for (String p : value.split(";")) {
            String t = p.trim();
            if (!t.isEmpty()) {
                try {
                    out.add(SecurityUtils.parseKafkaPrincipal(t));
                } catch (IllegalArgumentException e) {
                    throw new ConfigException("super.users", value, e.getMessage());
                }
            }
        }
        return out;
    }

    public AclIndex acls() {
        return acls.get();
    }

    /** Whether {@code principal} connecting from {@code host} may do {@code op} on resource {@code name}. */
    public boolean authorize(KafkaPrincipal principal, String host, AclOperation op, ResourceType type, String name) {
        if (superUsers.contains(principal)
                || superUsers.contains(new KafkaPrincipal(principal.getPrincipalType(), principal.getName()))) {
            return true;
        }
        Decision d = new Decision(principal.getPrincipalType() + ":" + principal.getName(), host, op);
        acls.get().forEachEntry(type, name, d);
        if (d.denied) {
            return false;
        }
        return d.allowed || (!d.found && allowEveryoneIfNoAclFound);
    }

    /**
     * Whether {@code principal} may do {@code op} on at least one topic (kafka-clients' default
     * authorizeByResourceType, which Kafka asks for an idempotent producer without IDEMPOTENT_WRITE): an ALLOW of
     * {@code op} or ALL on some topic pattern that no DENY of the same principal covers; a DENY on the literal
     * {@code *} refuses outright.
     */
    public boolean authorizeAnyTopic(KafkaPrincipal principal, String host, AclOperation op) {
        if (superUsers.contains(new KafkaPrincipal(principal.getPrincipalType(), principal.getName()))) {
            return true;
        }
        String who = principal.getPrincipalType() + ":" + principal.getName();
        Set<String> denyLiteral = new HashSet<>();
        Set<String> denyPrefixed = new HashSet<>();
        java.util.List<org.apache.kafka.common.acl.AclBinding> allows = new java.util.ArrayList<>();
        boolean wildcardAllow = false;
        for (org.apache.kafka.common.acl.AclBinding b : acls.get().all()) {
            AccessControlEntry e = b.entry();
            if (b.pattern().resourceType() != ResourceType.TOPIC
                    || !(e.host().equals("*") || e.host().equals(host))
                    || !(e.principal().equals(who) || e.principal().equals(WILDCARD_PRINCIPAL))
                    || !(e.operation() == op || e.operation() == AclOperation.ALL)) {
                continue;
            }
            boolean literal = b.pattern().patternType() == org.apache.kafka.common.resource.PatternType.LITERAL;
            if (e.permissionType() == AclPermissionType.DENY) {
                if (literal && b.pattern().name().equals(org.apache.kafka.common.resource.ResourcePattern.WILDCARD_RESOURCE)) {
                    return false;
                }
                (literal ? denyLiteral : denyPrefixed).add(b.pattern().name());
            } else if (e.permissionType() == AclPermissionType.ALLOW) {
                if (literal && b.pattern().name().equals(org.apache.kafka.common.resource.ResourcePattern.WILDCARD_RESOURCE)) {
                    wildcardAllow = true;
                } else {
                    allows.add(b);
                }
            }
        }
        if (wildcardAllow) {
            return true;
        }
        for (org.apache.kafka.common.acl.AclBinding b : allows) {
            String name = b.pattern().name();
            boolean literal = b.pattern().patternType() == org.apache.kafka.common.resource.PatternType.LITERAL;
            if (literal && denyLiteral.contains(name)) {
                continue;
            }
            boolean denied = false;
            for (int i = 1; i <= name.length() && !denied; i++) {
                denied = denyPrefixed.contains(name.substring(0, i));
            }
            if (!denied) {
                return true;
            }
        }
        return false;
    }

    private static final class Decision implements java.util.function.Consumer<AccessControlEntry> {
        final String principal;
        final String host;
        final AclOperation op;
        boolean found;
        boolean allowed;
        boolean denied;

        Decision(String principal, String host, AclOperation op) {
            this.principal = principal;
            this.host = host;
            this.op = op;
        }

        @Override
        public void accept(AccessControlEntry e) {
            found = true;
            if (!(e.principal().equals(principal) || e.principal().equals(WILDCARD_PRINCIPAL))) {
                return;
            }
            if (!(e.host().equals("*") || e.host().equals(host))) {
                return;
            }
            if (e.permissionType() == AclPermissionType.DENY) {
                if (e.operation() == AclOperation.ALL || e.operation() == op) {
                    denied = true;
                }
            } else if (e.permissionType() == AclPermissionType.ALLOW && allows(e.operation(), op)) {
                allowed = true;
            }
        }
    }

    /** Whether an ALLOW of {@code granted} allows {@code op}, implied operations included. */
    static boolean allows(AclOperation granted, AclOperation op) {
        if (granted == AclOperation.ALL || granted == op) {
            return true;
        }
        return switch (op) {
            case DESCRIBE -> granted == AclOperation.READ || granted == AclOperation.WRITE
                    || granted == AclOperation.DELETE || granted == AclOperation.ALTER;
            case DESCRIBE_CONFIGS -> granted == AclOperation.ALTER_CONFIGS;
            default -> false;
        };
    }
}
