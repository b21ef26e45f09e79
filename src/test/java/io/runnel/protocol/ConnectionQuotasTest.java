package io.runnel.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;

import org.junit.jupiter.api.Test;

class ConnectionQuotasTest {

    private static final InetAddress A = InetAddress.getLoopbackAddress();
    private static final InetAddress B;

    static {
        try {
            B = InetAddress.getByAddress(new byte[] {127, 0, 0, 2});
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void refusesPastMaxConnectionsAndAdmitsAgainAfterARelease() {
        ConnectionQuotas q = new ConnectionQuotas(2, Integer.MAX_VALUE);
        assertThat(q.tryAcquire(A)).isNull();
        assertThat(q.tryAcquire(B)).isNull();
        assertThat(q.tryAcquire(A)).contains("max.connections=2");
        assertThat(q.open()).isEqualTo(2);
        q.release(A);
        assertThat(q.tryAcquire(B)).isNull();
    }

    @Test
    void refusesPastMaxConnectionsPerIpForThatAddressOnly() {
        ConnectionQuotas q = new ConnectionQuotas(10, 1);
        assertThat(q.tryAcquire(A)).isNull();
        assertThat(q.tryAcquire(A)).contains("max.connections.per.ip=1").contains("127.0.0.1");
        assertThat(q.tryAcquire(B)).isNull();
        assertThat(q.open()).isEqualTo(2);
        q.release(A);
        assertThat(q.tryAcquire(A)).isNull();
    }
}
