package dev.warden.audit.chain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Checkpoints are signed with BouncyCastle; what they sign must be exactly what the JDK's Ed25519 signs. */
class SigningKeyTest {

    @Test
    void signaturesAreTheJdksBytesAndVerifyWithTheJdk(@TempDir Path dir) throws Exception {
        long seed = System.nanoTime();
        System.out.println("SigningKeyTest seed=" + seed);
        Random random = new Random(seed);
        for (int k = 0; k < 4; k++) {
            Path file = dir.resolve("key-" + k + ".pem");
            SigningKey generated = SigningKey.loadOrGenerate(file);
            // The key as read back from its PEM file, as a restarted Warden reads it.
            SigningKey key = SigningKey.load(file);
            PrivateKey jdkKey = privateKey(Files.readString(file, StandardCharsets.US_ASCII));
            for (int i = 0; i < 25; i++) {
                byte[] hash = new byte[32];
                random.nextBytes(hash);
                byte[] text = RecordChain.signedText(1 + random.nextInt(1_000_000), HexFormat.of().formatHex(hash));
                byte[] signature = key.sign(text);
                assertArrayEquals(RecordChain.sign(jdkKey, text), signature, "seed " + seed);
                assertArrayEquals(generated.sign(text), signature, "seed " + seed);
                long seq = 1 + random.nextInt(1_000_000);
                String hex = HexFormat.of().formatHex(hash);
                byte[] checkpoint = key.sign(RecordChain.signedText(seq, hex));
                assertTrue(RecordChain.verifySignature(key.publicKey(), seq, hex, checkpoint), "seed " + seed);
                assertFalse(RecordChain.verifySignature(key.publicKey(), seq + 1, hex, checkpoint), "seed " + seed);
            }
        }
    }

    private static PrivateKey privateKey(String pem) throws Exception {
        String body = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        return KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder()
                .decode(body)));
    }
}
