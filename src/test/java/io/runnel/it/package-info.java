/**
 * Integration tests ({@code *IT}, run by maven-failsafe in {@code mvn verify}) that drive a broker with
 * the official Java clients. Each class registers a {@link io.runnel.it.RunnelNode}, which starts an
 * in-process Runnel node per class, or targets an external broker.
 *
 * <p>The suite is meant to pass unchanged against Apache Kafka, which is how its expectations were
 * checked. To repeat that, run Kafka 4.4.0 (artifacts {@code org.apache.kafka:kafka_2.13} and
 * {@code kafka-tools}, runtime classpath from {@code mvn dependency:copy-dependencies} in a scratch
 * project) as one KRaft broker+controller on 127.0.0.1 with
 * {@code num.partitions=3}, {@code auto.create.topics.enable=true}, {@code group.initial.rebalance.delay.ms=0},
 * {@code offsets.topic.replication.factor=1} and {@code offsets.topic.num.partitions=4}; format its
 * storage with {@code kafka.tools.StorageTool format}, start {@code kafka.Kafka server.properties}, then:
 * <pre>
 * mvn -o -q verify -Dit.bootstrap=127.0.0.1:29092 [-Dit.restartCommand=/path/to/restart.sh] [-Dit.test=AdminIT]
 * </pre>
 * Failsafe forwards {@code -D} user properties to the test JVM as system properties. Without
 * {@code it.restartCommand} (a script that restarts that broker cleanly on the same dir and port and
 * returns once it listens) RestartIT is skipped; AutoCreateIT and AutoCreateDisabledIT each run when the
 * external broker's {@code auto.create.topics.enable} is what they need.
 *
 * <p>Other switches: {@code -Dit.broker.<kafka property>=value} adds a property to every in-process
 * node; {@code -Dit.clientLogLevel=DEBUG} brings back the Kafka clients' request logging.
 */
package io.runnel.it;
