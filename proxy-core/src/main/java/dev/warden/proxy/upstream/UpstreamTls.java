package dev.warden.proxy.upstream;

import dev.warden.config.TlsMode;
import dev.warden.config.Upstream;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;

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
 */
final class UpstreamTls {

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
        SslContext context = upstream.tls() == TlsMode.VERIFY_FULL ? verifyingContext(upstream.rootCert())
                : encryptOnlyContext();
        SslHandler handler = context.newHandler(alloc, upstream.host(), upstream.port());
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
            ctx = SslContextBuilder.forClient().trustManager(InsecureTrustManagerFactory.INSTANCE).build();
            encryptOnly = ctx;
        }
        return ctx;
    }

    private SslContext verifyingContext(Optional<Path> rootCert) throws SSLException {
        SslContext ctx = verifying.get(rootCert);
        if (ctx == null) {
            SslContextBuilder builder = SslContextBuilder.forClient();
            if (rootCert.isPresent()) {
                builder.trustManager(rootCert.get().toFile());
            }
            ctx = builder.build();
            verifying.put(rootCert, ctx);
        }
        return ctx;
    }
}
