package io.runnel.protocol;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.common.message.ApiVersionsRequestData;
import org.apache.kafka.common.protocol.ApiKeys;

/**
 * Many connections driven by one thread over non-blocking channels: idle ones that send nothing, and tricklers
 * that declare a large Produce frame, send a first burst of it and then a few bytes at a time, never completing
 * it. Counts the connections the node closed. Idle connections can be pinged (an ApiVersions request) to show the
 * node still serves them.
 *
 * <p>Threading: connections are opened by the caller's thread, then served by the herd's own selector thread;
 * the other methods hand their work to that thread and are thread-safe.
 */
final class SocketHerd implements AutoCloseable {

    /** One connection and what it still has to send. */
    private static final class Conn {
        final SocketChannel channel;
        /** Bytes to send first (a frame's head, a ping), then {@link #zerosLeft} zeros. */
        ByteBuffer head;
        long zerosLeft;
        boolean trickler;
        boolean closedByNode;
        boolean pinged;
        long received;

        Conn(SocketChannel channel) {
            this.channel = channel;
        }
    }

    private static final byte[] PING = ping();
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(1 << 20);

    private final InetSocketAddress target;
    private final Selector selector;
    private final List<Conn> conns = new ArrayList<>();
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final AtomicInteger closedByNode = new AtomicInteger();
    private final AtomicInteger refused = new AtomicInteger();
    private final AtomicLong bytesSent = new AtomicLong();
    private final Thread thread;
    private volatile boolean stop;
    private int trickleBytes;
    private long trickleEveryNanos = Long.MAX_VALUE;
    private long nextTrickle;

    SocketHerd(InetSocketAddress target) throws IOException {
        this.target = target;
        this.selector = Selector.open();
        this.thread = new Thread(this::loop, "socket-herd");
        thread.setDaemon(true);
        thread.start();
    }

    private static byte[] ping() {
        byte[] frame = ProtocolFuzzer.serialize(ApiKeys.API_VERSIONS, (short) 0, new ApiVersionsRequestData());
        return ByteBuffer.allocate(4 + frame.length).putInt(frame.length).put(frame).array();
    }

    /** Opens {@code n} idle connections (blocking connects from the caller's thread); returns how many opened. */
    int openIdle(int n) throws InterruptedException {
        return open(n, -1, 0);
    }

    /**
     * Opens {@code n} tricklers: each declares a Produce frame of {@code declared} bytes, sends {@code burst} bytes of
     * it as fast as the node reads them, then nothing more than {@link #trickle} allows.
     */
    int openTricklers(int n, int declared, int burst) throws InterruptedException {
        return open(n, declared, burst);
    }

