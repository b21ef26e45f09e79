/**
 * The classic consumer group coordinator and the committed offsets, stored in the internal topic
 * {@code __consumer_offsets}.
 *
 * <p>Threading contract: all group state is confined to one Vert.x event-loop context owned by
 * {@link io.runnel.group.GroupCoordinator}. Its public methods hop onto that context and return futures
 * completed there; requests that must wait for a rebalance are promises, never parked threads. Timers
 * are Vert.x timers on the same context. Log access (which may block on the disk) goes through
 * {@link io.runnel.group.OffsetsLog} on the context's ordered executeBlocking, so appends reach the log in
 * the order they were made, and state changes that depend on an append are applied when it completes,
 * back on the context.
 */
package io.runnel.group;
