package dev.warden.identity;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jose.crypto.factories.DefaultJWSVerifierFactory;
import com.nimbusds.jose.jca.JCAContext;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKMatcher;
import com.nimbusds.jose.jwk.JWKSelector;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.proc.JWSKeySelector;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.JWSVerifierFactory;
import com.nimbusds.jose.proc.SecurityContext;
import java.security.Key;
import java.security.PublicKey;
import java.security.interfaces.EdECPublicKey;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Key selection and verifier creation for {@code DefaultJWTProcessor}: Nimbus' own for RSA and EC, and for
 * Ed25519 the JDK, because Nimbus converts OKP keys and verifies Ed25519 only through Google Tink.
 */
final class SignatureKeys implements JWSKeySelector<SecurityContext> {

    private final Set<JWSAlgorithm> allowed;
    private final JWKSet keys;
    private final JWSVerificationKeySelector<SecurityContext> nimbus;

    SignatureKeys(Set<JWSAlgorithm> allowed, JWKSet keys) {
        this.allowed = allowed;
        this.keys = keys;
        this.nimbus = new JWSVerificationKeySelector<>(allowed, new ImmutableJWKSet<>(keys));
    }

    @Override
    public List<? extends Key> selectJWSKeys(JWSHeader header, SecurityContext context) throws KeySourceException {
        JWSAlgorithm algorithm = header.getAlgorithm();
        if (!JdkEd25519Verifier.ALGORITHMS.contains(algorithm)) {
            return nimbus.selectJWSKeys(header, context);
        }
        if (!allowed.contains(algorithm)) {
            return List.of();
        }
        JWKMatcher matcher = JWKMatcher.forJWSHeader(header);
        if (matcher == null) {
            return List.of();
        }
        List<JWK> matches = new JWKSelector(matcher).select(keys);
        List<PublicKey> selected = new ArrayList<>();
        JOSEException unusable = null;
        for (JWK jwk : matches) {
            if (jwk instanceof OctetKeyPair okp) {
                try {
                    selected.add(JdkEd25519Verifier.publicKey(okp));
                } catch (JOSEException e) {
                    unusable = e;
                }
            }
        }
        if (selected.isEmpty() && unusable != null) {
            // The issuer published a key for this token that we cannot use (e.g. Ed448): say so, rather than
            // calling the signature invalid.
            throw new KeySourceException(unusable.getMessage(), unusable);
        }
        return selected;
    }

    /** Verifiers for the keys {@link #selectJWSKeys} returns. */
    static final class VerifierFactory implements JWSVerifierFactory {

        private final DefaultJWSVerifierFactory nimbus = new DefaultJWSVerifierFactory();
        private final Set<JWSAlgorithm> algorithms;

        VerifierFactory() {
            Set<JWSAlgorithm> all = new HashSet<>(nimbus.supportedJWSAlgorithms());
            all.addAll(JdkEd25519Verifier.ALGORITHMS);
            algorithms = Set.copyOf(all);
        }

        @Override
        public JWSVerifier createJWSVerifier(JWSHeader header, Key key) throws JOSEException {
            if (JdkEd25519Verifier.ALGORITHMS.contains(header.getAlgorithm())) {
                if (!(key instanceof EdECPublicKey)) {
                    throw new JOSEException("an " + header.getAlgorithm() + " signature needs an Ed25519 public key");
                }
                try {
                    return new JdkEd25519Verifier((PublicKey) key);
                } catch (IllegalArgumentException e) {
                    throw new JOSEException(e.getMessage(), e);
                }
            }
            return nimbus.createJWSVerifier(header, key);
        }

        @Override
        public Set<JWSAlgorithm> supportedJWSAlgorithms() {
            return algorithms;
        }

        @Override
        public JCAContext getJCAContext() {
            return nimbus.getJCAContext();
        }
    }
}
