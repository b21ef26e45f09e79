package io.runnel.testutil;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Free loopback ports for nodes that tests start and restart on fixed ports. They come from below the
 * kernel's ephemeral range (Linux: 32768 and up), never from port 0: a port the kernel hands out for
 * "any free port" is also one it may give an outgoing connection, and a node's peers keep connecting to it
 * while the node is down, so a restarted node can find its own port taken by one of those connections.
 */
public final class Ports {

    private static final int FIRST = 20_000;
    private static final int END = 32_768;
    private static final Set<Integer> GIVEN = ConcurrentHashMap.newKeySet();

    private Ports() {
    }

    /** A port free on 127.0.0.1 now, and never given before in this JVM. */
    public static int free() {
        for (int attempt = 0; attempt < 1000; attempt++) {
            int port = ThreadLocalRandom.current().nextInt(FIRST, END);
            if (!GIVEN.add(port)) {
                continue;
            }
            try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
                return port;
            } catch (IOException e) {
                // taken: try another
            }
        }
        throw new UncheckedIOException(new IOException("no free port in " + FIRST + "-" + (END - 1)));
    }

    /** {@code n} distinct free ports. */
    public static int[] free(int n) {
        int[] ports = new int[n];
        for (int i = 0; i < n; i++) {
            ports[i] = free();
        }
        return ports;
    }
}
