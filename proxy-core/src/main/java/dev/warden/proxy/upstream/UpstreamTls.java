package dev.warden.proxy.upstream;

import dev.warden.config.TlsMode;
import dev.warden.config.Upstream;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import dev.warden.proxy.server.TlsProvider;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * TLS toward the upstream database with libpq's meaning of the modes: {@code require} encrypts without
 * checking who answers, {@code verify-full} checks the chain (against {@code root_cert} or the JVM's
 * trust store) and the host name.
 *
 * <p>One context per trust setting, shared by every upstream connection, and each handler is created with the
 * upstream's host and port: that is the key of the context's client session cache, so toward a server that
 * issues session tickets or ids a later connection can offer the cached session instead of a full handshake.
 * PostgreSQL offers neither ({@code openssl s_client -starttls postgres -sess_out/-sess_in} against
 * PostgreSQL 17: no session id, no ticket), so resumption can only happen toward a TLS front end that allows it
 * (a pooler, a cloud proxy); that case is not tested here.
 */
final class UpstreamTls {

    private static final int SESSION_CACHE_SIZE = 1024;
    private static final int SESSION_TIMEOUT_SECONDS = 300;

    private final Map<Optional<Path>, SslContext> verifying = new ConcurrentHashMap<>();
    private volatile SslContext encryptOnly;

    /**
     * Builds (once) the context {@code upstream} needs, reading its root certificate on {@code executor}: the
     * event loop that later makes the handler never touches the file system.
     */
    java.util.concurrent.CompletableFuture<Void> prepare(Upstream upstream, java.util.concurrent.Executor executor) {
        if (upstream.tls() == TlsMode.DISABLE || (upstream.tls() == TlsMode.VERIFY_FULL
                ? verifying.containsKey(upstream.rootCert()) : encryptOnly != null)) {
            return java.util.concurrent.CompletableFuture.completedFuture(null);
        }
        return java.util.concurrent.CompletableFuture.runAsync(() -> {
            try {
                if (upstream.tls() == TlsMode.VERIFY_FULL) {
                    verifyingContext(upstream.rootCert());
                } else {
                    encryptOnlyContext();
                }
            } catch (SSLException e) {
                throw new java.util.concurrent.CompletionException(e);
            }
        }, executor);
    }

    SslHandler newHandler(Upstream upstream, ByteBufAllocator alloc) throws SSLException {
        // An engine made by newEngine, not newHandler: netty-tcnative's engine then unwraps one TLS record per
        // call, as the JDK's does, into a buffer of one record. newHandler's engine unwraps every record read at
        // once into one buffer; the relay's retained slices of the rows in it keep the whole buffer alive while a
        // slow client drains them, which tripled Warden's peak memory for a slow reader (BackpressureTest).
        SslHandler handler = new SslHandler(context(upstream).newEngine(alloc, upstream.host(), upstream.port()));
        if (upstream.tls() == TlsMode.VERIFY_FULL) {
            SSLEngine engine = handler.engine();
            SSLParameters params = engine.getSSLParameters();
            params.setEndpointIdentificationAlgorithm("HTTPS");
            engine.setSSLParameters(params);
        }
        return handler;
    }

    private SslContext encryptOnlyContext() throws SSLException {
        SslContext ctx = encryptOnly;
        if (ctx == null) {
            ctx = client().trustManager(InsecureTrustManagerFactory.INSTANCE).endpointIdentificationAlgorithm(null)
                    .build();
            encryptOnly = ctx;
        }
        return ctx;
    }

    /** The shared context for {@code upstream}'s TLS setting (and so its session cache). */
    SslContext context(Upstream upstream) throws SSLException {
        return upstream.tls() == TlsMode.VERIFY_FULL ? verifyingContext(upstream.rootCert()) : encryptOnlyContext();
    }

    private static SslContextBuilder client() {
        return SslContextBuilder.forClient().sslProvider(TlsProvider.get()).sessionCacheSize(SESSION_CACHE_SIZE)
                .sessionTimeout(SESSION_TIMEOUT_SECONDS);
    }

    private SslContext verifyingContext(Optional<Path> rootCert) throws SSLException {
        SslContext ctx = verifying.get(rootCert);
        if (ctx == null) {
            SslContextBuilder builder = client();
            if (rootCert.isPresent()) {
                builder.trustManager(rootCert.get().toFile());
            }
            ctx = builder.build();
            verifying.put(rootCert, ctx);
        }
        return ctx;
    }
}
