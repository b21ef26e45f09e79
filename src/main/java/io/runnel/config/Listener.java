package io.runnel.config;

import java.util.ArrayList;
import java.util.List;

import org.apache.kafka.common.config.ConfigException;

/** One listener, {@code NAME://host:port}; only PLAINTEXT is served so far. */
public record Listener(String name, String host, int port) {

    static List<Listener> parseAll(String key, List<String> values) {
        List<Listener> out = new ArrayList<>();
        for (String v : values) {
            out.add(parse(key, v.trim()));
        }
        if (out.isEmpty()) {
            throw new ConfigException(key, values, "at least one listener is needed");
        }
        return out;
    }

    static Listener parse(String key, String value) {
        int sep = value.indexOf("://");
        int colon = value.lastIndexOf(':');
        if (sep <= 0 || colon <= sep + 2) {
            throw new ConfigException(key, value, "expected NAME://host:port");
        }
        String name = value.substring(0, sep);
        if (!name.equals("PLAINTEXT")) {
            throw new ConfigException(key, value, "only PLAINTEXT listeners are supported");
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
        return new Listener(name, host.isEmpty() ? "0.0.0.0" : host, port);
    }

    public Listener withPort(int actualPort) {
        return new Listener(name, host, actualPort);
    }
}
