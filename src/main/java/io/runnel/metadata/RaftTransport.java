package io.runnel.metadata;

import org.apache.ratis.conf.Parameters;
import org.apache.ratis.netty.NettyFactory;
import org.apache.ratis.rpc.RpcFactory;
import org.apache.ratis.rpc.RpcType;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.leader.FollowerInfo;
import org.apache.ratis.server.leader.LeaderState;
import org.apache.ratis.server.leader.LogAppender;
import org.apache.ratis.server.leader.StepDownSafeLogAppender;

/**
 * The metadata quorum's plaintext Raft transport: Ratis's Netty RPC, with {@link StepDownSafeLogAppender} as
 * the leader's log appender instead of Ratis's default one, which can deadlock a leader that steps down
 * (RATIS-2345; a controller thawed after SIGSTOP then never followed the new leader). Ratis finds a
 * user-defined transport by class name ({@code raft.rpc.type}), so {@link #name} is this class's name. Peers
 * using Ratis's own Netty transport speak the same protocol.
 */
public final class RaftTransport implements RpcType {

    /** Instantiated by Ratis by reflection. */
    public RaftTransport() {
    }

    @Override
    public String name() {
        return RaftTransport.class.getName();
    }

    @Override
    public RpcFactory newFactory(Parameters parameters) {
        return new Factory(parameters);
    }

    /** Ratis's Netty factory whose leaders use {@link StepDownSafeLogAppender}. */
    static final class Factory extends NettyFactory {
        Factory(Parameters parameters) {
            super(parameters);
        }

        @Override
        public LogAppender newLogAppender(RaftServer.Division server, LeaderState state, FollowerInfo follower) {
            return new StepDownSafeLogAppender(server, state, follower);
        }
    }
}
