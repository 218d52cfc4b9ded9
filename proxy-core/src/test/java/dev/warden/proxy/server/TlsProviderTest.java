package dev.warden.proxy.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.warden.config.Listen;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.OpenSslContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** BoringSSL is what both legs use on Linux x86-64, where the native jar is on the class path. */
class TlsProviderTest {

    @Test
    void openSslIsChosenWhereTheNativeJarApplies() throws Exception {
        Assumptions.assumeTrue(System.getProperty("os.name").toLowerCase().contains("linux")
                && System.getProperty("os.arch").matches("amd64|x86_64"), "native jar is linux-x86_64 only");
        Assumptions.assumeTrue(System.getProperty("warden.tls.provider") == null, "provider forced");
        assertEquals(SslProvider.OPENSSL, TlsProvider.get());
        SslContext server = ServerTls.create(new Listen("127.0.0.1", 0, Optional.empty(), Optional.empty(),
                false, 10, Duration.ofSeconds(5), Duration.ZERO, Duration.ofSeconds(1), 1 << 20, true, Duration.ZERO));
        assertInstanceOf(OpenSslContext.class, server);
        var engine = server.newEngine(ByteBufAllocator.DEFAULT);
        // OpenSSL engines also list the SSLv2Hello pseudo-protocol (a ClientHello format, not a protocol).
        assertEquals(java.util.Set.of("TLSv1.2", "TLSv1.3"), java.util.Arrays.stream(engine.getEnabledProtocols())
                .filter(p -> !p.equals("SSLv2Hello")).collect(java.util.stream.Collectors.toSet()));
    }
}
