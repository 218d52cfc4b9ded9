package dev.warden.proxy;

import dev.warden.testkit.TestOidcIssuer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The OIDC token is the password: what a client sees for good and bad tokens, through the real proxy. */
class TokenLoginTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() {
        warden = WardenHarness.start();
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    @Test
    void rs256AndEs256TokensAreAccepted() throws SQLException {
        for (String token : new String[] {
                warden.issuer.token().email(WardenHarness.USER).groups("eng").rs256().sign(),
                warden.issuer.token().email(WardenHarness.USER).groups("eng").es256().sign()}) {
            try (Connection c = warden.connect("dev", WardenHarness.USER, token, "");
                 ResultSet rs = c.createStatement().executeQuery("SELECT 1")) {
                assertTrue(rs.next());
            }
        }
    }

    @Test
    void anExpiredTokenIsRefusedWith28P01SayingSo() {
        String token = warden.issuer.token().email(WardenHarness.USER).groups("eng")
                .issuedAt(Instant.now().minusSeconds(3600)).expiresAt(Instant.now().minusSeconds(600)).sign();
        assertRefused(token, WardenHarness.USER, "28P01", "expired");
    }

    @Test
    void aTokenNotYetValidIsRefused() {
        String token = warden.issuer.token().email(WardenHarness.USER).groups("eng")
                .notBefore(Instant.now().plusSeconds(600)).expiresAt(Instant.now().plusSeconds(1200)).sign();
        assertRefused(token, WardenHarness.USER, "28P01", "not valid before");
    }

    @Test
    void aTokenForAnotherAudienceIsRefused() {
        String token = warden.issuer.token().email(WardenHarness.USER).groups("eng").audience("grafana").sign();
        assertRefused(token, WardenHarness.USER, "28P01", "audience");
    }

    @Test
    void aTokenFromAnUntrustedIssuerIsRefused() {
        try (TestOidcIssuer other = TestOidcIssuer.start()) {
            String token = other.token().email(WardenHarness.USER).groups("eng").sign();
            assertRefused(token, WardenHarness.USER, "28P01", "not trusted");
        }
    }

    @Test
    void aTokenSignedWithAnUnknownKeyIdIsRefused() {
        String token = warden.issuer.token().email(WardenHarness.USER).groups("eng").keyId("no-such-key").sign();
        assertRefused(token, WardenHarness.USER, "28P01", "no-such-key");
    }

    @Test
    void aTamperedPayloadIsRefused() {
        String token = TestOidcIssuer.tamperPayload(warden.token());
        assertRefused(token, WardenHarness.USER, "28P01", "signature");
    }

    @Test
    void algNoneIsRefused() {
        String token = warden.issuer.unsignedToken(warden.issuer.claims().claim("email", WardenHarness.USER).build());
        assertRefused(token, WardenHarness.USER, "28P01", "none");
    }

    @Test
    void hs256SignedWithThePublicKeyIsRefused() {
        String token = warden.issuer.hs256WithPublicKey(
                warden.issuer.claims().claim("email", WardenHarness.USER).build());
        assertRefused(token, WardenHarness.USER, "28P01", "HS256");
    }

    @Test
    void aTokenForAnotherUserThanTheStartupUserIsRefusedWith28000() {
        String token = warden.issuer.token().email("bob@example.com").groups("eng").sign();
        assertRefused(token, WardenHarness.USER, "28000", "bob@example.com");
    }

    @Test
    void garbageInsteadOfATokenIsRefused() {
        assertRefused("hunter2", WardenHarness.USER, "28P01", "not a JWT");
    }

    @Test
    void plaintextConnectionsAreRefusedWhenThePolicyDoesNotAllowThem() {
        Properties props = new Properties();
        props.setProperty("user", WardenHarness.USER);
        props.setProperty("password", warden.token());
        SQLException e = assertThrows(SQLException.class, () -> DriverManager.getConnection(
                "jdbc:postgresql://127.0.0.1:" + warden.port() + "/dev?sslmode=disable", props));
        assertEquals("28000", e.getSQLState());
        assertTrue(e.getMessage().contains("requires TLS"), e.getMessage());
    }

    @Test
    void aSessionEndsWhenItsTokenExpiresWithAClearFatalError() throws Exception {
        String token = warden.issuer.token().email(WardenHarness.USER).groups("eng")
                .expiresAt(Instant.now().plusSeconds(3)).sign();
        try (Connection c = warden.connect("dev", WardenHarness.USER, token, "")) {
            try (ResultSet rs = c.createStatement().executeQuery("SELECT 1")) {
                assertTrue(rs.next());
            }
            Thread.sleep(4000);
            SQLException e = assertThrows(SQLException.class, () -> c.createStatement().executeQuery("SELECT 1"));
            assertTrue(e.getMessage().contains("token") && e.getMessage().contains("expired"), e.getMessage());
            assertEquals("28000", e.getSQLState());
            assertTrue(c.isClosed() || !c.isValid(1), "the session is gone");
        }
        // Its session.end record says Warden ended it and why (a113 A4: it said "client disconnected").
        long deadline = System.currentTimeMillis() + 5000;
        java.util.Optional<dev.warden.audit.query.AuditRecord> end = java.util.Optional.empty();
        while (end.isEmpty() && System.currentTimeMillis() < deadline) {
            end = dev.warden.audit.query.AuditReader.of(warden.auditDir())
                    .search(dev.warden.audit.query.AuditFilter.all()).stream()
                    .map(dev.warden.audit.query.AuditReader.Line::record)
                    .filter(r -> r.type().equals("session.end") && r.get("reason").asText().contains("expired"))
                    .findFirst();
            Thread.sleep(100);
        }
        assertTrue(end.isPresent(), "a session.end record names the token's expiry");
        assertTrue(end.get().get("reason").asText().startsWith("ended by Warden: 28000 terminating connection "
                + "because the OIDC token"), end.get().text());
    }

    @Test
    void aTokenWhoseIdIsOnTheDenyListIsRefused() {
        String token = warden.issuer.token().email(WardenHarness.USER).groups("eng").claim("jti", "leaked-token-1")
                .sign();
        assertRefused(token, WardenHarness.USER, "28P01", "revoked");
    }

    private static void assertRefused(String token, String user, String sqlState, String reason) {
        SQLException e = assertThrows(SQLException.class, () -> warden.connect("dev", user, token, ""));
        assertEquals(sqlState, e.getSQLState(), e.getMessage());
        assertTrue(e.getMessage().contains(reason), "message should say why: " + e.getMessage());
        assertFalse(e.getMessage().contains(token), "the token must never be echoed");
    }
}
