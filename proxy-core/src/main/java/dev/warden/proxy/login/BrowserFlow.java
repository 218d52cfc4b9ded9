package dev.warden.proxy.login;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * The authorization code grant with PKCE (RFC 7636) and a loopback redirect (RFC 8252 section 7.3): a one-shot
 * HTTP listener on 127.0.0.1 and an ephemeral port receives the code, which is then exchanged with the verifier.
 */
public final class BrowserFlow {

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String CALLBACK_PATH = "/callback";

    private final OAuthClient client;
    private final Duration timeout;

    public BrowserFlow(OAuthClient client, Duration timeout) {
        this.client = client;
        this.timeout = timeout;
    }

    /** @param open shows or opens the authorization URL; the flow then waits for the browser to come back */
    public TokenSet login(OidcEndpoints endpoints, String clientId, String scope, Consumer<URI> open)
            throws LoginException {
        URI authorization = endpoints.authorization().orElseThrow(() -> new LoginException("issuer "
                + endpoints.issuer() + " has no authorization_endpoint: use the device flow (`warden login` "
                + "without --browser)"));
        String verifier = randomToken(32);
        String state = randomToken(16);
        CompletableFuture<Map<String, String>> callback = new CompletableFuture<>();
        HttpServer server;
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        } catch (IOException e) {
            throw new LoginException("cannot listen on the loopback interface for the login redirect: "
                    + e.getMessage(), e);
        }
        server.createContext(CALLBACK_PATH, exchange -> answerCallback(exchange, callback));
        server.start();
        try {
            String redirectUri = "http://127.0.0.1:" + server.getAddress().getPort() + CALLBACK_PATH;
            Map<String, String> query = new LinkedHashMap<>();
            query.put("response_type", "code");
            query.put("client_id", clientId);
            query.put("redirect_uri", redirectUri);
            query.put("scope", scope);
            query.put("state", state);
            query.put("code_challenge", challenge(verifier));
            query.put("code_challenge_method", "S256");
            open.accept(URI.create(authorization + (authorization.getRawQuery() == null ? "?" : "&") + form(query)));

            Map<String, String> params;
            try {
                params = callback.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                throw new LoginException("no answer from the browser within " + timeout.toSeconds() + "s");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new LoginException("login cancelled");
            } catch (ExecutionException e) {
                throw new LoginException("the login redirect failed: " + e.getCause().getMessage());
            }
            if (!state.equals(params.get("state"))) {
                // Not our request: a forged or stale redirect must not log the user in as someone else.
                throw new LoginException("the login redirect carried the wrong state; try again");
            }
            if (params.containsKey("error")) {
                throw new LoginException("the issuer refused the login: " + params.get("error")
                        + Optional.ofNullable(params.get("error_description")).map(d -> ": " + d).orElse(""));
            }
            String code = Optional.ofNullable(params.get("code")).filter(c -> !c.isEmpty())
                    .orElseThrow(() -> new LoginException("the login redirect carried no code"));
            OAuthClient.Reply reply = client.post(endpoints.token(), Map.of("grant_type", "authorization_code",
                    "code", code, "redirect_uri", redirectUri, "client_id", clientId, "code_verifier", verifier),
                    "code exchange at " + endpoints.token());
            if (reply.status() != 200) {
                throw new LoginException("the token endpoint refused the authorization code: " + reply.describeError());
            }
            return client.tokens(reply, endpoints.issuer(), clientId, endpoints.token(), Optional.empty());
        } finally {
            server.stop(0);
        }
    }

    private static void answerCallback(HttpExchange exchange, CompletableFuture<Map<String, String>> callback)
            throws IOException {
        Map<String, String> params = parseQuery(exchange.getRequestURI().getRawQuery());
        boolean ok = params.containsKey("code") && !params.containsKey("error");
        byte[] page = ("<!doctype html><title>Warden</title><p>" + (ok
                ? "You are logged in to Warden. You can close this window."
                : "The login did not succeed; see the terminal.") + "</p>").getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
        exchange.sendResponseHeaders(ok ? 200 : 400, page.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(page);
        }
        callback.complete(params);
    }

    static Map<String, String> parseQuery(String rawQuery) {
        Map<String, String> params = new LinkedHashMap<>();
        if (rawQuery == null || rawQuery.isEmpty()) {
            return params;
        }
        for (String pair : rawQuery.split("&")) {
            int eq = pair.indexOf('=');
            String key = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            params.putIfAbsent(key, value);
        }
        return params;
    }

    private static String form(Map<String, String> params) {
        StringBuilder sb = new StringBuilder();
        params.forEach((k, v) -> sb.append(sb.length() == 0 ? "" : "&")
                .append(URLEncoder.encode(k, StandardCharsets.UTF_8)).append('=')
                .append(URLEncoder.encode(v, StandardCharsets.UTF_8)));
        return sb.toString();
    }

    private static String randomToken(int bytes) {
        byte[] b = new byte[bytes];
        RANDOM.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    static String challenge(String verifier) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(verifier.getBytes(StandardCharsets.US_ASCII));
            return Base64.getUrlEncoder().withoutPadding().encodeToString(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
