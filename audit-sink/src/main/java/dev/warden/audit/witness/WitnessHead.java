package dev.warden.audit.witness;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.warden.audit.chain.ChainedRecord;
import dev.warden.audit.chain.SigningKey;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.warden.audit.event.Timestamps;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.Signature;
import java.time.Instant;
import java.util.Base64;

/**
 * One signed checkpoint as the witness keeps it: the chain (instance) it belongs to, the checkpoint record's
 * seq and hash, its time, and a signature by the log's key over all of these. The signature makes a head
 * self-authenticating: whoever can write to the witness store cannot forge a head without the signing key.
 */
public record WitnessHead(String chain, long seq, String hash, Instant ts, String keyId, String signature) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public static WitnessHead sign(String chain, ChainedRecord checkpoint, SigningKey key) {
        byte[] signature = key.sign(signedText(chain, checkpoint.seq(), checkpoint.hash(), checkpoint.ts()));
        return new WitnessHead(chain, checkpoint.seq(), checkpoint.hash(), checkpoint.ts(), key.id(),
                Base64.getEncoder().encodeToString(signature));
    }

    /** Distinct from the checkpoint's own signed text, so neither signature can stand for the other. */
    static byte[] signedText(String chain, long seq, String hash, Instant ts) {
        return ("warden-audit-witness/1\n" + chain + "\n" + seq + "\n" + hash + "\n" + Timestamps.format(ts))
                .getBytes(StandardCharsets.UTF_8);
    }

    public boolean verifies(PublicKey key) {
        try {
            Signature verifier = Signature.getInstance("Ed25519");
            verifier.initVerify(key);
            verifier.update(signedText(chain, seq, hash, ts));
            return verifier.verify(Base64.getDecoder().decode(signature));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return false;
        }
    }

    /** Signed by one of {@code keys} (by id): whoever can write to a witness store can add heads, not sign them. */
    public boolean verifiedBy(java.util.Map<String, PublicKey> keys) {
        PublicKey key = keys.get(keyId);
        return key != null && verifies(key);
    }

    public byte[] toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("chain", chain);
        o.put("seq", seq);
        o.put("hash", hash);
        o.put("ts", Timestamps.format(ts));
        o.put("key_id", keyId);
        o.put("signature", signature);
        return o.toString().getBytes(StandardCharsets.UTF_8);
    }

    public static WitnessHead fromJson(byte[] json) {
        try {
            return fromJson(JSON.readTree(json));
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("not a witness head: " + e.getMessage(), e);
        }
    }

    public static WitnessHead fromJson(JsonNode o) {
        if (!o.path("seq").isIntegralNumber() || !o.path("hash").isTextual() || !o.path("ts").isTextual()) {
            throw new IllegalArgumentException("not a witness head: " + o);
        }
        return new WitnessHead(o.path("chain").asText(""), o.path("seq").asLong(), o.path("hash").asText(),
                Timestamps.parse(o.path("ts").asText()), o.path("key_id").asText(""),
                o.path("signature").asText(""));
    }

    @Override
    public String toString() {
        return "seq " + seq + " (" + Timestamps.format(ts) + ", hash " + hash.substring(0, Math.min(12, hash.length()))
                + "…)";
    }
}
