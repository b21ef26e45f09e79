package io.runnel.group;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.List;

import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class GroupRecordCodecTest {

    private static GroupRecord roundTrip(GroupRecord r) {
        byte[] value = GroupRecordCodec.value(r);
        return GroupRecordCodec.decode(ByteBuffer.wrap(GroupRecordCodec.key(r)), value == null ? null : ByteBuffer.wrap(value));
    }

    @Test
    void offsetCommitAndTombstoneRoundTrip() {
        TopicPartition tp = new TopicPartition("topic-é", 7);
        GroupRecord commit = new GroupRecord.OffsetCommit("g", tp, new CommittedOffset(42, 3, "meta", 1000, -1));
        assertThat(roundTrip(commit)).isEqualTo(commit);
        GroupRecord tomb = new GroupRecord.OffsetCommit("g", tp, null);
        assertThat(roundTrip(tomb)).isEqualTo(tomb);
    }

    @Test
    void groupMetadataRoundTripKeepsMembersAndNulls() {
        GroupRecord.MemberValue m = new GroupRecord.MemberValue("m1", null, "c", "/127.0.0.1", 1000, 300,
                new byte[]{1, 2}, new byte[]{3});
        GroupRecord.MemberValue s = new GroupRecord.MemberValue("m2", "instance", "c", "h", 1, 2, new byte[0],
                new byte[0]);
        GroupRecord r = new GroupRecord.GroupMetadata("g", new GroupRecord.GroupMetadataValue("consumer", 5, "range",
                "m1", 123L, List.of(m, s)));
        GroupRecord.GroupMetadata back = (GroupRecord.GroupMetadata) roundTrip(r);
        assertThat(back.value().protocolType()).isEqualTo("consumer");
        assertThat(back.value().generationId()).isEqualTo(5);
        assertThat(back.value().leaderId()).isEqualTo("m1");
        assertThat(back.value().members()).hasSize(2);
        assertThat(back.value().members().get(0).subscription()).containsExactly(1, 2);
        assertThat(back.value().members().get(0).groupInstanceId()).isNull();
        assertThat(back.value().members().get(1).groupInstanceId()).isEqualTo("instance");
        GroupRecord empty = new GroupRecord.GroupMetadata("g", new GroupRecord.GroupMetadataValue(null, 0, null, null,
                -1, List.of()));
        assertThat(roundTrip(empty)).isEqualTo(empty);
        assertThat(roundTrip(new GroupRecord.GroupMetadata("g", null))).isEqualTo(new GroupRecord.GroupMetadata("g", null));
    }

    @Test
    void unknownKeyVersionIsSkippedAndTruncatedValueRejected() {
        assertThat(GroupRecordCodec.decode(ByteBuffer.wrap(new byte[]{0, 9, 0, 0}), null)).isNull();
        GroupRecord commit = new GroupRecord.OffsetCommit("g", new TopicPartition("t", 0),
                new CommittedOffset(1, -1, "", 1, -1));
        byte[] value = GroupRecordCodec.value(commit);
        assertThatThrownBy(() -> GroupRecordCodec.decode(ByteBuffer.wrap(GroupRecordCodec.key(commit)),
                ByteBuffer.wrap(value, 0, value.length - 3))).isInstanceOf(IllegalArgumentException.class);
    }
}
