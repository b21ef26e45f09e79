/**
 * Meters: {@link io.runnel.metrics.MeterNames} holds every name and tag; {@link io.runnel.metrics.BrokerMetrics}
 * owns the broker's meters over the per-broker Prometheus registry that Vert.x (vertx-micrometer-metrics)
 * and the JVM binders also write to.
 */
package io.runnel.metrics;
