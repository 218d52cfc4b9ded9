package dev.warden.proxy.server;

import dev.warden.config.Listen;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.HexFormat;

/**
 * The TLS context clients connect to: the configured certificate, or a self-signed one made at start-up
 * whose SHA-256 fingerprint is logged so a user can pin it ({@code sslmode=require} does not check it).
 */
public final class ServerTls {

    private static final Logger log = LoggerFactory.getLogger(ServerTls.class);

    private ServerTls() {
    }

    public static SslContext create(Listen listen) throws Exception {
        SslContextBuilder builder;
        if (listen.tlsCert().isPresent() && listen.tlsKey().isPresent()) {
            builder = SslContextBuilder.forServer(listen.tlsCert().get().toFile(), listen.tlsKey().get().toFile());
            log.info("tls.certificate source={}", listen.tlsCert().get());
        } else {
            KeyPair keys = generateKeys();
            X509Certificate cert = selfSigned(keys, listen.host());
            builder = SslContextBuilder.forServer(keys.getPrivate(), cert);
            log.info("tls.certificate source=self-signed subject=\"{}\" sha256={}",
                    cert.getSubjectX500Principal().getName(), fingerprint(cert));
        }
        return builder.sslProvider(TlsProvider.get()).protocols("TLSv1.3", "TLSv1.2").build();
    }

    private static KeyPair generateKeys() throws GeneralSecurityException {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"));
        return generator.generateKeyPair();
    }

    private static X509Certificate selfSigned(KeyPair keys, String host) throws Exception {
        Instant now = Instant.now();
        X500Name name = new X500Name("CN=warden");
        JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(name,
                new BigInteger(64, new SecureRandom()), Date.from(now.minus(Duration.ofHours(1))),
                Date.from(now.plus(Duration.ofDays(365))), name, keys.getPublic());
        builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                new GeneralName(GeneralName.dNSName, "localhost"),
                new GeneralName(GeneralName.iPAddress, "127.0.0.1"),
                new GeneralName(GeneralName.dNSName, host.isEmpty() ? "localhost" : host)}));
        var signer = new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate());
        return new JcaX509CertificateConverter().getCertificate(builder.build(signer));
    }

    static String fingerprint(X509Certificate cert) throws GeneralSecurityException {
        byte[] digest = MessageDigest.getInstance("SHA-256").digest(cert.getEncoded());
        return HexFormat.ofDelimiter(":").withUpperCase().formatHex(digest);
    }
}
