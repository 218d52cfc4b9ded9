package dev.warden.proxy.server;

import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which TLS implementation both legs use: OpenSSL (BoringSSL from netty-tcnative) when its native library
 * loads, the JDK's otherwise. JFR put JDK TLS (SSLEngine, AES-GCM) at about a fifth of Warden's CPU under load;
 * BoringSSL does the same work in native code with the CPU's AES instructions. {@code -Dwarden.tls.provider=jdk}
 * forces the JDK provider (to compare, or to rule the native library out).
 */
public final class TlsProvider {

    private static final Logger log = LoggerFactory.getLogger(TlsProvider.class);
    private static final SslProvider CHOSEN = choose();

    private TlsProvider() {
    }

    /** The provider for every SslContext Warden builds. */
    public static SslProvider get() {
        return CHOSEN;
    }

    private static SslProvider choose() {
        String wanted = System.getProperty("warden.tls.provider", "openssl").trim().toLowerCase(Locale.ROOT);
        if (wanted.equals("jdk")) {
            log.info("tls.provider provider=jdk reason=warden.tls.provider");
            return SslProvider.JDK;
        }
        if (OpenSsl.isAvailable()) {
            log.info("tls.provider provider=openssl version=\"{}\"", OpenSsl.versionString());
            return SslProvider.OPENSSL;
        }
        Throwable cause = OpenSsl.unavailabilityCause();
        log.warn("tls.provider provider=jdk reason=\"OpenSSL unavailable: {}\"",
                cause == null ? "unknown" : cause.toString());
        return SslProvider.JDK;
    }
}
