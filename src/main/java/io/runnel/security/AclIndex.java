package io.runnel.security;

import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

/**
 * The cluster's ACLs as one immutable value, indexed for the authorizer: literal names (the wildcard
 * {@code *} among them) and prefixes by resource type. A change builds a new index ({@link #with},
 * {@link #without}) that replaces the old one whole, so event loops read it without locks.
 */
public final class AclIndex {

    public static final AclIndex EMPTY = new AclIndex(List.of());

    private final List<AclBinding> all;
    private final Map<ResourceType, Map<String, List<AccessControlEntry>>> literal = new EnumMap<>(ResourceType.class);
    private final Map<ResourceType, Map<String, List<AccessControlEntry>>> prefixed = new EnumMap<>(ResourceType.class);

    private AclIndex(List<AclBinding> all) {
        this.all = List.copyOf(all);
        for (AclBinding b : this.all) {
            var byType = b.pattern().patternType() == PatternType.PREFIXED ? prefixed : literal;
            byType.computeIfAbsent(b.pattern().resourceType(), t -> new HashMap<>())
                    .computeIfAbsent(b.pattern().name(), n -> new ArrayList<>()).add(b.entry());
        }
    }

    /** Every ACL, in the order they were created. */
    public List<AclBinding> all() {
        return all;
    }

    public int size() {
        return all.size();
    }

    /** This index with {@code added} (those already present are ignored, as Kafka ignores a duplicate). */
    public AclIndex with(Collection<AclBinding> added) {
        Set<AclBinding> next = new LinkedHashSet<>(all);
        next.addAll(added);
        return next.size() == all.size() ? this : new AclIndex(new ArrayList<>(next));
    }

    /** This index without {@code removed}. */
    public AclIndex without(Collection<AclBinding> removed) {
        List<AclBinding> next = new ArrayList<>(all);
        next.removeAll(Set.copyOf(removed));
        return next.size() == all.size() ? this : new AclIndex(next);
    }

    /** The ACLs a DescribeAcls or DeleteAcls filter selects (kafka-clients' filter matching). */
    public List<AclBinding> matching(AclBindingFilter filter) {
        List<AclBinding> out = new ArrayList<>();
        for (AclBinding b : all) {
            if (filter.matches(b)) {
                out.add(b);
            }
        }
        return out;
    }

    /** Calls {@code visitor} with every entry whose pattern matches the resource {@code name} of {@code type}. */
    void forEachEntry(ResourceType type, String name, java.util.function.Consumer<AccessControlEntry> visitor) {
        Map<String, List<AccessControlEntry>> lit = literal.get(type);
        if (lit != null) {
            List<AccessControlEntry> es = lit.get(name);
            if (es != null) {
                es.forEach(visitor);
            }
            if (!ResourcePattern.WILDCARD_RESOURCE.equals(name)) {
                es = lit.get(ResourcePattern.WILDCARD_RESOURCE);
                if (es != null) {
                    es.forEach(visitor);
                }
            }
        }
        Map<String, List<AccessControlEntry>> pre = prefixed.get(type);
        if (pre != null) {
            for (int i = 1; i <= name.length(); i++) {
                List<AccessControlEntry> es = pre.get(name.substring(0, i));
                if (es != null) {
                    es.forEach(visitor);
                }
            }
        }
    }

    // ---- JSON, the form of metadata records and snapshots

    public static JsonObject toJson(AclBinding b) {
        return new JsonObject().put("resourceType", b.pattern().resourceType().name())
                .put("name", b.pattern().name()).put("patternType", b.pattern().patternType().name())
                .put("principal", b.entry().principal()).put("host", b.entry().host())
                .put("operation", b.entry().operation().name())
                .put("permission", b.entry().permissionType().name());
    }

    public static AclBinding fromJson(JsonObject j) {
        return new AclBinding(new ResourcePattern(ResourceType.valueOf(j.getString("resourceType")),
                j.getString("name"), PatternType.valueOf(j.getString("patternType"))),
                new AccessControlEntry(j.getString("principal"), j.getString("host"),
                        AclOperation.valueOf(j.getString("operation")),
                        AclPermissionType.valueOf(j.getString("permission"))));
    }

    /** A filter as JSON (null fields stay absent: they match anything). */
    public static JsonObject toJson(AclBindingFilter f) {
        JsonObject j = new JsonObject().put("resourceType", f.patternFilter().resourceType().name())
                .put("patternType", f.patternFilter().patternType().name())
                .put("operation", f.entryFilter().operation().name())
                .put("permission", f.entryFilter().permissionType().name());
        if (f.patternFilter().name() != null) {
            j.put("name", f.patternFilter().name());
        }
        if (f.entryFilter().principal() != null) {
            j.put("principal", f.entryFilter().principal());
        }
        if (f.entryFilter().host() != null) {
            j.put("host", f.entryFilter().host());
        }
        return j;
    }

    public static AclBindingFilter filterFromJson(JsonObject j) {
        return new AclBindingFilter(new org.apache.kafka.common.resource.ResourcePatternFilter(
                ResourceType.valueOf(j.getString("resourceType")), j.getString("name"),
                PatternType.valueOf(j.getString("patternType"))),
                new org.apache.kafka.common.acl.AccessControlEntryFilter(j.getString("principal"), j.getString("host"),
                        AclOperation.valueOf(j.getString("operation")),
                        AclPermissionType.valueOf(j.getString("permission"))));
    }

    public JsonArray toJson() {
        JsonArray a = new JsonArray();
        all.forEach(b -> a.add(toJson(b)));
        return a;
    }

    public static AclIndex fromJson(JsonArray a) {
        if (a == null || a.isEmpty()) {
            return EMPTY;
        }
        List<AclBinding> bs = new ArrayList<>();
        a.forEach(o -> bs.add(fromJson((JsonObject) o)));
        return EMPTY.with(bs);
    }
}
