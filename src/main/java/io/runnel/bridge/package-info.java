/**
 * The event-bus bridge: Vert.x applications produce and consume without a Kafka client.
 *
 * <p>Addresses (prefix {@code runnel}, set by {@code bridge.address.prefix}). Failures are event-bus
 * failures whose code is Kafka's error code and whose message starts with the error name, for example
 * {@code 3 "UNKNOWN_TOPIC_OR_PARTITION: topic 'x' does not exist and auto.create.topics.enable is false"},
 * {@code 10 "RECORD_TOO_LARGE: ..."}, {@code 42 "INVALID_REQUEST: header 'key' is not valid base64"}.
 *
 * <table>
 * <caption>Addresses</caption>
 * <tr><th>address</th><th>request</th><th>reply</th></tr>
 * <tr><td>{@code runnel.produce}</td><td>body: the record value (Buffer; byte[] and String are accepted;
 *   null is a null value). Headers: {@code topic} (required), {@code partition}, {@code key} (base64),
 *   {@code timestamp} (epoch ms), {@code headers} (JSON array of {@code {"key": name, "value": base64|null}}),
 *   {@code acks} (-1 default, or 1)</td>
 *   <td>{@code {"topic", "partition", "offset", "timestamp"}}</td></tr>
 * <tr><td>{@code runnel.subscribe}</td><td>{@code {"group", "topics": [...], "address", "credits": 100,
 *   "sessionTimeoutMs": 10000, "ackTimeoutMs": 30000, "autoOffsetReset": "latest"|"earliest",
 *   "nodeId", "clientId"}}</td>
 *   <td>{@code {"subscriptionId", "memberId", "generation", "heartbeatIntervalMs", "partitions": [...]}},
 *   once the first assignment is known</td></tr>
 * <tr><td>{@code runnel.heartbeat}</td><td>{@code {"subscriptionId"}}, at least once per session timeout</td>
 *   <td>as subscribe (the current assignment)</td></tr>
 * <tr><td>{@code runnel.commit}</td><td>{@code {"subscriptionId"}}</td>
 *   <td>{@code {"offsets": [{"topic", "partition", "offset"}]}} after committing what was acknowledged</td></tr>
 * <tr><td>{@code runnel.unsubscribe}</td><td>{@code {"subscriptionId"}}</td><td>{@code {}} once committed and out
 *   of the group</td></tr>
 * <tr><td>{@code runnel.metadata}</td><td>{@code {"topics": [...]}} or empty for all</td>
 *   <td>{@code {"clusterId", "nodeId", "topics": [{"name", "topicId", "errorCode", "partitions": [{"partition",
 *   "leader", "leaderEpoch", "logStartOffset", "highWatermark"}]}]}}</td></tr>
 * </table>
 *
 * <p>Deliveries are requests to the subscriber's {@code address}: body the value, headers {@code topic},
 * {@code partition}, {@code offset}, {@code key}, {@code timestamp}, {@code timestamp-type}, {@code headers},
 * {@code subscription}. Replying acknowledges; failing the message (or not answering within
 * {@code ackTimeoutMs}) has the partition delivered again from that record. At most {@code credits}
 * deliveries are unanswered at a time. A subscriber that stops heartbeating, whose node leaves the
 * cluster ({@code nodeId}), or whose address has no handler any more, is removed from the group and its
 * unacknowledged records go to the group's other members.
 *
 * <p>The bridge is a convenience, never a source of truth: produced records go through the same
 * partition owners, validation and logs as a Kafka producer's, and subscriptions are ordinary consumer
 * group members with ordinary committed offsets.
 */
package io.runnel.bridge;
