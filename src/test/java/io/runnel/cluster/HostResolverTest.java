package io.runnel.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.vertx.core.Vertx;
import org.apache.kafka.common.utils.Time;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Literals are parsed without a lookup; names are looked up off the caller's thread and cached. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class HostResolverTest {

    private final Vertx vertx = Vertx.vertx();

    @AfterEach
    void close() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void literalsAreParsedAndMappedIpv4BecomesIpv4() throws Exception {
        assertThat(HostResolver.literal("127.0.0.2")).isEqualTo(InetAddress.getByAddress(new byte[] {127, 0, 0, 2}));
        assertThat(HostResolver.literal("::ffff:127.0.0.1")).isInstanceOf(Inet4Address.class)
                .isEqualTo(InetAddress.getByAddress(new byte[] {127, 0, 0, 1}));
        assertThat(HostResolver.literal("[::1]")).isEqualTo(InetAddress.getByName("::1"));
        assertThat(HostResolver.literal("localhost")).isNull();
        assertThat(HostResolver.literal("broker-1.example")).isNull();
    }

    @Test
    void aLiteralResolvesAtOnceAndANameThroughALookup() throws Exception {
        HostResolver r = new HostResolver(vertx, Time.SYSTEM, HostResolver.DEFAULT_TTL_MS);

        assertThat(r.resolve("10.1.2.3").isComplete()).as("no lookup for a literal").isTrue();
        assertThat(r.resolve("10.1.2.3").result()).containsExactly(InetAddress.getByName("10.1.2.3"));
        List<InetAddress> local = r.resolve("localhost").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertThat(local).contains(InetAddress.getByName("127.0.0.1"));
        // the cache is filled by the lookup's own success handler, which may run just after the caller's
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!r.resolve("localhost").isComplete() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(r.resolve("localhost").isComplete()).as("cached").isTrue();
    }
}
