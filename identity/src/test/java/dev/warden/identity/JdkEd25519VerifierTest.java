package dev.warden.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSObject;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.util.Base64URL;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Known answers from RFC 8037 appendix A.4, so the JDK-based verifier is checked against the spec, not itself. */
class JdkEd25519VerifierTest {

    private static final String RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    private static final String RFC8037_JWS = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
            + "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

    private static JdkEd25519Verifier rfcVerifier() throws JOSEException {
        OctetKeyPair jwk = new OctetKeyPair.Builder(Curve.Ed25519, new Base64URL(RFC8037_X)).build();
        return new JdkEd25519Verifier(JdkEd25519Verifier.publicKey(jwk));
    }

    @Test
    void rfc8037ExampleSignatureVerifies() throws Exception {
        JWSObject jws = JWSObject.parse(RFC8037_JWS);
        assertEquals("Example of Ed25519 signing", jws.getPayload().toString());
        assertTrue(jws.verify(rfcVerifier()));
    }

    @Test
    void changedPayloadOrSignatureDoesNotVerify() throws Exception {
        String[] parts = RFC8037_JWS.split("\\.");
        JWSObject otherPayload = JWSObject.parse(parts[0] + "." + Base64URL.encode("Example of Ed25519 signinG")
                + "." + parts[2]);
        assertFalse(otherPayload.verify(rfcVerifier()));
        byte[] signature = new Base64URL(parts[2]).decode();
        signature[10] ^= 1;
        JWSObject otherSignature = JWSObject.parse(parts[0] + "." + parts[1] + "." + Base64URL.encode(signature));
        assertFalse(otherSignature.verify(rfcVerifier()));
        JWSObject truncated = JWSObject.parse(parts[0] + "." + parts[1] + "." + parts[2].substring(0, 40));
        assertFalse(truncated.verify(rfcVerifier()));
    }

    @Test
    void keysThatAreNotEd25519AreRejected() {
        OctetKeyPair ed448 = new OctetKeyPair.Builder(Curve.Ed448, Base64URL.encode(new byte[57])).build();
        assertEquals("OKP key curve Ed448 is not supported",
                assertThrows(JOSEException.class, () -> JdkEd25519Verifier.publicKey(ed448)).getMessage());
        OctetKeyPair shortKey = new OctetKeyPair.Builder(Curve.Ed25519, Base64URL.encode(new byte[31])).build();
        assertEquals("Ed25519 key is 31 bytes, not 32",
                assertThrows(JOSEException.class, () -> JdkEd25519Verifier.publicKey(shortKey)).getMessage());
    }

    @Test
    void criticalHeaderParametersAreNotUnderstoodSoTheSignatureIsRefused() throws Exception {
        JWSObject jws = JWSObject.parse(RFC8037_JWS);
        JWSHeader withCrit = new JWSHeader.Builder(JWSAlgorithm.EdDSA).criticalParams(Set.of("exp"))
                .customParam("exp", 1).build();
        assertFalse(rfcVerifier().verify(withCrit, jws.getSigningInput(), jws.getSignature()));
    }
}
