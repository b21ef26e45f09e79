package io.runnel.log;

/**
 * @param records          whole batches starting at or before the fetch offset (the batch that holds
 *                         it), from one segment, capped at maxBytes unless minOneMessage forces one batch
 * @param logStartOffset   log start offset at the time of the read
 * @param logEndOffset     log end offset at the time of the read
 */
public record LogReadResult(LogSlice records, long logStartOffset, long logEndOffset) {
}