    private int open(int n, int declared, int burst) throws InterruptedException {
        List<Conn> opened = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            SocketChannel ch = null;
            try {
                ch = SocketChannel.open();
                ch.setOption(StandardSocketOptions.SO_LINGER, 0);
                ch.socket().connect(target, 10_000);
                ch.configureBlocking(false);
                Conn c = new Conn(ch);
                if (declared >= 0) {
                    c.trickler = true;
                    c.head = ByteBuffer.allocate(12).putInt(declared).putShort(ApiKeys.PRODUCE.id)
                            .putShort((short) 9).putInt(i).flip();
                    c.zerosLeft = burst;
                }
                opened.add(c);
            } catch (IOException e) {
                refused.incrementAndGet();
                if (ch != null) {
                    try {
                        ch.close();
                    } catch (IOException ignored) {
                        // nothing to free
                    }
                }
            }
            if (i % 500 == 499) {
                Thread.sleep(10); // gives the accept queue a moment
            }
        }
        onLoop(() -> {
            for (Conn c : opened) {
                try {
                    c.channel.register(selector, SelectionKey.OP_READ | (pending(c) ? SelectionKey.OP_WRITE : 0), c);
                    conns.add(c);
                } catch (IOException e) {
                    markClosed(c);
                }
            }
        });
        return opened.size();
    }

    private static boolean pending(Conn c) {
        return (c.head != null && c.head.hasRemaining()) || c.zerosLeft > 0;
    }

    /** Every trickler sends {@code bytes} more bytes of its frame every {@code everyMs}, once its burst is out. */
    void trickle(int bytes, long everyMs) {
        onLoop(() -> {
            trickleBytes = bytes;
            trickleEveryNanos = TimeUnit.MILLISECONDS.toNanos(everyMs);
            nextTrickle = System.nanoTime();
        });
    }

    /** Sends an ApiVersions request on up to {@code n} idle connections still open, spread over all of them. */
    void ping(int n) {
        onLoop(() -> {
            List<Conn> idle = conns.stream().filter(c -> !c.trickler && !c.closedByNode).toList();
            int step = Math.max(1, idle.size() / Math.max(1, n));
            for (int i = 0; i < idle.size() && i / step < n; i += step) {
                Conn c = idle.get(i);
                c.pinged = true;
                c.head = ByteBuffer.wrap(PING);
                c.channel.keyFor(selector).interestOps(SelectionKey.OP_READ | SelectionKey.OP_WRITE);
            }
        });
    }

    /** Pinged connections that have received an answer, and those pinged. */
    int[] pingAnswers() throws InterruptedException {
        int[] r = new int[2];
        java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
        onLoop(() -> {
            for (Conn c : conns) {
                if (c.pinged) {
                    r[1]++;
                    if (c.received > 0) {
                        r[0]++;
                    }
                }
            }
            done.countDown();
        });
        done.await(10, TimeUnit.SECONDS);
        return r;
    }

    int closedByNode() {
        return closedByNode.get();
    }

    int refused() {
        return refused.get();
    }

    long bytesSent() {
        return bytesSent.get();
    }

    private void onLoop(Runnable task) {
        tasks.add(task);
        selector.wakeup();
    }

    private void loop() {
        ByteBuffer scratch = ByteBuffer.allocateDirect(64 * 1024);
        while (!stop) {
            try {
                selector.select(50);
                Runnable task;
                while ((task = tasks.poll()) != null) {
                    task.run();
                }
                for (SelectionKey key : selector.selectedKeys()) {
                    Conn c = (Conn) key.attachment();
                    if (!key.isValid()) {
                        continue;
                    }
                    if (key.isReadable()) {
                        read(c, scratch);
                    }
                    if (key.isValid() && key.isWritable()) {
                        write(c);
                    }
                }
                selector.selectedKeys().clear();
                long now = System.nanoTime();
                if (now >= nextTrickle && trickleBytes > 0) {
                    nextTrickle = now + trickleEveryNanos;
                    for (Conn c : conns) {
                        if (c.trickler && !c.closedByNode && !pending(c)) {
                            c.zerosLeft = trickleBytes;
                            write(c);
                        }
                    }
                }
            } catch (IOException e) {
                // the selector itself failed: nothing more can be driven
                return;
            }
        }
    }

    private void read(Conn c, ByteBuffer scratch) {
        try {
            scratch.clear();
            int n = c.channel.read(scratch);
            if (n < 0) {
                markClosed(c);
            } else {
                c.received += n;
            }
        } catch (IOException e) {
            markClosed(c);
        }
    }

    private void write(Conn c) {
        if (c.closedByNode) {
            return;
        }
        SelectionKey key = c.channel.keyFor(selector);
        try {
            while (true) {
                int n;
                if (c.head != null && c.head.hasRemaining()) {
                    n = c.channel.write(c.head);
                } else if (c.zerosLeft > 0) {
                    ByteBuffer z = ZEROS.duplicate().clear();
                    z.limit((int) Math.min(c.zerosLeft, z.capacity()));
                    n = c.channel.write(z);
                    c.zerosLeft -= n;
                } else {
                    break;
                }
                bytesSent.addAndGet(n);
                if (n == 0) {
                    break; // the socket's send buffer is full: the node is not reading
                }
            }
            if (key != null && key.isValid()) {
                key.interestOps(SelectionKey.OP_READ | (pending(c) ? SelectionKey.OP_WRITE : 0));
            }
        } catch (IOException e) {
            markClosed(c);
        }
    }

    private void markClosed(Conn c) {
        if (!c.closedByNode) {
            c.closedByNode = true;
            closedByNode.incrementAndGet();
        }
        SelectionKey key = c.channel.keyFor(selector);
        if (key != null) {
            key.cancel();
        }
        try {
            c.channel.close();
        } catch (IOException e) {
            // gone already
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop = true;
        selector.wakeup();
        thread.join(10_000);
        for (SelectionKey key : selector.keys()) {
            try {
                key.channel().close();
            } catch (IOException e) {
                // closing anyway
            }
        }
        try {
            selector.close();
        } catch (IOException e) {
            // closing anyway
        }
    }
}
