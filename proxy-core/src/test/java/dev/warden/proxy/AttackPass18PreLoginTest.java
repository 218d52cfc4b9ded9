package dev.warden.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.pg.message.BackendMessage;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Attacker pass 18, slow loris: sockets that connect and never log in, from a few addresses. Each address may hold
 * only a share of the pre-login pool, but a handful of addresses (four, at the defaults' proportions) held all of
 * it, and every other login was refused with 53300 for as long as they kept reconnecting.
 */
class AttackPass18PreLoginTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n  startup_timeout: 60s\n", "", """
                budgets:
                  pre_login: { connections: 64, per_address: 16 }
                """);
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    @Test
    void idleSocketsFromAFewAddressesFillingThePreLoginPoolLeaveLoginsFromElsewhereWorking() throws Exception {
        List<RawClient> idle = new ArrayList<>();
        try {
            for (int address = 2; address <= 5; address++) {
                for (int i = 0; i < 16; i++) {
                    idle.add(new RawClient("127.0.0." + address, warden.port(), 0));
                }
            }
            Thread.sleep(500); // every one admitted: the pool holds 64
            for (int attempt = 0; attempt < 3; attempt++) {
                long start = System.nanoTime();
                try (Connection alice = warden.connect("")) {
                    assertTrue(alice.createStatement().executeQuery("SELECT 1").next());
                }
                assertTrue(System.nanoTime() - start < 10_000_000_000L);
            }
            // The first login displaced one idle socket, which was told why; it left the pool on logging in, so the
            // next ones found room.
            int told = 0;
            for (RawClient c : idle) {
                c.socket.setSoTimeout(50);
                try {
                    BackendMessage m = c.read();
                    assertEquals("53300", ((BackendMessage.ErrorResponse) m).sqlState());
                    told++;
                } catch (java.net.SocketTimeoutException e) {
                    // still waiting: not displaced
                }
            }
            assertEquals(1, told, "one idle socket displaced, for the first login");
        } finally {
            for (RawClient c : idle) {
                c.close();
            }
        }
    }
}
