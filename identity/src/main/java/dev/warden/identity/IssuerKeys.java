package dev.warden.identity;

import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.util.JSONObjectUtils;
import dev.warden.config.IssuerConfig;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One issuer's discovery result and JWKS, fetched lazily and cached. Failures are never cached: the next
 * validation tries again. One fetch at a time (the {@code fetching} lock), so concurrent connections trigger one
 * fetch, not many; the cached keys are read under this object's own lock, which no fetch holds, so a login whose
 * key is cached never waits on a provider while another login refreshes the keys.
 */
final class IssuerKeys {

    private static final Logger log = LoggerFactory.getLogger(IssuerKeys.class);

    /** Minimum spacing of refetches caused by unknown kids: forged kids must not flood the IdP. */
    static final Duration UNKNOWN_KID_REFETCH_INTERVAL = Duration.ofSeconds(30);
    /** After an unknown-kid refetch that failed, the next may come this soon (a failing provider is asked no more). */
    static final Duration UNKNOWN_KID_RETRY_AFTER_FAILURE = Duration.ofSeconds(5);
    /** Keys are refreshed this often so that keys the IdP withdrew stop being accepted. */
    static final Duration REFRESH_AFTER = Duration.ofMinutes(10);
    /** Past this age stale keys are no longer used when a refresh fails. */
    static final Duration MAX_STALE = Duration.ofHours(1);
    private static final int MAX_DOCUMENT_BYTES = 1024 * 1024;

    private final IssuerConfig config;
    private final HttpClient http;
    private final Duration timeout;
    private final Clock clock;

    private URI jwksUri;
    private JWKSet keys;
    private Instant fetchedAt;
    private Instant lastUnknownKidRefetch;
    /**
     * A fetch is under way while keys are cached: logins whose key is cached use the cache meanwhile, even when it
     * is due for a refresh. Guarded by {@code this}.
     */
    private boolean refreshing;
    /** Held by the one fetch under way; never taken while holding {@code this}. */
    private final Object fetching = new Object();
    /** Fetches that failed after a second or more, not tried for 5 s after ({@link #fetchUnlessJustFailedSlowly}). */
    private final dev.warden.config.net.SlowFailures slowFailures =
            new dev.warden.config.net.SlowFailures(Duration.ofSeconds(1), Duration.ofSeconds(5));

    IssuerKeys(IssuerConfig config, HttpClient http, Duration timeout, Clock clock) {
        this.config = config;
        this.http = http;
        this.timeout = timeout;
        this.clock = clock;
        this.jwksUri = config.jwksUri().orElse(null);
    }

    /**
     * The cached keys, fetching them first if there are none yet or they are due for a refresh. While one login
     * refreshes them, the others are answered from the cache (up to {@link #MAX_STALE} old) without waiting for it:
     * before, every login of the issuer waited on the refresh, up to the fetch's timeout when the provider hung, and
     * again 5 s after each slow failure.
     */
    JWKSet current() throws AuthenticationException {
        synchronized (this) {
            Instant now = clock.instant();
            if (keys != null && (!now.isAfter(fetchedAt.plus(REFRESH_AFTER))
                    || refreshing && !now.isAfter(fetchedAt.plus(MAX_STALE)))) {
                return keys;
            }
        }
        synchronized (fetching) {
            Instant now = clock.instant();
            synchronized (this) {
                if (keys != null && !now.isAfter(fetchedAt.plus(REFRESH_AFTER))) {
                    return keys; // fetched by the login this one waited behind
                }
                refreshing = keys != null;
            }
            try {
                fetchUnlessJustFailedSlowly(now);
            } catch (AuthenticationException e) {
                synchronized (this) {
                    if (keys == null || now.isAfter(fetchedAt.plus(MAX_STALE))) {
                        throw e;
                    }
                    log.warn("jwks refresh failed, using cached keys issuer={} age={} reason={}", config.issuer(),
                            Duration.between(fetchedAt, now), e.getMessage());
                }
            } finally {
                synchronized (this) {
                    refreshing = false;
                }
            }
            synchronized (this) {
                return keys;
            }
        }
    }

