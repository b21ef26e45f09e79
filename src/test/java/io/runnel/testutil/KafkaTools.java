package io.runnel.testutil;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs Apache Kafka's own command-line tools (the classes its {@code bin/*.sh} scripts start, e.g.
 * {@code org.apache.kafka.tools.ConfigCommand} for {@code kafka-configs.sh}; in Kafka 4.4 it is in kafka-tools, no longer in
 * kafka_2.13) in a JVM of their own, on the Kafka 4.4.0 jars that
 * {@code scripts/kafka-ref.sh classpath} puts under {@code target/kafka-ref/lib} from the local Maven repository.
 */
public final class KafkaTools {

    private static String classpath;

    private KafkaTools() {
    }

    /** The result of one tool run: its exit code and its stdout and stderr together. */
    public record Result(int exitCode, String output) {
    }

    private static synchronized String classpath() throws Exception {
        if (classpath == null) {
            Path script = Path.of("scripts", "kafka-ref.sh").toAbsolutePath();
            Process p = new ProcessBuilder(script.toString(), "classpath")
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0 || out.isEmpty()) {
                p.destroyForcibly();
                throw new IOException(script + " classpath failed: " + out);
            }
            String[] lines = out.split("\n");
            classpath = lines[lines.length - 1].trim();
        }
        return classpath;
    }

    /** Runs {@code mainClass} with {@code args} (no shell: each argument exactly as given) and waits for it. */
    public static Result run(String mainClass, List<String> args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx256m");
        cmd.add("-cp");
        cmd.add(classpath());
        cmd.add(mainClass);
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(mainClass + " " + args + " did not finish: " + new String(out, StandardCharsets.UTF_8));
        }
        String output = new String(out, StandardCharsets.UTF_8);
        System.out.println("TOOL " + mainClass + " " + String.join(" ", args) + " -> exit " + p.exitValue() + ":\n" + output);
        return new Result(p.exitValue(), output);
    }

    /** {@code kafka-configs.sh} with these arguments. */
    public static Result kafkaConfigs(String... args) throws Exception {
        return run("org.apache.kafka.tools.ConfigCommand", List.of(args));
    }
}
