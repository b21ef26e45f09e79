package io.runnel.group;

import java.util.Locale;

/** States of a classic group, with the names Kafka shows in DescribeGroups and ListGroups. */
public enum GroupState {
    EMPTY("Empty"),
    PREPARING_REBALANCE("PreparingRebalance"),
    COMPLETING_REBALANCE("CompletingRebalance"),
    STABLE("Stable"),
    DEAD("Dead");

    private final String kafkaName;

    GroupState(String kafkaName) {
        this.kafkaName = kafkaName;
    }

    public String kafkaName() {
        return kafkaName;
    }

    /** Parses a ListGroups states filter entry, case-insensitively as Kafka does; null if unknown. */
    public static GroupState parse(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        for (GroupState s : values()) {
            if (s.kafkaName.toLowerCase(Locale.ROOT).equals(lower)) {
                return s;
            }
        }
        return null;
    }
}