    /**
     * Called when a token names a key the cache does not hold (the IdP may have rotated). Refetches at most
     * once per {@link #UNKNOWN_KID_REFETCH_INTERVAL}, or {@link #UNKNOWN_KID_RETRY_AFTER_FAILURE} after one that
     * failed; otherwise returns the cache as it is once any fetch under way
     * has ended (a burst of logins with a newly rotated key is answered by the one fetch).
     */
    JWKSet refreshForUnknownKey() throws AuthenticationException {
        synchronized (fetching) {
            Instant now = clock.instant();
            synchronized (this) {
                if (lastUnknownKidRefetch != null
                        && now.isBefore(lastUnknownKidRefetch.plus(UNKNOWN_KID_REFETCH_INTERVAL))) {
                    log.debug("jwks refetch suppressed by rate limit issuer={}", config.issuer());
                    return keys;
                }
                lastUnknownKidRefetch = now;
                refreshing = keys != null;
            }
            try {
                fetchUnlessJustFailedSlowly(now);
            } catch (AuthenticationException e) {
                synchronized (this) {
                    // Not fetched: the next unknown kid may try again after UNKNOWN_KID_RETRY_AFTER_FAILURE, not the
                    // whole interval, so a key the provider rotated in while it was down is not refused for 30 s
                    // after it is back.
                    lastUnknownKidRefetch = now.minus(UNKNOWN_KID_REFETCH_INTERVAL)
                            .plus(UNKNOWN_KID_RETRY_AFTER_FAILURE);
                }
                throw e;
            } finally {
                synchronized (this) {
                    refreshing = false;
                }
            }
            synchronized (this) {
                return keys;
            }
        }
    }

    /**
     * Logins that must fetch wait on the {@code fetching} lock while one does. A fetch that failed fast (refused, an
     * HTTP error) is simply tried again by the next; one that failed slowly (the provider took the connection and
     * did not answer in time) is not tried again for 5 s: until then each login fails at
     * once with its reason, instead of each waiting as long again in turn (and any client may send a token naming
     * a trusted issuer). Called holding {@code fetching}, which guards {@code slowFailures} and {@code jwksUri}.
     */
    private void fetchUnlessJustFailedSlowly(Instant now) throws AuthenticationException {
        java.util.Optional<String> recent = slowFailures.recent();
        if (recent.isPresent()) {
            throw new AuthenticationException(AuthenticationException.NOT_AUTHORIZED, recent.get());
        }
        long started = System.nanoTime();
        try {
            fetch(now);
            slowFailures.succeeded();
        } catch (AuthenticationException e) {
            slowFailures.failed(started, e.getMessage());
            throw e;
        }
    }

    private void fetch(Instant now) throws AuthenticationException {
        if (jwksUri == null) {
            jwksUri = discoverJwksUri();
        }
        String body = get(jwksUri);
        JWKSet fetched;
        try {
            // Only public keys matter; dropping anything private guards against a misconfigured IdP.
            fetched = JWKSet.parse(body).toPublicJWKSet();
        } catch (ParseException e) {
            throw unreachable("the JWKS at " + jwksUri + " is not a valid JWK set");
        }
        synchronized (this) {
            keys = fetched;
            fetchedAt = now;
        }
        log.debug("jwks fetched issuer={} keys={}", config.issuer(), fetched.getKeys().size());
    }

