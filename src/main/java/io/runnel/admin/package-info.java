/**
 * The admin HTTP surface: {@link io.runnel.admin.AdminVerticle} serves the JSON API under {@code /api/v1}
 * (documented in {@code src/main/resources/admin/openapi.json}), the static console from
 * {@code src/main/resources/console/}, {@code /health}, {@code /ready} and {@code /metrics}.
 *
 * <p>Threading: routes run on the verticle's event loop and never block. They read volatile broker
 * state directly, change things through futures of the topic manager, partition owners and group
 * coordinator (whose results are answered back on the event loop), and copy log data off the disk in
 * {@code executeBlocking}. Input is validated completely before anything reaches the broker.
 */
package io.runnel.admin;
