package io.runnel.metadata;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.Uuid;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Brings a single node's metadata from before the metadata log into it, once: the topics of
 * {@code __runnel_meta/topics.json} (with their ids, so their partition directories are adopted) and the
 * end of the producer-id block it had handed out. The files are renamed {@code *.imported} afterwards.
 *
 * <p>Threading: blocking file I/O; run off the event loop.
 */
public final class LegacyMetadataImport {

    private static final Logger LOG = LoggerFactory.getLogger(LegacyMetadataImport.class);

    private LegacyMetadataImport() {
    }

    /** Imports what {@code metaDir} holds into a fresh log; completes at once when there is nothing. */
    public static CompletableFuture<Void> run(Path metaDir, MetadataQuorum quorum, int nodeId) {
        Path topicsFile = metaDir.resolve("topics.json");
        Path idsFile = metaDir.resolve("producer-id-block");
        List<CompletableFuture<JsonObject>> steps = new ArrayList<>();
        try {
            if (Files.exists(topicsFile)) {
                for (Object o : new JsonArray(Files.readString(topicsFile, StandardCharsets.UTF_8))) {
                    JsonObject t = (JsonObject) o;
                    Map<String, String> configs = MetadataRecords.strings(t.getJsonObject("configs", new JsonObject()));
                    steps.add(quorum.propose(MetadataRecords.importTopic(t.getString("name"),
                            Uuid.fromString(t.getString("id")), t.getInteger("partitions"), configs, nodeId)));
                }
            }
            if (Files.exists(idsFile)) {
                long blockEnd = Long.parseLong(Files.readString(idsFile).trim());
                // ids were handed out below blockEnd, with the node id in the low 10 bits in a cluster
                long burn = (blockEnd + 1) << 10;
                while (burn > 0) {
                    int n = (int) Math.min(Integer.MAX_VALUE, burn);
                    steps.add(quorum.propose(MetadataRecords.allocateProducerIds(nodeId, n)));
                    burn -= n;
                }
            }
        } catch (IOException | RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
        if (steps.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        return CompletableFuture.allOf(steps.toArray(CompletableFuture[]::new)).thenRun(() -> {
            LOG.info("Imported the metadata of {} into the metadata log", metaDir);
            for (Path f : List.of(topicsFile, idsFile)) {
                try {
                    if (Files.exists(f)) {
                        Files.move(f, f.resolveSibling(f.getFileName() + ".imported"), StandardCopyOption.REPLACE_EXISTING);
                    }
                } catch (IOException e) {
                    LOG.warn("Cannot rename {} after importing it: {}", f, e.toString());
                }
            }
        });
    }
}
