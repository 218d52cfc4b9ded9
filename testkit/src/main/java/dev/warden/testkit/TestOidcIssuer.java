package dev.warden.testkit;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jca.JCAContext;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jose.util.JSONObjectUtils;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.text.ParseException;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real OIDC issuer running in the test's process: discovery and JWKS over HTTP on 127.0.0.1, an RSA-2048
 * key ({@code rsa-1}), an EC P-256 key ({@code ec-1}) and an Ed25519 key ({@code ed-1}) made at start, and a
 * builder that signs tokens with them (Ed25519 through the JDK, since Nimbus' Ed25519 signer needs Tink). It
 * also makes the tokens an attacker would try ({@link #unsignedToken}, {@link #hs256WithPublicKey},
 * {@link #tamperPayload}) so identity tests exercise real bytes, not mocks.
 *
 * <p>Limits: no login or token endpoint (the discovery document names a placeholder), no TLS.
 */
public final class TestOidcIssuer implements AutoCloseable {

    private final HttpServer server;
    private final ExecutorService executor;
    private final String issuer;
    private final AtomicInteger jwksRequests = new AtomicInteger();
    private final AtomicInteger discoveryRequests = new AtomicInteger();
    private final AtomicInteger rotations = new AtomicInteger(1);
    private volatile boolean failing;
    private volatile boolean stalling;
    private volatile RSAKey rsaKey;
    private final ECKey ecKey;
    private final KeyPair edKeyPair;
    private final OctetKeyPair edKey;

    private TestOidcIssuer() throws IOException, JOSEException {
        rsaKey = newRsaKey("rsa-1");
        ecKey = new ECKeyGenerator(Curve.P_256).keyID("ec-1").keyUse(KeyUse.SIGNATURE)
                .algorithm(JWSAlgorithm.ES256).generate();
        edKeyPair = newEd25519KeyPair();
        edKey = new OctetKeyPair.Builder(Curve.Ed25519, Base64URL.encode(rawEd25519PublicKey(edKeyPair)))
                .keyID("ed-1").keyUse(KeyUse.SIGNATURE).algorithm(JWSAlgorithm.EdDSA).build();
        executor = Executors.newFixedThreadPool(2, runnable -> {
            Thread thread = new Thread(runnable, "test-oidc-issuer");
            thread.setDaemon(true);
            return thread;
        });
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(executor);
        issuer = "http://127.0.0.1:" + server.getAddress().getPort();
        server.createContext("/.well-known/openid-configuration", exchange -> {
            discoveryRequests.incrementAndGet();
            respond(exchange, discoveryDocument());
        });
        server.createContext("/jwks", exchange -> {
            jwksRequests.incrementAndGet();
            respond(exchange, JSONObjectUtils.toJSONString(publicKeys().toJSONObject(true)));
        });
        server.start();
    }

    public static TestOidcIssuer start() {
        try {
            return new TestOidcIssuer();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (JOSEException e) {
            throw new IllegalStateException("cannot generate test keys", e);
        }
    }

    /** The issuer URL, e.g. {@code http://127.0.0.1:41234}; tokens carry it as {@code iss}. */
    public String issuer() {
        return issuer;
    }

    /** How many times the JWKS has been fetched: lets tests prove caching and refetch rate limits. */
    public int jwksRequests() {
        return jwksRequests.get();
    }

    /** How many times the discovery document has been fetched. */
    public int discoveryRequests() {
        return discoveryRequests.get();
    }

    /** While true, every endpoint answers 503, as an identity provider in trouble would. */
    public void failRequests(boolean fail) {
        this.failing = fail;
    }

    /**
     * While true, every endpoint takes the request and answers nothing until it is false again (or a minute has
     * passed), as a provider that accepts connections and then hangs would. At most two requests are held at once
     * (the server's two threads); later ones wait to be read.
     */
    public void stallRequests(boolean stall) {
        this.stalling = stall;
    }

    /** Replaces the RSA key with a new one under a new kid ({@code rsa-2}, {@code rsa-3}, ...). */
    public void rotateKeys() {
        try {
            rsaKey = newRsaKey("rsa-" + rotations.incrementAndGet());
        } catch (JOSEException e) {
            throw new IllegalStateException("cannot generate test key", e);
        }
    }

    /** The kid of the current RSA key. */
    public String rsaKeyId() {
        return rsaKey.getKeyID();
    }

    public TokenBuilder token() {
        return new TokenBuilder();
    }

    /** Claims with the builder's defaults, for the attack helpers. */
    public JWTClaimsSet.Builder claims() {
        Instant now = Instant.now();
        return new JWTClaimsSet.Builder()
                .issuer(issuer)
                .subject("user-1")
                .claim("email", "alice@example.com")
                .audience("warden")
                .issueTime(Date.from(now))
                .expirationTime(Date.from(now.plus(Duration.ofMinutes(10))));
    }

    /** A token with {@code alg: none} and no signature. */
    public String unsignedToken(JWTClaimsSet claims) {
        return new PlainJWT(claims).serialize();
    }

    /**
     * The classic key-confusion attack: HS256 with the issuer's public RSA key as the HMAC secret. A
     * validator that lets the token pick the algorithm would verify it with the public key and accept it.
     */
    public String hs256WithPublicKey(JWTClaimsSet claims) {
        try {
            byte[] secret = rsaKey.toPublicJWK().toRSAPublicKey().getEncoded();
            if (secret.length < 32) {
                secret = Arrays.copyOf(secret, 32);
            }
            SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID(rsaKey.getKeyID())
                    .type(JOSEObjectType.JWT).build(), claims);
            jwt.sign(new MACSigner(secret));
            return jwt.serialize();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Swaps in a payload that grants the group {@code admin} and another subject, keeping the old signature. */
    public static String tamperPayload(String jwt) {
        String[] parts = jwt.split("\\.", -1);
        if (parts.length != 3) {
            throw new IllegalArgumentException("not a signed JWT");
        }
        try {
            Map<String, Object> payload = new LinkedHashMap<>(
                    JSONObjectUtils.parse(new Base64URL(parts[1]).decodeToString()));
            payload.put("sub", "mallory");
            payload.put("groups", List.of("admin"));
            String tampered = Base64URL.encode(JSONObjectUtils.toJSONString(payload)
                    .getBytes(StandardCharsets.UTF_8)).toString();
            return parts[0] + "." + tampered + "." + parts[2];
        } catch (ParseException e) {
            throw new IllegalArgumentException("payload is not JSON", e);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }

    /** Fluent builder for signed tokens; see the class comment for defaults. */
    public final class TokenBuilder {
        private final JWTClaimsSet.Builder claims = claims();
        private JWSAlgorithm algorithm = JWSAlgorithm.RS256;
        private String keyId;

        private TokenBuilder() {
        }

        public TokenBuilder subject(String subject) {
            claims.subject(subject);
            return this;
        }

        public TokenBuilder email(String email) {
            claims.claim("email", email);
            return this;
        }

        public TokenBuilder groups(String... groups) {
            claims.claim("groups", List.of(groups));
            return this;
        }

        public TokenBuilder audience(String... audience) {
            claims.audience(List.of(audience));
            return this;
        }

        /** Any claim; {@code null} removes it. */
        public TokenBuilder claim(String name, Object value) {
            claims.claim(name, value);
            return this;
        }

        public TokenBuilder issuedAt(Instant at) {
            claims.issueTime(at == null ? null : Date.from(at));
            return this;
        }

        /** {@code null} leaves the token without {@code exp}. */
        public TokenBuilder expiresAt(Instant at) {
            claims.expirationTime(at == null ? null : Date.from(at));
            return this;
        }

        public TokenBuilder notBefore(Instant at) {
            claims.notBeforeTime(at == null ? null : Date.from(at));
            return this;
        }

        public TokenBuilder issuer(String override) {
            claims.issuer(override);
            return this;
        }

        public TokenBuilder es256() {
            algorithm = JWSAlgorithm.ES256;
            return this;
        }

        /** Ed25519 with the key {@code ed-1}, as {@code alg: EdDSA} (RFC 8037). */
        public TokenBuilder eddsa() {
            algorithm = JWSAlgorithm.EdDSA;
            return this;
        }

        public TokenBuilder rs256() {
            algorithm = JWSAlgorithm.RS256;
            return this;
        }

        /** Puts this kid in the header while still signing with the real key (unknown-kid tests). */
        public TokenBuilder keyId(String override) {
            keyId = override;
            return this;
        }

        public String sign() {
            JWK key = algorithm.equals(JWSAlgorithm.ES256) ? ecKey
                    : algorithm.equals(JWSAlgorithm.EdDSA) ? edKey
                    : rsaKey;
            try {
                SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(algorithm)
                        .keyID(keyId != null ? keyId : key.getKeyID())
                        .type(JOSEObjectType.JWT)
                        .build(), claims.build());
                JWSSigner signer = key instanceof ECKey ec ? new ECDSASigner(ec)
                        : key instanceof OctetKeyPair ? new JdkEd25519Signer(edKeyPair)
                        : new RSASSASigner((RSAKey) key);
                jwt.sign(signer);
                return jwt.serialize();
            } catch (JOSEException e) {
                throw new IllegalStateException("cannot sign test token", e);
            }
        }
    }

    private JWKSet publicKeys() {
        return new JWKSet(List.of(rsaKey.toPublicJWK(), ecKey.toPublicJWK(), edKey.toPublicJWK()));
    }

    private String discoveryDocument() {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("issuer", issuer);
        doc.put("jwks_uri", issuer + "/jwks");
        doc.put("authorization_endpoint", issuer + "/authorize");
        doc.put("token_endpoint", issuer + "/token");
        doc.put("response_types_supported", List.of("code"));
        doc.put("subject_types_supported", List.of("public"));
        doc.put("id_token_signing_alg_values_supported", List.of("RS256", "ES256", "EdDSA"));
        return JSONObjectUtils.toJSONString(doc);
    }

    private void respond(HttpExchange exchange, String body) throws IOException {
        try (exchange) {
            long until = System.nanoTime() + java.util.concurrent.TimeUnit.MINUTES.toNanos(1);
            while (stalling && System.nanoTime() < until) {
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
            if (failing) {
                exchange.sendResponseHeaders(503, -1);
                return;
            }
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

    private static RSAKey newRsaKey(String kid) throws JOSEException {
        return new RSAKeyGenerator(2048).keyID(kid).keyUse(KeyUse.SIGNATURE).algorithm(JWSAlgorithm.RS256).generate();
    }

    private static KeyPair newEd25519KeyPair() throws JOSEException {
        try {
            return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new JOSEException("Ed25519 is not available in this JDK", e);
        }
    }

    /** The JWK {@code x}: the 32 raw key bytes, which end the JDK's X.509 SubjectPublicKeyInfo encoding. */
    private static byte[] rawEd25519PublicKey(KeyPair pair) {
        byte[] encoded = pair.getPublic().getEncoded();
        return Arrays.copyOfRange(encoded, encoded.length - 32, encoded.length);
    }

    /** Signs with the JDK's Ed25519; Nimbus' {@code Ed25519Signer} would need Google Tink. */
    private static final class JdkEd25519Signer implements JWSSigner {
        private final KeyPair pair;
        private final JCAContext jca = new JCAContext();

        JdkEd25519Signer(KeyPair pair) {
            this.pair = pair;
        }

        @Override
        public Base64URL sign(JWSHeader header, byte[] signingInput) throws JOSEException {
            try {
                Signature signature = Signature.getInstance("Ed25519");
                signature.initSign(pair.getPrivate());
                signature.update(signingInput);
                return Base64URL.encode(signature.sign());
            } catch (GeneralSecurityException e) {
                throw new JOSEException("cannot sign with Ed25519", e);
            }
        }

        @Override
        public Set<JWSAlgorithm> supportedJWSAlgorithms() {
            return Set.of(JWSAlgorithm.EdDSA);
        }

        @Override
        public JCAContext getJCAContext() {
            return jca;
        }
    }
}
