package io.runnel.bridge;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

import io.runnel.config.BrokerConfig;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.types.Password;

/**
 * The settings of the TCP and SockJS event-bus bridges ({@link ExternalBridges}), read and checked once at
 * start-up: a bad value throws a {@link ConfigException} naming its key, before anything listens.
 *
 * <p>Addresses a TCP or SockJS client may use: inbound, only the public bridge addresses named by
 * {@code bridge.permitted.addresses} (never the per-node {@code <prefix>.node.*} ones); outbound, only
 * delivery addresses of the form {@code <prefix>.client.<id>} ({@link #clientAddress}) that the client
 * registered itself. Immutable.
 */
public final class ExternalBridgeSettings {

    /** The public addresses a TCP or SockJS client may be permitted to send to. */
    public static final List<String> PUBLIC_NAMES = List.of(BridgeAddresses.PRODUCE, BridgeAddresses.SUBSCRIBE,
            BridgeAddresses.HEARTBEAT, BridgeAddresses.COMMIT, BridgeAddresses.UNSUBSCRIBE, BridgeAddresses.METADATA);

    /** The id part of a client delivery address: 8 to 64 letters, digits, '-' or '_' (a UUID fits). */
    public static final String CLIENT_ID_REGEX = "[A-Za-z0-9_-]{8,64}";

    /** The prefix of the bridges' TLS settings: {@code bridge.ssl.keystore.location} and so on. */
    public static final String TLS_PREFIX = "bridge.";

    public record HostPort(String host, int port) {
    }

    private final String prefix;
    private final HostPort tcp;
    private final HostPort sockJs;
    private final String sockJsPath;
    private final Set<String> inbound;
    private final Pattern clientAddress;
    private final List<byte[]> tokens;
    private final int maxFailures;
    private final int maxFrameBytes;
    private final io.runnel.security.PrefixedTls tls;

    private ExternalBridgeSettings(String prefix, HostPort tcp, HostPort sockJs, String sockJsPath, Set<String> inbound,
                                   List<byte[]> tokens, int maxFailures, int maxFrameBytes,
                                   io.runnel.security.PrefixedTls tls) {
        this.prefix = prefix;
        this.tcp = tcp;
        this.sockJs = sockJs;
        this.sockJsPath = sockJsPath;
        this.inbound = inbound;
        this.clientAddress = Pattern.compile(Pattern.quote(prefix + ".client.") + CLIENT_ID_REGEX);
        this.tokens = tokens;
        this.maxFailures = maxFailures;
        this.maxFrameBytes = maxFrameBytes;
        this.tls = tls;
    }

