package dev.warden.audit.witness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A witness that answers every request for the heads from seq N on with its latest head, whatever N: the history
 * was read page after page without end (seq 5, then seq 5 again, for ever), which held {@code audit verify
 * --witness}, and a start-up that checks the witness, for good. It must fail, naming what the witness did.
 */
class HttpWitnessPagingTest {

    @Test
    void aWitnessThatAnswersEveryPageWithItsLatestHeadFailsTheRead() throws Exception {
        byte[] page = ("[{\"chain\":\"w1\",\"seq\":5,\"hash\":\"" + "ab".repeat(32)
                + "\",\"ts\":\"2026-12-05T00:00:00Z\",\"key_id\":\"k\",\"signature\":\"c2ln\"}]")
                .getBytes(StandardCharsets.UTF_8);
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/heads", exchange -> {
            exchange.sendResponseHeaders(200, page.length);
            exchange.getResponseBody().write(page);
            exchange.close();
        });
        server.start();
        try {
            HttpWitnessStore store = new HttpWitnessStore(URI.create("http://127.0.0.1:" + server.getAddress().getPort()
                    + "/heads"));
            CompletableFuture<String> read = CompletableFuture.supplyAsync(() -> {
                List<Long> seqs = new ArrayList<>();
                try (WitnessStore.Heads heads = store.heads("w1", 0)) {
                    for (WitnessHead h = heads.next(); h != null && seqs.size() < 1000; h = heads.next()) {
                        seqs.add(h.seq());
                    }
                    return "read " + (seqs.size() >= 1000 ? "without end: " + seqs.subList(0, 5) : seqs);
                } catch (IOException e) {
                    return "failed after " + seqs + ": " + e.getMessage();
                }
            });
            String outcome = read.get(30, TimeUnit.SECONDS);
            assertEquals("failed after [5]: witness http://127.0.0.1:" + server.getAddress().getPort()
                    + "/heads answered the heads from seq 6 with none at or after it", outcome);
            assertTrue(outcome.startsWith("failed"), outcome);
        } finally {
            server.stop(0);
        }
    }
}
