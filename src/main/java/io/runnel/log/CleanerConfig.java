package io.runnel.log;

/**
 * Broker settings of the log cleaner (Kafka's names and defaults).
 *
 * @param enable               log.cleaner.enable: run cleaner threads at all
 * @param threads              log.cleaner.threads
 * @param dedupeBufferSize     log.cleaner.dedupe.buffer.size: offset-map memory of all threads together
 * @param ioBufferSize         log.cleaner.io.buffer.size: read plus write buffer of all threads together
 * @param ioMaxBytesPerSecond  log.cleaner.io.max.bytes.per.second: read plus write rate of all threads
 * @param backoffMs            log.cleaner.backoff.ms: pause of a thread that found nothing to clean
 */
public record CleanerConfig(boolean enable, int threads, long dedupeBufferSize, int ioBufferSize,
                            double ioMaxBytesPerSecond, long backoffMs) {

    public static CleanerConfig defaults() {
        return new CleanerConfig(true, 1, 128L * 1024 * 1024, 512 * 1024, Double.MAX_VALUE, 15_000L);
    }

    /** The offset-map memory of one thread. */
    long dedupeBytesPerThread() {
        return dedupeBufferSize / Math.max(1, threads);
    }
}