    /** @throws ConfigException naming the key of the first bad value */
    public static ExternalBridgeSettings of(BrokerConfig config) {
        String prefix = config.getString(BrokerConfig.BRIDGE_ADDRESS_PREFIX);
        HostPort tcp = hostPort(BrokerConfig.BRIDGE_TCP_LISTENER, config.getString(BrokerConfig.BRIDGE_TCP_LISTENER));
        HostPort sockJs = hostPort(BrokerConfig.BRIDGE_SOCKJS_LISTENER,
                config.getString(BrokerConfig.BRIDGE_SOCKJS_LISTENER));
        String path = config.getString(BrokerConfig.BRIDGE_SOCKJS_PATH);
        if (path == null || !path.matches("/[A-Za-z0-9._~/-]*[A-Za-z0-9._~-]") || path.startsWith("/runnel")) {
            throw new ConfigException(BrokerConfig.BRIDGE_SOCKJS_PATH, path, "expected a path such as /eventbus:"
                    + " starts with '/', letters, digits and . _ ~ - /, no trailing '/', not under /runnel");
        }
        Set<String> inbound = new LinkedHashSet<>();
        for (String name : config.getList(BrokerConfig.BRIDGE_PERMITTED_ADDRESSES)) {
            if (!PUBLIC_NAMES.contains(name)) {
                throw new ConfigException(BrokerConfig.BRIDGE_PERMITTED_ADDRESSES, name,
                        "not a bridge address; permitted are any of " + String.join(", ", PUBLIC_NAMES));
            }
            inbound.add(BridgeAddresses.address(prefix, name));
        }
        if (inbound.contains(BridgeAddresses.address(prefix, BridgeAddresses.SUBSCRIBE))
                && !inbound.contains(BridgeAddresses.address(prefix, BridgeAddresses.HEARTBEAT))) {
            throw new ConfigException(BrokerConfig.BRIDGE_PERMITTED_ADDRESSES,
                    config.getList(BrokerConfig.BRIDGE_PERMITTED_ADDRESSES),
                    "subscribe without heartbeat would lose every subscription after its session timeout");
        }
        List<byte[]> tokens = new ArrayList<>();
        Password token = config.getPassword(BrokerConfig.BRIDGE_AUTH_TOKEN);
        if (token != null) {
            for (String t : token.value().split(",")) {
                String trimmed = t.trim();
                if (trimmed.length() < 16) {
                    throw new ConfigException(BrokerConfig.BRIDGE_AUTH_TOKEN, "[hidden]",
                            "each token must have at least 16 characters");
                }
                tokens.add(trimmed.getBytes(StandardCharsets.UTF_8));
            }
        }
        boolean any = tcp != null || sockJs != null;
        if (any && !config.getBoolean(BrokerConfig.BRIDGE_ENABLED)) {
            throw new ConfigException(tcp != null ? BrokerConfig.BRIDGE_TCP_LISTENER : BrokerConfig.BRIDGE_SOCKJS_LISTENER,
                    tcp != null ? config.getString(BrokerConfig.BRIDGE_TCP_LISTENER)
                            : config.getString(BrokerConfig.BRIDGE_SOCKJS_LISTENER),
                    "needs bridge.enabled=true (the addresses it forwards to)");
        }
        // bridge.ssl.*: Kafka's ssl.* settings under "bridge.", loaded as the admin API's admin.ssl.* are
        io.runnel.security.PrefixedTls tls = io.runnel.security.PrefixedTls.of(config, TLS_PREFIX, "event-bus bridge");
        return new ExternalBridgeSettings(prefix, tcp, sockJs, path, Set.copyOf(inbound), List.copyOf(tokens),
                config.getInt(BrokerConfig.BRIDGE_AUTH_MAX_FAILURES), config.getInt(BrokerConfig.BRIDGE_MAX_FRAME_BYTES),
                tls);
    }

    /** "host:port" (IPv6 hosts in brackets); empty = off (null). */
    static HostPort hostPort(String key, String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        int colon = value.lastIndexOf(':');
        String host = colon <= 0 ? "" : value.substring(0, colon).trim();
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(value.substring(colon + 1).trim());
        } catch (NumberFormatException e) {
            port = -1;
        }
        if (host.isEmpty() || port < 0 || port > 65535) {
            throw new ConfigException(key, value, "expected host:port, e.g. 127.0.0.1:7000 (port 0 picks a free port)");
        }
        return new HostPort(host, port);
    }

    public boolean anyEnabled() {
        return tcp != null || sockJs != null;
    }

    public String prefix() {
        return prefix;
    }

    /** null when the TCP bridge is off. */
    public HostPort tcp() {
        return tcp;
    }

    /** null when the SockJS bridge is off. */
    public HostPort sockJs() {
        return sockJs;
    }

    public String sockJsPath() {
        return sockJsPath;
    }

    /** The full addresses clients may send to. */
    public Set<String> inbound() {
        return inbound;
    }

    public boolean isPermittedInbound(String address) {
        return inbound.contains(address);
    }

    /** Whether {@code address} has the form of a client delivery address, {@code <prefix>.client.<id>}. */
    public boolean isClientAddress(String address) {
        return address != null && clientAddress.matcher(address).matches();
    }

    public String clientAddressRegex() {
        return clientAddress.pattern();
    }

    /** The configured bearer tokens, UTF-8; empty when none is. */
    List<byte[]> tokens() {
        return tokens;
    }

    public int maxFailures() {
        return maxFailures;
    }

    /** The TLS of both bridges (bridge.ssl.*); null when they serve plain TCP and HTTP. */
    public io.runnel.security.PrefixedTls tls() {
        return tls;
    }

    public int maxFrameBytes() {
        return maxFrameBytes;
    }
}
