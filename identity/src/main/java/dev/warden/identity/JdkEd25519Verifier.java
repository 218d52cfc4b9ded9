package dev.warden.identity;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.jca.JCAContext;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.util.Base64URL;
import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.SignatureException;
import java.security.interfaces.EdECPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.Set;

/**
 * Verifies Ed25519 JWS signatures (RFC 8037 {@code EdDSA}, RFC 9864 {@code Ed25519}) with the JDK's own
 * Ed25519. Nimbus' {@code Ed25519Verifier} would need Google Tink, which Warden does not ship.
 *
 * <p>Like Nimbus' verifiers, a header with {@code crit} parameters is refused: we understand none of them.
 */
final class JdkEd25519Verifier implements JWSVerifier {

    static final Set<JWSAlgorithm> ALGORITHMS = Set.of(JWSAlgorithm.EdDSA, JWSAlgorithm.Ed25519);

    /** DER SubjectPublicKeyInfo header of an Ed25519 key (RFC 8410): OID 1.3.101.112, then a 32-byte BIT STRING. */
    private static final byte[] X509_ED25519_PREFIX = {
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
    private static final int PUBLIC_KEY_BYTES = 32;
    private static final int SIGNATURE_BYTES = 64;

    private final PublicKey key;
    private final JCAContext jca = new JCAContext();

    JdkEd25519Verifier(PublicKey key) {
        if (!(key instanceof EdECPublicKey edKey) || !"Ed25519".equals(edKey.getParams().getName())) {
            throw new IllegalArgumentException("not an Ed25519 public key: " + key.getAlgorithm());
        }
        this.key = key;
    }

    /** The JDK key for an OKP JWK, or an exception naming why it is not a usable Ed25519 public key. */
    static PublicKey publicKey(OctetKeyPair jwk) throws JOSEException {
        if (!Curve.Ed25519.equals(jwk.getCurve())) {
            throw new JOSEException("OKP key curve " + jwk.getCurve() + " is not supported");
        }
        byte[] x = jwk.getDecodedX();
        if (x.length != PUBLIC_KEY_BYTES) {
            throw new JOSEException("Ed25519 key is " + x.length + " bytes, not " + PUBLIC_KEY_BYTES);
        }
        byte[] encoded = new byte[X509_ED25519_PREFIX.length + PUBLIC_KEY_BYTES];
        System.arraycopy(X509_ED25519_PREFIX, 0, encoded, 0, X509_ED25519_PREFIX.length);
        System.arraycopy(x, 0, encoded, X509_ED25519_PREFIX.length, PUBLIC_KEY_BYTES);
        try {
            return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(encoded));
        } catch (GeneralSecurityException e) {
            throw new JOSEException("Ed25519 key is not valid", e);
        }
    }

    @Override
    public boolean verify(JWSHeader header, byte[] signingInput, Base64URL signature) throws JOSEException {
        if (!ALGORITHMS.contains(header.getAlgorithm())) {
            throw new JOSEException("algorithm " + header.getAlgorithm() + " is not Ed25519");
        }
        if (header.getCriticalParams() != null && !header.getCriticalParams().isEmpty()) {
            return false;
        }
        byte[] signatureBytes = signature.decode();
        if (signatureBytes.length != SIGNATURE_BYTES) {
            return false;
        }
        try {
            Signature verifier = Signature.getInstance("Ed25519");
            verifier.initVerify(key);
            verifier.update(signingInput);
            return verifier.verify(signatureBytes);
        } catch (SignatureException e) {
            // A malformed signature (e.g. R not a curve point) is a bad signature, not a failure of ours.
            return false;
        } catch (InvalidKeyException e) {
            throw new JOSEException("Ed25519 key is not valid", e);
        } catch (GeneralSecurityException e) {
            throw new JOSEException("Ed25519 is not available in this JDK", e);
        }
    }

    @Override
    public Set<JWSAlgorithm> supportedJWSAlgorithms() {
        return ALGORITHMS;
    }

    @Override
    public JCAContext getJCAContext() {
        return jca;
    }
}
