package dev.warden.proxy.catalog;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.Environment;
import dev.warden.config.Secret;
import dev.warden.config.TlsMode;
import dev.warden.config.Upstream;
import dev.warden.sql.Analyzer;
import dev.warden.testkit.StalledServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A server that takes the connection and never answers the login (a host that accepts and then stalls, a proxy in
 * front of a dead server): the first read of the catalog gives up after {@code upstream.query_timeout} and 5 s. Every
 * session's read queues behind it on the catalog's one connection; each used to try to connect again in turn, so the
 * last of n waited n times as long. Now those queued behind a failed attempt fail at once, for 5 s.
 */
class CatalogUnansweredConnectTest {

    @Test
    void readsQueuedBehindAnUnansweredLoginFailTogether() throws Exception {
        ExecutorService blocking = Executors.newFixedThreadPool(4);
        try (StalledServer silent = new StalledServer(new byte[0])) {
            Upstream upstream = new Upstream("127.0.0.1", silent.port(), "app", "warden", Secret.none(),
                    TlsMode.DISABLE, Optional.empty(), Duration.ofSeconds(5), false, "test", Optional.empty(),
                    Duration.ofSeconds(1));
            try (CatalogCache catalog = new CatalogCache(new Environment("silent", upstream, List.of(), false, true,
                    Optional.empty()), blocking)) {
                Analyzer analyzer = new Analyzer(100);
                long started = System.nanoTime();
                List<CompletableFuture<Void>> reads = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    reads.add(catalog.resolveFunctions(Set.of("relation t" + i), analyzer));
                }
                List<String> outcomes = new ArrayList<>();
                for (CompletableFuture<Void> read : reads) {
                    try {
                        // 1 s of query_timeout and 5 s more, once; four attempts in turn took 24 s.
                        read.get(15, TimeUnit.SECONDS);
                        outcomes.add("read");
                    } catch (java.util.concurrent.ExecutionException e) {
                        outcomes.add("failed after " + (System.nanoTime() - started) / 1_000_000 + " ms: "
                                + e.getCause().getMessage());
                    }
                }
                System.out.println("unanswered login: " + outcomes);
                for (String outcome : outcomes) {
                    assertTrue(outcome.startsWith("failed"), "nothing answered, yet: " + outcomes);
                }
                assertTrue(silent.connections() <= 2, silent.connections() + " attempts to connect: " + outcomes);
            }
        } finally {
            blocking.shutdownNow();
        }
    }
}
