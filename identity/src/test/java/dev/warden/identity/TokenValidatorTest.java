package dev.warden.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.AgentRule;
import dev.warden.config.IssuerConfig;
import dev.warden.identity.Identity.Kind;
import dev.warden.testkit.TestOidcIssuer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class TokenValidatorTest {

    private static final String ALICE = "alice@example.com";

    private TestOidcIssuer idp;
    private TokenValidator validator;

    @BeforeEach
    void startIssuer() {
        idp = TestOidcIssuer.start();
        validator = new TokenValidator(List.of(config(idp)));
    }

    @AfterEach
    void stopIssuer() {
        idp.close();
    }

    private static IssuerConfig config(TestOidcIssuer issuer) {
        return config(issuer.issuer(), "groups", Set.of("RS256", "ES256", "EdDSA"));
    }

    private static IssuerConfig config(String issuer, String groupsClaim, Set<String> algorithms) {
        return new IssuerConfig(issuer, "warden", "email", groupsClaim,
                Optional.of(new AgentRule("azp", Set.of("etl-bot"))), algorithms, Duration.ofSeconds(60),
                Optional.empty());
    }

    /** Asserts the refusal's SQLSTATE and message, and that the message never echoes the token. */
    private static AuthenticationException refused(TokenValidator validator, String token, String user,
                                                   String sqlState, String message) {
        AuthenticationException e = assertThrows(AuthenticationException.class, () -> validator.validate(token, user));
        assertEquals(message, e.getMessage());
        assertEquals(sqlState, e.sqlState());
        assertFalse(token.length() > 10 && e.getMessage().contains(token), "message leaks the token");
        for (String part : token.split("\\.")) {
            assertFalse(part.length() > 10 && e.getMessage().contains(part), "message leaks part of the token");
        }
        return e;
    }

    private AuthenticationException refused(String token, String sqlState, String message) {
        return refused(validator, token, ALICE, sqlState, message);
    }

    @Test
    void validRs256TokenGivesAHumanIdentityWithGroups() throws Exception {
        Instant exp = Instant.now().plus(Duration.ofMinutes(5)).truncatedTo(ChronoUnit.SECONDS);
        Identity identity = validator.validate(idp.token().groups("eng", "dba").expiresAt(exp).sign(), ALICE);
        assertEquals(new Identity("user-1", ALICE, Set.of("eng", "dba"), Kind.HUMAN, idp.issuer(), exp), identity);
    }

    @Test
    void validEs256TokenFromAListedClientIsAnAgent() throws Exception {
        Identity identity = validator.validate(idp.token().es256().subject("svc-7").email("etl@example.com")
                .claim("azp", "etl-bot").groups("etl").sign(), "etl@example.com");
        assertEquals(Kind.AGENT, identity.kind());
        assertEquals("svc-7", identity.subject());
        assertEquals(Set.of("etl"), identity.groups());
    }

    @Test
    void otherClientsAreHumansAndGroupsMayBeASingleStringOrMissing() throws Exception {
        Identity web = validator.validate(idp.token().claim("azp", "web-app").claim("groups", "eng").sign(), ALICE);
        assertEquals(Kind.HUMAN, web.kind());
        assertEquals(Set.of("eng"), web.groups());
        assertEquals(Set.of(), validator.validate(idp.token().sign(), ALICE).groups());
    }

    @Test
    void groupsCanComeFromANestedClaim() throws Exception {
        TokenValidator keycloakStyle = new TokenValidator(List.of(config(idp.issuer(), "realm_access.roles",
                Set.of("RS256"))));
        Identity identity = keycloakStyle.validate(idp.token()
                .claim("realm_access", Map.of("roles", List.of("dba", "eng"))).sign(), ALICE);
        assertEquals(Set.of("dba", "eng"), identity.groups());
    }

    /**
     * a147 F4: another account of the same issuer claiming someone's address, unverified, was that person (their
     * database login, their masking exemption, their pending statements and grants). With username_claim email, an
     * address the token says is not verified is refused; one it says is verified, or says nothing about, is taken.
     */
    @Test
    void anEmailTheTokenSaysIsNotVerifiedIsNoUserName() throws Exception {
        refused(idp.token().claim("email_verified", false).sign(), "28000", "token's e-mail '" + ALICE
                + "' is not verified (email_verified: false), and username_claim is email: Warden takes only a "
                + "verified address for a user name");
        refused(idp.token().claim("email_verified", "no").sign(), "28000", "token's e-mail '" + ALICE
                + "' is not verified (email_verified: no), and username_claim is email: Warden takes only a "
                + "verified address for a user name");
        assertEquals(ALICE, validator.validate(idp.token().claim("email_verified", true).sign(), ALICE).username());
        assertEquals(ALICE, validator.validate(idp.token().claim("email_verified", "true").sign(), ALICE).username());
        assertEquals(ALICE, validator.validate(idp.token().sign(), ALICE).username());
    }

    @Test
    void expiredTokenIsRefused() {
        Instant exp = Instant.now().minus(Duration.ofMinutes(5)).truncatedTo(ChronoUnit.SECONDS);
        refused(idp.token().issuedAt(exp.minus(Duration.ofMinutes(10))).expiresAt(exp).sign(), "28P01",
                "token expired at " + exp);
    }

    @Test
    void tokenWithoutExpiryIsRefused() {
        refused(idp.token().expiresAt(null).sign(), "28P01", "token has no expiry (exp)");
    }

    @Test
    void tokenNotYetValidIsRefused() {
        Instant nbf = Instant.now().plus(Duration.ofMinutes(5)).truncatedTo(ChronoUnit.SECONDS);
        refused(idp.token().notBefore(nbf).sign(), "28P01", "token is not valid before " + nbf);
    }

    @Test
    void tokenIssuedInTheFutureIsRefused() {
        Instant iat = Instant.now().plus(Duration.ofMinutes(5)).truncatedTo(ChronoUnit.SECONDS);
        refused(idp.token().issuedAt(iat).expiresAt(iat.plus(Duration.ofHours(1))).sign(), "28P01",
                "token is issued in the future (iat " + iat + ")");
    }

    @Test
    void clockSkewIsTolerated() throws Exception {
        Instant now = Instant.now();
        validator.validate(idp.token().expiresAt(now.minusSeconds(30)).sign(), ALICE);
        validator.validate(idp.token().notBefore(now.plusSeconds(30)).sign(), ALICE);
        validator.validate(idp.token().issuedAt(now.plusSeconds(30)).sign(), ALICE);
    }

    @Test
    void wrongAudienceIsRefused() {
        refused(idp.token().audience("billing", "reports").sign(), "28P01",
                "token audience [billing, reports] does not include 'warden'");
    }

    @Test
    void tokenFromAnIssuerThatIsNotConfiguredIsRefused() {
        try (TestOidcIssuer stranger = TestOidcIssuer.start()) {
            refused(stranger.token().sign(), "28P01", "token issuer '" + stranger.issuer() + "' is not trusted");
            // Same kid, trusted iss, but signed with the stranger's key: the signature gives it away.
            refused(stranger.token().issuer(idp.issuer()).sign(), "28P01", "token signature is invalid");
        }
    }

    @Test
    void unknownKeyIdIsRefused() {
        refused(idp.token().keyId("k9").sign(), "28P01",
                "token key id 'k9' is not published by issuer " + idp.issuer());
    }

    @Test
    void keyRotationIsPickedUpWithOneRefetch() throws Exception {
        validator.validate(idp.token().sign(), ALICE);
        assertEquals(1, idp.jwksRequests());
        idp.rotateKeys();
        assertEquals("rsa-2", idp.rsaKeyId());
        Identity identity = validator.validate(idp.token().sign(), ALICE);
        assertEquals(ALICE, identity.username());
        assertEquals(2, idp.jwksRequests());
        // The old key is gone from the JWKS, and the cache follows.
        validator.validate(idp.token().sign(), ALICE);
        assertEquals(2, idp.jwksRequests());
    }

    @Test
    void unknownKeyIdsRefetchTheJwksAtMostOncePer30Seconds() throws Exception {
        MutableClock clock = new MutableClock(Instant.now());
        TokenValidator limited = new TokenValidator(List.of(config(idp)), clock, Duration.ofSeconds(5));
        limited.validate(idp.token().sign(), ALICE);
        assertEquals(1, idp.jwksRequests());
        for (int i = 0; i < 25; i++) {
            String forged = idp.token().keyId("forged-" + i).sign();
            refused(limited, forged, ALICE, "28P01",
                    "token key id 'forged-" + i + "' is not published by issuer " + idp.issuer());
        }
        assertEquals(2, idp.jwksRequests());

        clock.advance(Duration.ofSeconds(29));
        assertThrows(AuthenticationException.class, () -> limited.validate(idp.token().keyId("k29").sign(), ALICE));
        assertEquals(2, idp.jwksRequests());
        clock.advance(Duration.ofSeconds(2));
        assertThrows(AuthenticationException.class, () -> limited.validate(idp.token().keyId("k31").sign(), ALICE));
        assertEquals(3, idp.jwksRequests());
    }

    @Test
    void whileOneLoginRefreshesTheKeysFromAHungProviderTheOthersUseTheCache() throws Exception {
        MutableClock clock = new MutableClock(Instant.now());
        TokenValidator refreshing = new TokenValidator(List.of(config(idp)), clock, Duration.ofSeconds(2));
        String token = idp.token().expiresAt(Instant.now().plus(Duration.ofHours(1))).sign();
        refreshing.validate(token, ALICE);
        assertEquals(1, idp.jwksRequests());
        clock.advance(IssuerKeys.REFRESH_AFTER.plusMinutes(1));
        idp.stallRequests(true);
        java.util.concurrent.ExecutorService logins = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            java.util.concurrent.Callable<Long> login = () -> {
                long started = System.nanoTime();
                assertEquals(ALICE, refreshing.validate(token, ALICE).username());
                return (System.nanoTime() - started) / 1_000_000;
            };
            java.util.concurrent.Future<Long> refresher = logins.submit(login);
            long until = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(5);
            while (idp.jwksRequests() < 2 && System.nanoTime() < until) {
                Thread.sleep(5);
            }
            assertEquals(2, idp.jwksRequests(), "one login asks the provider for fresh keys");
            List<java.util.concurrent.Future<Long>> others = new java.util.ArrayList<>();
            for (int i = 0; i < 3; i++) {
                others.add(logins.submit(login));
            }
            List<Long> took = new java.util.ArrayList<>();
            for (java.util.concurrent.Future<Long> other : others) {
                took.add(other.get(10, java.util.concurrent.TimeUnit.SECONDS));
            }
            long refresherTook = refresher.get(10, java.util.concurrent.TimeUnit.SECONDS);
            System.out.println("refresh from a hung provider: the refreshing login " + refresherTook
                    + " ms, the others " + took + " ms");
            for (long ms : took) {
                assertTrue(ms < 1000, "a login with a cached key waited " + ms + " ms on the refresh");
            }
            assertTrue(refresherTook >= 1500, "the refreshing login waited out the fetch: " + refresherTook + " ms");
            assertEquals(2, idp.jwksRequests(), "one fetch");
        } finally {
            idp.stallRequests(false);
            logins.shutdownNow();
        }
    }

    @Test
    void aKeyRotatedInWhileTheProviderWasDownIsFetchedSoonAfterItIsBack() throws Exception {
        MutableClock clock = new MutableClock(Instant.now());
        TokenValidator limited = new TokenValidator(List.of(config(idp)), clock, Duration.ofSeconds(5));
        limited.validate(idp.token().sign(), ALICE);
        idp.rotateKeys();
        String rotated = idp.token().expiresAt(Instant.now().plus(Duration.ofHours(1))).sign();
        idp.failRequests(true);
        AuthenticationException down = assertThrows(AuthenticationException.class,
                () -> limited.validate(rotated, ALICE));
        assertEquals("28000", down.sqlState(), down.getMessage());
        int asked = idp.jwksRequests();
        clock.advance(Duration.ofSeconds(2));
        refused(limited, rotated, ALICE, "28P01",
                "token key id 'rsa-2' is not published by issuer " + idp.issuer());
        assertEquals(asked, idp.jwksRequests(), "a failing provider is not asked again at once");
        idp.failRequests(false);
        clock.advance(IssuerKeys.UNKNOWN_KID_RETRY_AFTER_FAILURE);
        assertEquals(ALICE, limited.validate(rotated, ALICE).username(),
                "back, the provider is asked again well within the 30 s interval");
    }

    @Test
    void discoveryAndKeysAreCached() throws Exception {
        for (int i = 0; i < 5; i++) {
            validator.validate(idp.token().sign(), ALICE);
            validator.validate(idp.token().es256().sign(), ALICE);
            validator.validate(idp.token().eddsa().sign(), ALICE);
        }
        assertEquals(1, idp.discoveryRequests());
        assertEquals(1, idp.jwksRequests());
    }

    @Test
    void aReloadKeepsTheFetchedKeysSoAProviderDownAtReloadRefusesNoOne() throws Exception {
        validator.validate(idp.token().sign(), ALICE);
        assertEquals(1, idp.jwksRequests());
        idp.failRequests(true);
        // The reloaded policy changes what the issuer's tokens must carry, not where its keys come from.
        IssuerConfig stricter = new IssuerConfig(idp.issuer(), "warden", "email", "groups", Optional.empty(),
                Set.of("RS256"), Duration.ofSeconds(60), Optional.empty());
        TokenValidator reloaded = validator.reloaded(List.of(stricter));
        assertEquals(ALICE, reloaded.validate(idp.token().sign(), ALICE).username());
        assertEquals(Identity.Kind.HUMAN, reloaded.validate(idp.token().claim("azp", "etl-bot").sign(), ALICE)
                .kind(), "the new policy's settings apply: it names no agents");
        refused(reloaded, idp.token().es256().sign(), ALICE, "28P01",
                "token algorithm 'ES256' is not allowed");
        assertEquals(1, idp.jwksRequests(), "no fetch for the reload");
        assertEquals(1, idp.discoveryRequests());

        // Keys from elsewhere are fetched afresh: here from a provider that is down.
        IssuerConfig elsewhere = new IssuerConfig(idp.issuer(), "warden", "email", "groups", Optional.empty(),
                Set.of("RS256"), Duration.ofSeconds(60), Optional.of(java.net.URI.create(idp.issuer() + "/jwks")));
        AuthenticationException down = assertThrows(AuthenticationException.class,
                () -> validator.reloaded(List.of(elsewhere)).validate(idp.token().sign(), ALICE));
        assertEquals("28000", down.sqlState(), down.getMessage());
        assertEquals(2, idp.jwksRequests());
    }

    @Test
    void tamperedPayloadIsRefused() {
        String token = TestOidcIssuer.tamperPayload(idp.token().sign());
        refused(token, "28P01", "token signature is invalid");
        refused(TestOidcIssuer.tamperPayload(idp.token().es256().sign()), "28P01", "token signature is invalid");
    }

    @Test
    void validEdDsaTokenIsAccepted() throws Exception {
        Instant exp = Instant.now().plus(Duration.ofMinutes(5)).truncatedTo(ChronoUnit.SECONDS);
        Identity identity = validator.validate(idp.token().eddsa().groups("eng").expiresAt(exp).sign(), ALICE);
        assertEquals(new Identity("user-1", ALICE, Set.of("eng"), Kind.HUMAN, idp.issuer(), exp), identity);
    }

    @Test
    void tamperedEdDsaTokenIsRefused() {
        refused(TestOidcIssuer.tamperPayload(idp.token().eddsa().sign()), "28P01", "token signature is invalid");
    }

    @Test
    void edDsaTokenSignedByAnotherIssuersKeyIsRefused() {
        try (TestOidcIssuer stranger = TestOidcIssuer.start()) {
            // Same kid ed-1 and a trusted iss, but the stranger's Ed25519 key.
            refused(stranger.token().eddsa().issuer(idp.issuer()).sign(), "28P01", "token signature is invalid");
        }
    }

    @Test
    void edDsaTokenNamingAnRsaKeyIsRefused() {
        refused(idp.token().eddsa().keyId("rsa-1").sign(), "28P01",
                "token key id 'rsa-1' of issuer " + idp.issuer() + " is not a key for algorithm EdDSA");
    }

    @Test
    void edDsaOutsideTheIssuersAllowListIsRefused() {
        TokenValidator withoutEdDsa = new TokenValidator(List.of(config(idp.issuer(), "groups",
                Set.of("RS256", "ES256"))));
        refused(withoutEdDsa, idp.token().eddsa().sign(), ALICE, "28P01", "token algorithm 'EdDSA' is not allowed");
    }

    @Test
    void unsignedTokenIsRefused() {
        refused(idp.unsignedToken(idp.claims().build()), "28P01", "token algorithm 'none' is not allowed");
    }

    @Test
    void hmacSignedWithThePublicKeyIsRefused() {
        refused(idp.hs256WithPublicKey(idp.claims().build()), "28P01", "token algorithm 'HS256' is not allowed");
    }

    @Test
    void algorithmOutsideTheIssuersAllowListIsRefused() {
        TokenValidator rsaOnly = new TokenValidator(List.of(config(idp.issuer(), "groups", Set.of("RS256"))));
        refused(rsaOnly, idp.token().es256().sign(), ALICE, "28P01", "token algorithm 'ES256' is not allowed");
    }

    @Test
    void garbageIsNotAJwt() {
        refused("not-a-token-at-all", "28P01", "token is not a JWT");
        refused("eyJhbGciOiJSUzI1NiJ9.%%%.abc", "28P01", "token is not a JWT");
        refused("", "28P01", "no token was sent as the password");
    }

    @Test
    void tokenForAnotherUserIsRefused() {
        refused(validator, idp.token().sign(), "bob@example.com", "28000",
                "token is for user 'alice@example.com' but the connection asked for user 'bob@example.com'");
    }

    @Test
    void unreachableIssuerIsReportedAndRetriedLater() throws Exception {
        TestOidcIssuer gone = TestOidcIssuer.start();
        gone.close();
        TokenValidator toGone = new TokenValidator(List.of(config(gone)));
        AuthenticationException e = refused(toGone, gone.token().sign(), ALICE, "28000",
                "cannot reach identity provider " + gone.issuer() + ": connection to " + gone.issuer()
                        + "/.well-known/openid-configuration refused");
        assertTrue(e.getMessage().startsWith("cannot reach identity provider " + gone.issuer() + ": "));

        idp.failRequests(true);
        refused(idp.token().sign(), "28000", "cannot reach identity provider " + idp.issuer() + ": HTTP 503 from "
                + idp.issuer() + "/.well-known/openid-configuration");
        idp.failRequests(false);
        assertEquals(ALICE, validator.validate(idp.token().sign(), ALICE).username());
    }

    @Test
    void twoIssuersCanBeTrustedAtOnce() throws Exception {
        try (TestOidcIssuer second = TestOidcIssuer.start()) {
            TokenValidator both = new TokenValidator(List.of(config(idp), config(second)));
            assertEquals(idp.issuer(), both.validate(idp.token().sign(), ALICE).issuer());
            Identity other = both.validate(second.token().es256().email("bob@example.com").sign(), "bob@example.com");
            assertEquals(second.issuer(), other.issuer());
            assertEquals(1, idp.jwksRequests());
            assertEquals(1, second.jwksRequests());
        }
    }

    /** A clock tests can move forward, to cross the refetch rate limit without sleeping. */
    private static final class MutableClock extends Clock {
        private volatile Instant now;

        MutableClock(Instant now) {
            this.now = now;
        }

        void advance(Duration by) {
            now = now.plus(by);
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
