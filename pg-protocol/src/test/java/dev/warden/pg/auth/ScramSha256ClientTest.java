package dev.warden.pg.auth;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ScramSha256ClientTest {
    // RFC 7677 section 3
    private static final String CLIENT_NONCE = "rOprNGfwEbeRWgbNEkqO";
    private static final String SERVER_FIRST =
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    private static final String CLIENT_FINAL = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
            + "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    private static final String SERVER_FINAL = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    @Test
    void reproducesTheRfc7677Exchange() {
        ScramSha256Client client = new ScramSha256Client("pencil", "user", CLIENT_NONCE);
        assertEquals("n,,n=user,r=rOprNGfwEbeRWgbNEkqO", text(client.clientFirstMessage()));
        assertEquals(CLIENT_FINAL, text(client.clientFinalMessage(utf8(SERVER_FIRST))));
        assertDoesNotThrow(() -> client.verifyServerFinal(utf8(SERVER_FINAL)));
    }

    @Test
    void aRememberedSaltedPasswordServesOnlyTheSamePasswordSaltAndCount() {
        // Each exchange twice: the second finds the first's SaltedPassword and must give the same proof.
        for (int round = 0; round < 2; round++) {
            assertEquals(CLIENT_FINAL, text(new ScramSha256Client("pencil", "user", CLIENT_NONCE)
                    .clientFinalMessage(utf8(SERVER_FIRST))));
            assertTrue(!CLIENT_FINAL.equals(text(new ScramSha256Client("pencil2", "user", CLIENT_NONCE)
                    .clientFinalMessage(utf8(SERVER_FIRST)))));
            assertTrue(!CLIENT_FINAL.equals(text(new ScramSha256Client("pencil", "user", CLIENT_NONCE)
                    .clientFinalMessage(utf8(SERVER_FIRST.replace("i=4096", "i=4097"))))));
            assertTrue(!CLIENT_FINAL.equals(text(new ScramSha256Client("pencil", "user", CLIENT_NONCE)
                    .clientFinalMessage(utf8(SERVER_FIRST.replace("s=W22Z", "s=X22Z"))))));
        }
        ScramSha256Client.SaltedPasswords two = new ScramSha256Client.SaltedPasswords(2);
        byte[] salt = {1, 2, 3};
        byte[] first = two.get(utf8("a"), salt, 4);
        two.get(utf8("b"), salt, 4);
        two.get(utf8("c"), salt, 4);
        assertEquals(2, two.size());
        assertTrue(java.util.Arrays.equals(first, two.get(utf8("a"), salt, 4)));
    }

    @Test
    void wrongServerSignatureIsRejected() {
        ScramSha256Client client = new ScramSha256Client("pencil", "user", CLIENT_NONCE);
        client.clientFinalMessage(utf8(SERVER_FIRST));
        AuthenticationFailedException e = assertThrows(AuthenticationFailedException.class,
                () -> client.verifyServerFinal(utf8("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")));
        assertEquals("upstream SCRAM server signature mismatch", e.getMessage());
    }

    @Test
    void wrongPasswordGivesADifferentProofAndSignature() {
        ScramSha256Client client = new ScramSha256Client("pencil2", "user", CLIENT_NONCE);
        assertTrue(!CLIENT_FINAL.equals(text(client.clientFinalMessage(utf8(SERVER_FIRST)))));
        assertThrows(AuthenticationFailedException.class, () -> client.verifyServerFinal(utf8(SERVER_FINAL)));
    }

    @Test
    void serverErrorIsReported() {
        ScramSha256Client client = new ScramSha256Client("pencil", "user", CLIENT_NONCE);
        client.clientFinalMessage(utf8(SERVER_FIRST));
        AuthenticationFailedException e = assertThrows(AuthenticationFailedException.class,
                () -> client.verifyServerFinal(utf8("e=invalid-proof")));
        assertEquals("upstream reported SCRAM error: e=invalid-proof", e.getMessage());
    }

    @Test
    void serverNonceThatDoesNotExtendOursIsRejected() {
        ScramSha256Client client = new ScramSha256Client("pencil", "user", CLIENT_NONCE);
        AuthenticationFailedException e = assertThrows(AuthenticationFailedException.class,
                () -> client.clientFinalMessage(utf8("r=someoneElsesNonce123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")));
        assertEquals("upstream SCRAM server nonce does not extend the client nonce", e.getMessage());
    }

    @Test
    void serverNonceEqualToOursIsRejected() {
        ScramSha256Client client = new ScramSha256Client("pencil", "user", CLIENT_NONCE);
        assertThrows(AuthenticationFailedException.class,
                () -> client.clientFinalMessage(utf8("r=" + CLIENT_NONCE + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")));
    }

    @Test
    void nonPositiveIterationCountIsRejected() {
        ScramSha256Client client = new ScramSha256Client("pencil", "user", CLIENT_NONCE);
        assertThrows(AuthenticationFailedException.class,
                () -> client.clientFinalMessage(utf8("r=" + CLIENT_NONCE + "xyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0")));
    }

    @Test
    void missingSaltIsRejected() {
        ScramSha256Client client = new ScramSha256Client("pencil", "user", CLIENT_NONCE);
        assertThrows(AuthenticationFailedException.class,
                () -> client.clientFinalMessage(utf8("r=" + CLIENT_NONCE + "xyz,i=4096")));
    }

    @Test
    void verifyingBeforeTheFinalMessageIsAProgrammingError() {
        ScramSha256Client client = new ScramSha256Client("pencil");
        assertThrows(IllegalStateException.class, () -> client.verifyServerFinal(utf8(SERVER_FINAL)));
    }

    @Test
    void publicConstructorSendsAnEmptyUserAndARandomNonce() {
        String first = text(new ScramSha256Client("pencil").clientFirstMessage());
        String second = text(new ScramSha256Client("pencil").clientFirstMessage());
        assertTrue(first.startsWith("n,,n=,r="), first);
        assertTrue(first.length() > "n,,n=,r=".length() + 20);
        assertTrue(!first.equals(second), "nonces must differ between exchanges");
    }

    @Test
    void saslPrepMapsNonAsciiSpaceAndNormalizes() {
        // U+00A0 becomes a space; U+2163 (ROMAN NUMERAL FOUR) becomes "IV" under NFKC; U+00AD disappears.
        assertEquals("a bIV", text(SaslPrep.prepare("a\u00A0b\u00AD\u2163")));
        assertEquals("pencil", text(SaslPrep.prepare("pencil")));
    }

    @Test
    void saslPrepFallsBackToRawBytesForProhibitedCharacters() {
        assertEquals("a\u0007b", text(SaslPrep.prepare("a\u0007b")));
    }
}
