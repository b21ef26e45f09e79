package io.runnel.metadata;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import io.runnel.security.AclIndex;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;

/**
 * The metadata records of ACLs (Kafka's AccessControlEntryRecord and its removal) and how the image applies
 * them. Creations arrive validated; a deletion carries filters, matched when applied, so every node removes
 * the same ACLs and the proposer learns which (per filter, in the reply).
 */
public final class AclRecords {

    static final String CREATE_ACLS = "CreateAcls";
    static final String DELETE_ACLS = "DeleteAcls";
    /** Key of the snapshot's ACL list. */
    static final String SNAPSHOT_KEY = "acls";

    private AclRecords() {
    }

    public static JsonObject createAcls(List<AclBinding> acls) {
        JsonArray a = new JsonArray();
        acls.forEach(b -> a.add(AclIndex.toJson(b)));
        return new JsonObject().put("type", CREATE_ACLS).put("acls", a);
    }

    public static JsonObject deleteAcls(List<AclBindingFilter> filters) {
        JsonArray a = new JsonArray();
        filters.forEach(f -> a.add(AclIndex.toJson(f)));
        return new JsonObject().put("type", DELETE_ACLS).put("filters", a);
    }

    /** What a DeleteAcls record's reply says it removed, per filter. */
    public static List<List<AclBinding>> deleted(JsonObject reply) {
        List<List<AclBinding>> out = new ArrayList<>();
        reply.getJsonArray("deleted", new JsonArray()).forEach(o -> {
            List<AclBinding> bs = new ArrayList<>();
            ((JsonArray) o).forEach(b -> bs.add(AclIndex.fromJson((JsonObject) b)));
            out.add(bs);
        });
        return out;
    }

    static AclIndex applyCreate(AclIndex current, JsonObject record) {
        List<AclBinding> added = new ArrayList<>();
        record.getJsonArray("acls").forEach(o -> added.add(AclIndex.fromJson((JsonObject) o)));
        return current.with(added);
    }

    /** The index after a DeleteAcls record; fills {@code reply} with what each filter removed. */
    static AclIndex applyDelete(AclIndex current, JsonObject record, JsonObject reply) {
        Set<AclBinding> removed = new LinkedHashSet<>();
        JsonArray perFilter = new JsonArray();
        record.getJsonArray("filters").forEach(o -> {
            List<AclBinding> matched = current.matching(AclIndex.filterFromJson((JsonObject) o));
            JsonArray a = new JsonArray();
            matched.forEach(b -> a.add(AclIndex.toJson(b)));
            perFilter.add(a);
            removed.addAll(matched);
        });
        reply.put("deleted", perFilter);
        return current.without(removed);
    }
}
