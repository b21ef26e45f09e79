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
 *   {@code acks} (-1 default, or 1), {@code timeout} (the send timeout in ms, default 30000)</td>
 *   <td>{@code {"topic", "partition", "offset", "timestamp"}}</td></tr>
 * <tr><td>{@code runnel.produce}</td><td>body: one JSON record ({@link BridgeRecordJson}); the {@code topic}
 *   header is the default topic; {@code acks} and {@code timeout} headers as above</td>
 *   <td>as above</td></tr>
 * <tr><td>{@code runnel.produce}</td><td>body: a JSON array of JSON records; or, with header
 *   {@code format: records}, a Buffer of records back to back, each a big-endian int32 key length (-1 for
 *   null), the key, an int32 value length (-1 for null), the value, the message's {@code topic},
 *   {@code partition}, {@code timestamp}, {@code acks}, {@code timeout} headers applying to all</td>
 *   <td>{@code {"results": [...]}}, one per record in request order: {@code {"topic", "partition", "offset",
 *   "timestamp"}} or {@code {"topic", "errorCode", "error"}}</td></tr>
 * <tr><td>{@code runnel.subscribe}</td><td>{@code {"group", "topics": [...], "address", "credits": 100,
 *   "sessionTimeoutMs": 10000, "ackTimeoutMs": 30000, "autoOffsetReset": "latest"|"earliest",
 *   "nodeId", "clientId", "ordered": true, "batch": 1, "encoding": "binary"|"base64"|"text"|"json"}}</td>
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
 *   "leader", "leaderEpoch", "replicas", "isr", "logStartOffset", "highWatermark"}]}]}}: leaders, replicas and
 *   ISR from the metadata image, offsets from each leader (left out when it does not answer within 2 s)</td></tr>
 * </table>
 *
 * <p>Produce on a cluster. The bridge runs on every broker, and the event bus hands each request to any of
 * them. That broker's bridge is one idempotent producer ({@link BridgeProducer}, {@link PartitionProducer}):
 * one producer id from the controller-allocated blocks, a sequence per partition, one batch in flight per
 * partition with the records that arrive meanwhile forming the next batch. Each batch goes to the leader
 * the broker's metadata image names: appended directly when it is that broker, else over the leader's
 * internal address {@code <prefix>.node.<id>.append}. NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, a topic
 * being auto-created, a leader gone mid-request and every other retriable error are retried with backoff
 * until the send timeout, re-reading the image each time; the retried batch keeps its producer id, epoch
 * and sequence, so the leader answers a batch it already has with the original offsets instead of
 * writing it again. OUT_OF_ORDER_SEQUENCE_NUMBER and UNKNOWN_PRODUCER_ID start a new epoch, as the Java
 * producer does. A produce failed with {@code 7 REQUEST_TIMED_OUT} may or may not have been written;
 * any other failure means it was not. Records of one batch message that share a partition share its
 * batch, so the leader's refusal of that batch (an invalid timestamp, say) fails them together.
 * Internal per-node addresses ({@code <prefix>.node.<id>.<name>}, {@link BridgeAddresses#nodeAddress})
 * are for hops between brokers only.
 *
 * <p>Deliveries are requests to the subscriber's {@code address}. With {@code "encoding": "binary"} (the
 * default): body the value, headers {@code topic}, {@code partition}, {@code offset}, {@code key},
 * {@code timestamp}, {@code timestamp-type}, {@code headers}, {@code subscription}. With {@code base64},
 * {@code text} or {@code json}: body one JSON record of {@link io.runnel.bridge.BridgeRecordJson} (key and
 * value in that encoding, or base64 where the bytes are not valid text/JSON, as its
 * {@code keyEncoding}/{@code valueEncoding} say), and with {@code "batch": n} above 1 (JSON encodings only)
 * a JSON array of up to n consecutive records of one partition; headers {@code subscription}, {@code topic},
 * {@code partition} and {@code offset} (of the first record). Replying acknowledges the delivery; failing
 * the message (or not answering within {@code ackTimeoutMs}) has the partition delivered again from its
 * first record. At most {@code credits} deliveries are unanswered at a time; with {@code "ordered": true}
 * (the default) at most one per partition, so each partition is processed strictly in order while
 * partitions proceed in parallel; {@code false} allows records of one partition in flight together. A
 * subscriber that stops heartbeating, whose node leaves the cluster ({@code nodeId}), or whose address has
 * no handler any more, is removed from the group and its unacknowledged records go to the group's other
 * members.
 *
 * <p>Across brokers: every broker serves these addresses. Subscription calls are forwarded to the broker
 * that coordinates the group ({@code BridgeSubscriptions}) over per-node addresses
 * {@code <prefix>.node.<id>.<name>} (broker to broker only), and the subscription reads each partition on
 * its leader ({@code <prefix>.node.<id>.read}, {@code BridgeReads}). The subscription id
 * carries the request ({@code SubscriptionRequest}), so the group's next coordinator takes
 * the subscription over at its next heartbeat when the one holding it dies, as the same static member:
 * delivery resumes from the committed offsets (at-least-once; a redelivery rewinds, never skips).
 *
 * <p>Other languages reach the same addresses through {@link io.runnel.bridge.ExternalBridges}: TCP
 * ({@code bridge.tcp.listener}, vertx-tcp-eventbus-bridge's 4-byte length + JSON frames,
 * {@code TcpBridgeServer}) and SockJS for browsers ({@code bridge.sockjs.listener}, vertx-web's
 * bridge, {@code SockJsBridgeServer}). Only the addresses above are reachable inbound (never
 * the per-node {@code <prefix>.node.*} ones); outbound only {@code <prefix>.client.<id>} delivery addresses
 * a connection registered itself; every frame carries {@code headers.authorization} (Bearer token or Basic
 * user:password, {@code BridgeGuard}).
 *
 * <p>The bridge is a convenience, never a source of truth: produced records go through the same
 * partition owners, validation and logs as a Kafka producer's, and subscriptions are ordinary consumer
 * group members with ordinary committed offsets.
 */
package io.runnel.bridge;
