package io.runnel.cluster;

import java.util.HashMap;
import java.util.Map;

import com.hazelcast.cluster.Member;
import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.core.HazelcastInstance;
import org.apache.kafka.common.Uuid;

/**
 * Membership from Hazelcast's failure detector: a broker is a member whose attributes carry a node id
 * and an incarnation (Vert.x applications joined to the cluster carry neither, and never count). A member
 * killed is seen gone within a second; one silent for {@code broker.session.timeout.ms} is removed.
 *
 * <p>Threading: reads the member list (local, non-blocking); listeners run on Hazelcast's event threads
 * and must hop onto a context of their own.
 */
public final class HazelcastMembership implements Membership {

    public static final String NODE_ID_ATTRIBUTE = "runnel.node.id";
    public static final String INCARNATION_ATTRIBUTE = "runnel.incarnation";

    private final HazelcastInstance hz;

    public HazelcastMembership(HazelcastInstance hz) {
        this.hz = hz;
    }

    @Override
    public Map<Integer, Uuid> liveBrokers() {
        Map<Integer, Uuid> live = new HashMap<>();
        for (Member m : hz.getCluster().getMembers()) {
            String node = m.getAttribute(NODE_ID_ATTRIBUTE);
            String incarnation = m.getAttribute(INCARNATION_ATTRIBUTE);
            if (node != null && incarnation != null) {
                live.put(Integer.parseInt(node), Uuid.fromString(incarnation));
            }
        }
        return live;
    }

    @Override
    public void onChange(Runnable listener) {
        hz.getCluster().addMembershipListener(new MembershipListener() {
            @Override
            public void memberAdded(MembershipEvent e) {
                listener.run();
            }

            @Override
            public void memberRemoved(MembershipEvent e) {
                listener.run();
            }
        });
    }
}
