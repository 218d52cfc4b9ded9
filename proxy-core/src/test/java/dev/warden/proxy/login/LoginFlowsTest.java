package dev.warden.proxy.login;

import dev.warden.proxy.CliRun;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** warden login, token and url against mock-oauth2-server, a real OIDC server run in this JVM. */
class LoginFlowsTest {

    private static final String CLIENT = "warden-cli";
    private static final Map<String, Object> ALICE = Map.of("email", "alice@example.com", "groups", List.of("eng"));
    private static DeviceFlowIssuer idp;

    @TempDir
    Path config;

    @BeforeAll
    static void startIssuer() {
        idp = DeviceFlowIssuer.start();
    }

    @AfterAll
    static void stopIssuer() {
        idp.close();
    }

    @Test
    void deviceLoginCachesTokensOwnerOnlyAndTokenPrintsThem() throws Exception {
        CompletableFuture<CliRun> login = CompletableFuture.supplyAsync(() -> CliRun.of("login", "--issuer",
                idp.issuer(), "--client-id", CLIENT, "--config-dir", config.toString()));
        String userCode = idp.nextUserCode();
        idp.approve(userCode, "alice", ALICE);
        CliRun run = login.get(60, TimeUnit.SECONDS);

        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.out().contains("enter the code " + userCode), run.out());
        Path file = new TokenCache(config).fileFor(idp.issuer());
        assertEquals(config.resolve("tokens").resolve(Issuers.sha256(idp.issuer()) + ".json"), file);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file.getParent())));

        CliRun token = CliRun.of("token", "--issuer", idp.issuer(), "--config-dir", config.toString());
        assertEquals(0, token.exitCode(), token.err());
        String access = token.out().strip();
        assertEquals(Optional.of("alice@example.com"), JwtClaims.string(access, "email"));
        assertEquals(Optional.of(DeviceFlowIssuer.AUDIENCE), JwtClaims.string(access, "aud"));
        CliRun id = CliRun.of("token", "--id-token", "--issuer", idp.issuer(), "--config-dir", config.toString());
        assertEquals(Optional.of(CLIENT), JwtClaims.string(id.out().strip(), "aud"));

        CliRun jdbc = CliRun.of("url", "prod", "--jdbc", "--issuer", idp.issuer(), "--config-dir", config.toString());
        assertEquals(0, jdbc.exitCode(), jdbc.err());
        assertEquals("jdbc:postgresql://localhost:6432/prod?sslmode=require&user=alice%40example.com",
                jdbc.out().strip());
        assertTrue(jdbc.err().contains("PGPASSWORD=$(warden token)"));
        CliRun libpq = CliRun.of("url", "prod", "--libpq", "--host", "warden.internal", "--port", "7000",
                "--issuer", idp.issuer(), "--config-dir", config.toString());
        assertEquals("host=warden.internal port=7000 dbname=prod user=alice@example.com sslmode=require",
                libpq.out().strip());
        assertTrue(!libpq.out().contains(access) && !jdbc.out().contains(access), "no token in a URL");
    }

    /** A device flow that records each wait it is asked for, and waits 5 ms instead. */
    private static DeviceFlow recordingWaits(OAuthClient client, List<Duration> waits) {
        return new DeviceFlow(client, d -> {
            waits.add(d);
            Thread.sleep(5);
        });
    }

    @Test
    void devicePollingHonoursIntervalAndSlowDown() throws Exception {
        idp.slowDownOnPolls = Set.of(2, 3);
        try {
            List<Duration> waits = new ArrayList<>();
            OAuthClient client = new OAuthClient(Clock.systemUTC());
            DeviceFlow flow = recordingWaits(client, waits);
            List<String> shown = new ArrayList<>();
            TokenSet tokens = flow.login(client.discover(idp.issuer()), CLIENT, "openid", prompt -> {
                shown.add(prompt.userCode());
                CompletableFuture.runAsync(() -> {
                    try {
                        // The user approves after a few polls have been answered "pending".
                        String code = idp.nextUserCode();
                        while (idp.polls(code) < 4) {
                            Thread.sleep(5);
                        }
                        idp.approve(code, "alice", ALICE);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
            });
            assertEquals(1, shown.size());
            assertEquals(Optional.of("alice@example.com"), JwtClaims.string(tokens.accessToken(), "email"));
            // interval 1s; slow_down twice adds 5s each time and the slower pace sticks (RFC 8628 section 3.5).
            assertEquals(List.of(Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(6)),
                    waits.subList(0, 3));
            assertTrue(waits.subList(3, waits.size()).stream().allMatch(d -> d.equals(Duration.ofSeconds(11))),
                    waits.toString());
        } finally {
            idp.slowDownOnPolls = Set.of();
        }
    }

    /**
     * A provider that asks for a poll every day (an interval of 86,400 s) held the login asleep for a day, past
     * its code's lifetime (600 s here); each wait is now at most a minute.
     */
    @Test
    @org.junit.jupiter.api.Timeout(60)
    void aProvidersIntervalIsCappedAtAMinute() throws Exception {
        idp.interval = 86_400;
        try {
            List<Duration> waits = new ArrayList<>();
            OAuthClient client = new OAuthClient(Clock.systemUTC());
            DeviceFlow flow = recordingWaits(client, waits);
            // The user approves after the first poll was answered "pending" (the prompt names their code; taken
            // from the issuer's queue too, which other tests read).
            flow.login(client.discover(idp.issuer()), CLIENT, "openid", prompt -> CompletableFuture.runAsync(() -> {
                try {
                    while (!idp.nextUserCode().equals(prompt.userCode())) {
                        continue;
                    }
                    while (idp.polls(prompt.userCode()) < 1) {
                        Thread.sleep(5);
                    }
                    idp.approve(prompt.userCode(), "alice", ALICE);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
            assertTrue(!waits.isEmpty() && waits.stream().allMatch(d -> d.equals(DeviceFlow.MAX_INTERVAL)),
                    waits.toString());
        } finally {
            idp.interval = 1;
        }
    }

    @Test
    void deniedDeviceCodeEndsTheLoginWithExitCode1() throws Exception {
        CompletableFuture<CliRun> login = CompletableFuture.supplyAsync(() -> CliRun.of("login", "--issuer",
                idp.issuer(), "--client-id", CLIENT, "--config-dir", config.toString()));
        idp.deny(idp.nextUserCode());
        CliRun run = login.get(60, TimeUnit.SECONDS);
        assertEquals(1, run.exitCode());
        assertTrue(run.err().contains("the login was denied"), run.err());
        assertTrue(Files.notExists(new TokenCache(config).fileFor(idp.issuer())));
    }

    @Test
    void expiredDeviceCodeAsksToLogInAgain() throws Exception {
        OAuthClient client = new OAuthClient(Clock.systemUTC());
        DeviceFlow flow = new DeviceFlow(client, d -> Thread.sleep(5));
        LoginException e = assertThrows(LoginException.class, () -> flow.login(client.discover(idp.issuer()), CLIENT,
                "openid", prompt -> idp.expire(prompt.userCode())));
        assertTrue(e.getMessage().contains("expired before it was approved"), e.getMessage());
    }

    @Test
    void browserLoginWithPkceThenAnExpiredAccessTokenIsRefreshed() throws Exception {
        idp.server.enqueueCallback(new DefaultOAuth2TokenCallback(DeviceFlowIssuer.ISSUER_ID, "alice", "JWT",
                List.of(DeviceFlowIssuer.AUDIENCE), ALICE, 3600));
        OAuthClient client = new OAuthClient(Clock.systemUTC());
        HttpClient browser = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.ALWAYS).build();
        List<Integer> pageStatus = new ArrayList<>();
        TokenSet tokens = new BrowserFlow(client, Duration.ofSeconds(30)).login(client.discover(idp.issuer()), CLIENT,
                "openid email offline_access", uri -> CompletableFuture.runAsync(() -> {
                    try {
                        // mock-oauth2-server logs in without a form and redirects to our loopback listener.
                        pageStatus.add(browser.send(HttpRequest.newBuilder(uri).GET().build(),
                                HttpResponse.BodyHandlers.ofString()).statusCode());
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }));
        assertEquals(Optional.of("alice@example.com"), JwtClaims.string(tokens.accessToken(), "email"));
        assertTrue(tokens.refreshToken().isPresent(), "mock-oauth2-server issues a refresh token");

        TokenCache cache = new TokenCache(config);
        cache.save(new TokenSet(tokens.issuer(), tokens.clientId(), tokens.tokenEndpoint(), tokens.accessToken(),
                tokens.idToken(), tokens.refreshToken(), Optional.of(Instant.now().minusSeconds(60))));
        CliRun token = CliRun.of("token", "--issuer", idp.issuer(), "--config-dir", config.toString());
        assertEquals(0, token.exitCode(), token.err());
        String refreshed = token.out().strip();
        assertNotEquals(tokens.accessToken(), refreshed);
        TokenSet cached = cache.load(idp.issuer()).orElseThrow();
        assertEquals(refreshed, cached.accessToken());
        assertTrue(cached.usableAt(Instant.now()), "the refreshed token is cached with its new expiry");
        assertEquals("rw-------", PosixFilePermissions.toString(
                Files.getPosixFilePermissions(cache.fileFor(idp.issuer()))));
    }

    @Test
    void tokenWithoutALoginExitsWith1AndSaysWhatToDo() {
        CliRun run = CliRun.of("token", "--issuer", idp.issuer(), "--config-dir", config.toString());
        assertEquals(1, run.exitCode());
        assertTrue(run.err().contains("run `warden login` first"), run.err());
        assertEquals("", run.out());
    }

    @Test
    void expiredTokenWithoutRefreshTokenAsksForALogin() throws Exception {
        TokenCache cache = new TokenCache(config);
        cache.save(new TokenSet(idp.issuer(), CLIENT, URI.create(idp.issuer() + "/token"), "a.b.c", Optional.empty(),
                Optional.empty(), Optional.of(Instant.now().minusSeconds(5))));
        CliRun run = CliRun.of("token", "--issuer", idp.issuer(), "--config-dir", config.toString());
        assertEquals(1, run.exitCode());
        assertTrue(run.err().contains("no refresh token: run `warden login` again"), run.err());
    }

    @Test
    void issuerAndClientComeFromTheProfileFileWhenNoFlagIsGiven() throws Exception {
        Files.writeString(config.resolve("config.yaml"), "issuer: " + idp.issuer() + "\nclient_id: " + CLIENT
                + "\nhost: warden.example.com\nport: 7432\nuser_claim: sub\n");
        ClientProfile profile = ClientProfile.read(config).overriddenBy(Optional.empty(), Optional.empty(), Map.of());
        assertEquals(Optional.of(idp.issuer()), profile.issuer());
        assertEquals(Optional.of(7432), profile.port());
        ClientProfile env = ClientProfile.read(config).overriddenBy(Optional.empty(), Optional.empty(),
                Map.of("WARDEN_ISSUER", "https://other.example.com"));
        assertEquals(Optional.of("https://other.example.com"), env.issuer());
        ClientProfile flag = ClientProfile.read(config).overriddenBy(Optional.of("https://flag.example.com"),
                Optional.empty(), Map.of("WARDEN_ISSUER", "https://other.example.com"));
        assertEquals(Optional.of("https://flag.example.com"), flag.issuer());
        assertEquals(Path.of("/x/warden"), ClientProfile.configDirectory(Map.of("XDG_CONFIG_HOME", "/x")));

        CliRun none = CliRun.of("login", "--config-dir", config.resolve("nowhere").toString());
        assertEquals(2, none.exitCode(), "no issuer anywhere is a usage error");
    }
}