    private URI discoverJwksUri() throws AuthenticationException {
        String base = config.issuer().endsWith("/")
                ? config.issuer().substring(0, config.issuer().length() - 1) : config.issuer();
        URI discovery = URI.create(base + "/.well-known/openid-configuration");
        Map<String, Object> document;
        try {
            document = JSONObjectUtils.parse(get(discovery));
        } catch (ParseException e) {
            throw unreachable("the discovery document at " + discovery + " is not JSON");
        }
        // OIDC Discovery 1.0 §4.3: the document must name the issuer it was fetched for.
        Object issuer = document.get("issuer");
        if (!config.issuer().equals(issuer)) {
            throw unreachable("the discovery document names issuer '" + issuer + "'");
        }
        if (!(document.get("jwks_uri") instanceof String uri)) {
            throw unreachable("the discovery document has no jwks_uri");
        }
        try {
            return URI.create(uri);
        } catch (IllegalArgumentException e) {
            throw unreachable("the discovery document's jwks_uri is not a URL");
        }
    }

    /**
     * The document at {@code uri}, whole within {@code timeout}: the request's own timeout covers only the wait for
     * the response's headers (before JDK 26), and a provider that sent them and then stopped held a blocking read,
     * and this object's lock with every login of the issuer waiting on it, for good.
     */
    private String get(URI uri) throws AuthenticationException {
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(timeout)
                .header("Accept", "application/json").GET().build();
        try {
            HttpResponse<byte[]> response = dev.warden.config.net.WholeAnswer.send(http, request,
                    info -> new CappedBody(MAX_DOCUMENT_BYTES), timeout);
            if (response.statusCode() != 200) {
                throw unreachable("HTTP " + response.statusCode() + " from " + uri);
            }
            return new String(response.body(), StandardCharsets.UTF_8);
        } catch (dev.warden.config.net.WholeAnswer.Late e) {
            throw unreachable("no complete answer from " + uri + " within " + timeout.toMillis() + " ms", e);
        } catch (TooLarge e) {
            throw unreachable(uri + " returned more than 1 MiB");
        } catch (HttpTimeoutException e) {
            throw unreachable("no answer from " + uri + " within " + timeout.toMillis() + " ms", e);
        } catch (ConnectException e) {
            throw unreachable("connection to " + uri + " refused", e);
        } catch (IOException e) {
            throw unreachable(e.getMessage() == null ? e.getClass().getSimpleName() + " from " + uri
                    : e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw unreachable("interrupted while fetching " + uri, e);
        }
    }

    /** A body of at most {@code max} bytes: a longer one fails with {@link TooLarge} and the exchange is cancelled. */
    private static final class CappedBody implements HttpResponse.BodySubscriber<byte[]> {
        private final int max;
        private final java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        private final java.util.concurrent.CompletableFuture<byte[]> body =
                new java.util.concurrent.CompletableFuture<>();
        private java.util.concurrent.Flow.Subscription subscription;

        CappedBody(int max) {
            this.max = max;
        }

        @Override
        public java.util.concurrent.CompletionStage<byte[]> getBody() {
            return body;
        }

        @Override
        public void onSubscribe(java.util.concurrent.Flow.Subscription s) {
            subscription = s;
            s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(java.util.List<java.nio.ByteBuffer> items) {
            for (java.nio.ByteBuffer b : items) {
                if (body.isDone()) {
                    return;
                }
                if ((long) out.size() + b.remaining() > max) {
                    subscription.cancel();
                    body.completeExceptionally(new TooLarge());
                    return;
                }
                byte[] chunk = new byte[b.remaining()];
                b.get(chunk);
                out.write(chunk, 0, chunk.length);
            }
        }

        @Override
        public void onError(Throwable t) {
            body.completeExceptionally(t);
        }

        @Override
        public void onComplete() {
            body.complete(out.toByteArray());
        }
    }

    private static final class TooLarge extends IOException {
        TooLarge() {
            super("more than the document limit");
        }
    }

    private AuthenticationException unreachable(String reason) {
        return unreachable(reason, null);
    }

    private AuthenticationException unreachable(String reason, Throwable cause) {
        return new AuthenticationException(AuthenticationException.NOT_AUTHORIZED,
                "cannot reach identity provider " + config.issuer() + ": " + reason, cause);
    }
}
