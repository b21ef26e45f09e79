package io.runnel.metadata;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.TimeUnit;

import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourcePatternFilter;
import org.apache.kafka.common.resource.ResourceType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** ACL records applied to the image, and ACLs through a snapshot. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class AclRecordsTest {

    private static final AclBinding READ_T = new AclBinding(new ResourcePattern(ResourceType.TOPIC, "t", PatternType.LITERAL),
            new AccessControlEntry("User:alice", "*", AclOperation.READ, AclPermissionType.ALLOW));
    private static final AclBinding WRITE_PREFIX = new AclBinding(
            new ResourcePattern(ResourceType.TOPIC, "pay", PatternType.PREFIXED),
            new AccessControlEntry("User:bob", "10.0.0.1", AclOperation.WRITE, AclPermissionType.DENY));
    private static final AclBinding GROUP_G = new AclBinding(new ResourcePattern(ResourceType.GROUP, "g", PatternType.LITERAL),
            new AccessControlEntry("User:alice", "*", AclOperation.ALL, AclPermissionType.ALLOW));

    private final MetadataImage image = new MetadataImage(o -> false);
    private long index;

    private JsonObject apply(JsonObject record) {
        // through JSON text, as the log carries it
        return image.apply(new JsonObject(record.encode()), ++index, 1).reply();
    }

    @Test
    void createThenDeleteByFilterReportsWhatEachFilterRemoved() {
        apply(AclRecords.createAcls(List.of(READ_T, WRITE_PREFIX, GROUP_G)));
        apply(AclRecords.createAcls(List.of(READ_T))); // a duplicate changes nothing
        assertThat(image.acls().all()).containsExactly(READ_T, WRITE_PREFIX, GROUP_G);

        AclBindingFilter topicsOfAlice = new AclBindingFilter(
                new ResourcePatternFilter(ResourceType.TOPIC, null, PatternType.ANY),
                new AccessControlEntryFilter("User:alice", null, AclOperation.ANY, AclPermissionType.ANY));
        AclBindingFilter nothing = new AclBindingFilter(
                new ResourcePatternFilter(ResourceType.CLUSTER, null, PatternType.ANY), AccessControlEntryFilter.ANY);
        JsonObject reply = apply(AclRecords.deleteAcls(List.of(topicsOfAlice, nothing)));
        assertThat(AclRecords.deleted(reply)).containsExactly(List.of(READ_T), List.of());
        assertThat(image.acls().all()).containsExactly(WRITE_PREFIX, GROUP_G);
    }

    @Test
    void aclsSurviveASnapshot() {
        apply(AclRecords.createAcls(List.of(READ_T, WRITE_PREFIX, GROUP_G)));
        JsonObject snapshot = new JsonObject(image.toJson().encode());
        MetadataImage copy = new MetadataImage(o -> false);
        copy.load(snapshot);
        assertThat(copy.acls().all()).containsExactly(READ_T, WRITE_PREFIX, GROUP_G);
        // a snapshot taken before ACLs existed loads with none
        snapshot.remove(AclRecords.SNAPSHOT_KEY);
        copy.load(snapshot);
        assertThat(copy.acls().all()).isEmpty();
    }
}
