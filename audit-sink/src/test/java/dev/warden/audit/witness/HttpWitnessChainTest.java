package dev.warden.audit.witness;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Attacker pass a147 F1: an HTTP witness that answers a head of another chain (another instance's, signed with the
 * same key) was taken for this chain's head. Warden then refused to start (the log looked cut short) and verify
 * reported a cut of an intact log. A head of another chain is none of this chain's.
 */
class HttpWitnessChainTest {

    private static String head(String chain, long seq) {
        return "{\"chain\":\"" + chain + "\",\"seq\":" + seq + ",\"hash\":\"" + "ab".repeat(32)
                + "\",\"ts\":\"2026-12-08T00:00:00Z\",\"key_id\":\"k\",\"signature\":\"c2ln\"}";
    }

    @Test
    void aHeadOfAnotherChainIsNoneOfThisChainsHeads() throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/w", exchange -> {
            String query = exchange.getRequestURI().getRawQuery();
            String body = !query.contains("from_seq") ? head("other", 111)
                    : query.contains("from_seq=0") ? "[" + head("w2", 1) + "," + head("other", 2) + ","
                    + head("other", 3) + "," + head("w2", 4) + "]" : "[]";
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, bytes.length);
            exchange.getResponseBody().write(bytes);
            exchange.close();
        });
        server.start();
        try {
            HttpWitnessStore store = new HttpWitnessStore(URI.create("http://127.0.0.1:" + server.getAddress().getPort()
                    + "/w"));
            assertEquals(Optional.empty(), store.latest("w2"), "the latest head answered is another chain's");
            List<Long> seqs = new ArrayList<>();
            try (WitnessStore.Heads heads = store.heads("w2", 0)) {
                for (WitnessHead h = heads.next(); h != null; h = heads.next()) {
                    assertEquals("w2", h.chain());
                    seqs.add(h.seq());
                }
            }
            assertEquals(List.of(1L, 4L), seqs);
        } finally {
            server.stop(0);
        }
    }
}
