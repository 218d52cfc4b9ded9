package dev.warden.proxy.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.Secret;
import dev.warden.config.TlsMode;
import dev.warden.config.Upstream;
import dev.warden.proxy.server.TlsProvider;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.OpenSslSessionContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The upstream leg on OpenSSL, with its session cache on and each engine keyed by the upstream's host and port
 * (the key a resumable session is found by). Whether PostgreSQL resumes is not for this test: it does not.
 */
class UpstreamTlsTest {

    @Test
    void upstreamEnginesAreOpenSslKeyedByHostAndPortWithASessionCache() throws Exception {
        Assumptions.assumeTrue(TlsProvider.get() == SslProvider.OPENSSL, "OpenSSL not available here");
        UpstreamTls tls = new UpstreamTls();
        for (TlsMode mode : new TlsMode[] {TlsMode.REQUIRE, TlsMode.VERIFY_FULL}) {
            Upstream upstream = new Upstream("db.internal", 6543, "app", "warden", Secret.none(), mode,
                    Optional.empty(), Duration.ofSeconds(5), false, "test");
            SslHandler handler = tls.newHandler(upstream, ByteBufAllocator.DEFAULT);
            assertTrue(handler.engine().getClass().getName().contains("OpenSsl"), handler.engine().getClass()
                    .getName());
            assertEquals("db.internal", handler.engine().getPeerHost());
            assertEquals(6543, handler.engine().getPeerPort());
            OpenSslSessionContext sessions = assertInstanceOf(OpenSslSessionContext.class,
                    tls.context(upstream).sessionContext());
            assertTrue(sessions.isSessionCacheEnabled(), mode + ": client session cache on");
            assertEquals(1024, sessions.getSessionCacheSize());
            assertTrue(tls.context(upstream) == tls.context(upstream), "one context, so one cache, per setting");
            io.netty.util.ReferenceCountUtil.release(handler.engine());
        }
    }
}
