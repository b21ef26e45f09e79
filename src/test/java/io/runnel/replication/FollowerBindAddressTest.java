package io.runnel.replication;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Followers connect from their own registered address when it is one of this machine's (the leader checks
 * it); never from a wildcard, and not from an address that is not local (the kernel chooses then).
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class FollowerBindAddressTest {

    @Test
    void aLoopbackAliasIsBoundSoThatTheKernelDoesNotPick127001() throws Exception {
        assertThat(ReplicaFetcherManager.localAddressesOf("127.0.0.2")).containsExactly(InetAddress.getByName("127.0.0.2"));
        assertThat(ReplicaFetcherManager.localAddressesOf("localhost")).contains(InetAddress.getByName("127.0.0.1"));
    }

    @Test
    void wildcardsAndForeignAddressesAreNotBound() {
        assertThat(ReplicaFetcherManager.localAddressesOf("0.0.0.0")).isEmpty();
        assertThat(ReplicaFetcherManager.localAddressesOf("::")).isEmpty();
        // TEST-NET-3, never an address of this machine
        assertThat(ReplicaFetcherManager.localAddressesOf("203.0.113.77")).isEmpty();
    }
}
