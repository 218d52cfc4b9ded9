package dev.warden.proxy.demo;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.util.JSONObjectUtils;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A development OIDC issuer for {@code warden demo} only: discovery and JWKS over plain HTTP on 127.0.0.1, an
 * ES256 key generated at start and never written anywhere, and {@link #mint} for the demo users. It has no login
 * page and no token endpoint: whoever runs the demo simply gets the tokens. That is exactly why it must never
 * stand in for an identity provider, and why it is not reachable from a policy file: nothing but
 * {@link Demo} constructs it.
 */
final class DevelopmentIssuer implements AutoCloseable {

    static final String LABEL = "DEMO ISSUER — not for production";
    static final String AUDIENCE = "warden";
    static final Duration TOKEN_VALIDITY = Duration.ofHours(12);

    private static final Logger log = LoggerFactory.getLogger(DevelopmentIssuer.class);

    private final HttpServer server;
    private final ExecutorService executor;
    private final ECKey key;
    private final String issuer;

    private DevelopmentIssuer(HttpServer server, ExecutorService executor, ECKey key) {
        this.server = server;
        this.executor = executor;
        this.key = key;
        this.issuer = "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** Binds a free port on the loopback interface, never on another one. */
    static DevelopmentIssuer start() throws IOException {
        return start(0);
    }

    /**
     * As {@link #start()}, on {@code preferredPort} when it is free (0: any). The issuer's URL is its port: a demo
     * started again on the same data directory keeps it, or every person who had logged in before found their role
     * bound to another issuer and was refused (a helper's pass).
     */
    static DevelopmentIssuer start(int preferredPort) throws IOException {
        if (preferredPort > 0) {
            try {
                return bound(HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), preferredPort),
                        16));
            } catch (java.net.BindException taken) {
                log.warn("demo issuer: port {} is taken; a new port gives a new issuer, and who logged in before "
                        + "is refused until the demo starts --fresh", preferredPort);
            }
        }
        return bound(HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16));
    }

    private static DevelopmentIssuer bound(HttpServer server) throws IOException {
        ECKey key;
        try {
            key = new ECKeyGenerator(Curve.P_256).keyID("demo-" + UUID.randomUUID().toString().substring(0, 8))
                    .keyUse(KeyUse.SIGNATURE).algorithm(JWSAlgorithm.ES256).generate();
        } catch (JOSEException e) {
            throw new IOException("cannot generate the demo issuer's key: " + e.getMessage(), e);
        }
        ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "warden-demo-issuer");
            t.setDaemon(true);
            return t;
        });
        DevelopmentIssuer issuer = new DevelopmentIssuer(server, executor, key);
        server.createContext("/.well-known/openid-configuration", e -> issuer.respond(e, issuer.discovery()));
        server.createContext("/jwks", e -> issuer.respond(e,
                JSONObjectUtils.toJSONString(new JWKSet(key.toPublicJWK()).toJSONObject(true))));
        server.setExecutor(executor);
        server.start();
        log.warn("{}: development OIDC issuer url={} key_id={} (key in memory, tokens valid {}h)", LABEL,
                issuer.issuer, key.getKeyID(), TOKEN_VALIDITY.toHours());
        return issuer;
    }

    String issuer() {
        return issuer;
    }

    /** A signed access token for {@code user}, valid for {@link #TOKEN_VALIDITY}. */
    String mint(DemoUser user) {
        Instant now = Instant.now();
        JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder()
                .issuer(issuer)
                .subject("demo-" + user.name())
                .audience(AUDIENCE)
                .claim("email", user.email())
                .claim("groups", user.groups())
                .claim("name", user.name())
                .issueTime(Date.from(now))
                .expirationTime(Date.from(now.plus(TOKEN_VALIDITY)))
                .jwtID(UUID.randomUUID().toString());
        user.agentClientId().ifPresent(azp -> claims.claim("azp", azp));
        try {
            SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID(key.getKeyID())
                    .type(JOSEObjectType.JWT).build(), claims.build());
            jwt.sign(new ECDSASigner(key));
            return jwt.serialize();
        } catch (JOSEException e) {
            throw new IllegalStateException("cannot sign a demo token", e);
        }
    }

    private String discovery() {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("issuer", issuer);
        doc.put("jwks_uri", issuer + "/jwks");
        // Required by the discovery spec; this issuer has neither: tokens come from `warden demo` itself.
        doc.put("authorization_endpoint", issuer + "/not-supported");
        doc.put("response_types_supported", List.of("code"));
        doc.put("subject_types_supported", List.of("public"));
        doc.put("id_token_signing_alg_values_supported", List.of("ES256"));
        doc.put("x-warden-note", LABEL);
        return JSONObjectUtils.toJSONString(doc);
    }

    private void respond(HttpExchange exchange, String body) throws IOException {
        try (exchange) {
            if (!exchange.getRequestMethod().equals("GET")) {
                exchange.sendResponseHeaders(405, -1);
                return;
            }
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
