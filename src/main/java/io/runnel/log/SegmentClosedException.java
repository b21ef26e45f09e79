package io.runnel.log;

/**
 * A read that was asked not to open files needs a segment file that {@link SegmentChannels} closed to stay
 * under its bound: reopening it is an {@code open(2)}, which must not run on an event loop. The caller runs
 * the read again where it may block (a worker). No stack trace: this is a branch, not a fault.
 */
public final class SegmentClosedException extends RuntimeException {

    SegmentClosedException(String segment) {
        super("segment file " + segment + " is closed; reading it needs an open(2)", null, false, false);
    }
}
