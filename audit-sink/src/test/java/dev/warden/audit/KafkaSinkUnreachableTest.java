package dev.warden.audit;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.audit.chain.ChainedRecord;
import dev.warden.audit.sink.KafkaSink;
import dev.warden.config.AuditSettings.SinkFormat;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A broker that cannot be reached: each send waits up to {@code max.block.ms} (5 s) for the topic's metadata and then
 * fails. A batch of records used to send them all, one wait after another, before its 30 s deadline began (50 records:
 * over four minutes, with every statement waiting on its record). The batch must fail within its deadline.
 */
class KafkaSinkUnreachableTest {

    @Test
    void aBatchForABrokerThatCannotBeReachedFailsWithinItsDeadline() throws Exception {
        int port;
        try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        List<ChainedRecord> batch = new ArrayList<>();
        for (int i = 1; i <= 50; i++) {
            batch.add(new ChainedRecord(i, "query", "session-1", Instant.now(),
                    ("{\"seq\":" + i + "}").getBytes(StandardCharsets.UTF_8), new byte[32]));
        }
        try (KafkaSink sink = new KafkaSink("127.0.0.1:" + port, "warden-audit", "test", SinkFormat.WARDEN,
                Duration.ZERO, Map.of())) {
            long started = System.nanoTime();
            CompletableFuture<String> write = CompletableFuture.supplyAsync(() -> {
                try {
                    sink.write(batch);
                    return "written";
                } catch (IOException e) {
                    return "failed: " + e.getMessage();
                }
            });
            String outcome = write.get(40, TimeUnit.SECONDS);
            long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            System.out.println("unreachable broker: " + outcome + " after " + took + " ms");
            assertTrue(outcome.startsWith("failed: broker did not acknowledge"), outcome);
        }
    }
}
