package io.runnel.config;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.network.ListenerName;
import org.apache.kafka.common.security.auth.SecurityProtocol;

/**
 * One listener, {@code NAME://host:port}, with the security protocol its name maps to through
 * {@code listener.security.protocol.map} (Kafka's rule: a name is upper-cased, and must be in the map).
 */
public record Listener(String name, String host, int port, SecurityProtocol protocol) {

    /** Kafka's default listener.security.protocol.map: every protocol's own name maps to it. */
    public static final String DEFAULT_PROTOCOL_MAP = "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL";

    public Listener(String name, String host, int port) {
        this(name, host, port, SecurityProtocol.PLAINTEXT);
    }

    /** Kafka's {@link ListenerName}, whose {@code configPrefix()} is {@code listener.name.<lower-case name>.}. */
    public ListenerName listenerName() {
        return ListenerName.normalised(name);
    }

    /** Parses listener.security.protocol.map ({@code NAME:PROTOCOL,...}), naming {@code key} when it is bad. */
    static Map<String, SecurityProtocol> parseProtocolMap(String key, List<String> entries) {
        Map<String, SecurityProtocol> map = new LinkedHashMap<>();
        for (String entry : entries) {
            String e = entry.trim();
            if (e.isEmpty()) {
                continue;
            }
            int colon = e.indexOf(':');
            if (colon <= 0 || colon == e.length() - 1) {
                throw new ConfigException(key, String.join(",", entries), "expected NAME:PROTOCOL, got '" + e + "'");
            }
            String protocol = e.substring(colon + 1).trim().toUpperCase(Locale.ROOT);
            if (!SecurityProtocol.names().contains(protocol)) {
                throw new ConfigException(key, String.join(",", entries), "unknown security protocol '" + protocol
                        + "' (one of " + SecurityProtocol.names() + ")");
            }
            map.put(e.substring(0, colon).trim().toUpperCase(Locale.ROOT), SecurityProtocol.forName(protocol));
        }
        return map;
    }

    static List<Listener> parseAll(String key, List<String> values, Map<String, SecurityProtocol> protocols,
                                   String mapKey) {
        List<Listener> out = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (String v : values) {
            Listener l = parse(key, v.trim(), protocols, mapKey);
            if (!names.add(l.name())) {
                throw new ConfigException(key, String.join(",", values), "listener name " + l.name() + " is used twice");
            }
            out.add(l);
        }
        if (out.isEmpty()) {
            throw new ConfigException(key, values, "at least one listener is needed");
        }
        return out;
    }

    static Listener parse(String key, String value, Map<String, SecurityProtocol> protocols, String mapKey) {
        int sep = value.indexOf("://");
        int colon = value.lastIndexOf(':');
        if (sep <= 0 || colon <= sep + 2) {
            throw new ConfigException(key, value, "expected NAME://host:port");
        }
        String name = value.substring(0, sep).toUpperCase(Locale.ROOT);
        SecurityProtocol protocol = protocols.get(name);
        if (protocol == null) {
            throw new ConfigException(key, value, "listener name " + name + " has no security protocol in "
                    + mapKey + " " + protocols.keySet());
        }
        String host = value.substring(sep + 3, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(value.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new ConfigException(key, value, "port is not a number");
        }
        if (port < 0 || port > 65535) {
            throw new ConfigException(key, value, "port out of range");
        }
        return new Listener(name, host.isEmpty() ? "0.0.0.0" : host, port, protocol);
    }

    public Listener withPort(int actualPort) {
        return new Listener(name, host, actualPort, protocol);
    }
}
