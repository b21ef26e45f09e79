package org.apache.ratis.server.leader;

import org.apache.ratis.server.RaftServer;

/**
 * Ratis's default log appender (the one its Netty transport uses) without the deadlock of RATIS-2345, which
 * Ratis fixed in 3.2.1; this project is on 3.1.3. It lives in Ratis's package because the class it extends is
 * package-private; {@code io.runnel.metadata.RaftTransport} installs it.
 *
 * <p>The deadlock: a leader steps down (it lost the majority's heartbeats, or its JVM was paused past the
 * step-down threshold, as a SIGSTOP does) on its event processor thread, which holds the Raft server's monitor
 * and waits, without a timeout, for every log appender to stop. An appender that meanwhile got a reply
 * carrying a higher term calls {@link LogAppender#onFollowerTerm}, whose default implementation enters that
 * same monitor: it never gets it, so it never stops, and the step-down never ends. Every vote and append
 * request waits for the monitor too, so the node hears no leader, forever ("The metadata quorum has no leader"
 * on a controller thawed after a SIGSTOP, while the other voters went on without it).
 *
 * <p>Here the reply's term is handed to the leader state without the monitor: all that call does is queue a
 * step-down event, which the event processor runs only while this leader still runs, so the monitor bought
 * nothing but the deadlock. A term that changes under it (the server is stepping down already) makes the
 * leader state's consistency check throw; the step-down is under way, so that is not a reason to step down.
 *
 * <p>Threading: called on this appender's daemon thread, as the method it overrides.
 */
public class StepDownSafeLogAppender extends LogAppenderDefault {

    public StepDownSafeLogAppender(RaftServer.Division server, LeaderState leaderState, FollowerInfo follower) {
        super(server, leaderState, follower);
    }

    @Override
    public boolean onFollowerTerm(long followerTerm) {
        if (!isRunning()) {
            return false;
        }
        try {
            return getLeaderState().onFollowerTerm(getFollower(), followerTerm);
        } catch (IllegalStateException termChangedMeanwhile) {
            return false;
        }
    }
}
