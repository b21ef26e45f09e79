package io.runnel.config;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.common.config.ConfigException;

/**
 * Builds the broker's properties from, in rising precedence: embedded defaults, a properties file
 * ({@code --config FILE}, else {@code conf/runnel.properties} when present), environment variables
 * {@code RUNNEL_<KEY>} (dots as underscores, e.g. RUNNEL_LOG_DIRS), and {@code --override key=value}.
 */
public final class ConfigLoader {

    private ConfigLoader() {
    }

    public static Map<String, String> fromArgs(String[] args, Map<String, String> env) {
        Path file = null;
        Map<String, String> overrides = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--config") && i + 1 < args.length) {
                file = Path.of(args[++i]);
            } else if (a.equals("--override") && i + 1 < args.length) {
                putKeyValue(overrides, args[++i]);
            } else if (a.startsWith("--override=")) {
                putKeyValue(overrides, a.substring("--override=".length()));
            } else if (a.endsWith(".properties") && file == null) {
                file = Path.of(a);
            } else {
                throw new ConfigException("unknown argument '" + a
                        + "'; use [--config FILE] [--override key=value ...]");
            }
        }
        Map<String, String> props = new HashMap<>();
        Path defaultFile = Path.of("conf", "runnel.properties");
        if (file == null && Files.isRegularFile(defaultFile)) {
            file = defaultFile;
        }
        if (file != null) {
            props.putAll(readFile(file));
        }
        env.forEach((k, v) -> {
            if (k.startsWith("RUNNEL_")) {
                String key = k.substring("RUNNEL_".length()).toLowerCase(Locale.ROOT).replace('_', '.');
                if (BrokerConfig.DEF.names().contains(key)) {
                    props.put(key, v);
                }
            }
        });
        props.putAll(overrides);
        return props;
    }

    private static void putKeyValue(Map<String, String> into, String kv) {
        int eq = kv.indexOf('=');
        if (eq <= 0) {
            throw new ConfigException("--override expects key=value, got '" + kv + "'");
        }
        into.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
    }

    private static Map<String, String> readFile(Path file) {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file)) {
            p.load(r);
        } catch (IOException e) {
            throw new ConfigException("cannot read config file " + file + ": " + e.getMessage());
        }
        Map<String, String> m = new HashMap<>();
        p.stringPropertyNames().forEach(k -> m.put(k, p.getProperty(k).trim()));
        return m;
    }
}
