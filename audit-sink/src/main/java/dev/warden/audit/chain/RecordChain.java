package dev.warden.audit.chain;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.warden.audit.event.AuditEvent;
import dev.warden.audit.event.CanonicalJson;
import dev.warden.audit.event.EventIds;
import dev.warden.audit.event.RecordTemplate;
import dev.warden.audit.event.Timestamps;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.UUID;

/**
 * Assigns {@code seq} and {@code prev} and turns events into chained records; also builds the log's own
 * records, {@code checkpoint} and {@code recovery}. Not thread-safe: one writer owns it.
 *
 * <p>A checkpoint with {@code seq = n} signs {@code "warden-audit-checkpoint/1\n" + (n-1) + "\n" + prev}, i.e.
 * the seq and hash of the record just before it; since every record names its predecessor's hash, that one
 * signature vouches for every record from the first up to the checkpoint. A chain that has a name (the
 * instance's {@code audit.instance}) signs {@code "warden-audit-checkpoint/2\n" + chain + "\n" + (n-1) + "\n" + prev}
 * instead, and its checkpoints carry {@code "chain"}: where several proxies share a store and one signing key, the
 * records of one copied under another's name are then told apart by the signature, not only by a label.
 */
public final class RecordChain {

    public static final String GENESIS = "0".repeat(64);
    public static final String CHECKPOINT = "checkpoint";
    public static final String RECOVERY = "recovery";
    /** The field that marks a clean stop's last checkpoint; its signature covers the mark. */
    public static final String FINAL = "final";
    /** The field that names a checkpoint's chain; its signature covers the name. */
    public static final String CHAIN = "chain";

    private long lastSeq;
    /** The last record's hash as 64 lowercase hex digits, the bytes the next record's {@code prev} holds. */
    private final byte[] lastHex = new byte[64];
    /** The same as text, made when asked for (checkpoints, resumes), not per record. */
    private String lastHash;
    /** Reused: looking the algorithm up costs more than hashing a record. */
    private final MessageDigest digest = sha256();
    /** The chain's name, which its checkpoints sign; null: checkpoints of the first format, naming none. */
    private final String name;

    /** A chain whose checkpoints name no chain (the first format: tools, benchmarks, older logs' tests). */
    public RecordChain(long lastSeq, String lastHash) {
        this(lastSeq, lastHash, null);
    }

    /** A chain whose checkpoints name and sign {@code name} (the instance's {@code audit.instance}). */
    public RecordChain(long lastSeq, String lastHash, String name) {
        this.name = name;
        if (lastHash.length() != 64) {
            throw new IllegalArgumentException("a hash is 64 hex digits: " + lastHash);
        }
        this.lastSeq = lastSeq;
        this.lastHash = lastHash;
        for (int i = 0; i < 64; i++) {
            lastHex[i] = (byte) lastHash.charAt(i);
        }
    }

    public long lastSeq() {
        return lastSeq;
    }

    public String lastHash() {
        if (lastHash == null) {
            lastHash = new String(lastHex, StandardCharsets.US_ASCII);
        }
        return lastHash;
    }

    public ChainedRecord append(AuditEvent event) {
        return append(RecordTemplate.of(event, lastSeq + 1));
    }

    /**
     * Links a record serialized elsewhere: writes {@code prev} and {@code seq} into its gaps, then hashes it. The
     * hash goes into the next record as hex straight from the digest, without a String.
     */
    public ChainedRecord append(RecordTemplate record) {
        byte[] line = record.link(lastHex, lastSeq + 1);
        digest.update(line);
        byte[] sha = digest.digest();
        lastSeq++;
        hex(sha, lastHex);
        lastHash = null;
        return new ChainedRecord(lastSeq, record.type(), record.session(), record.ts(), line, sha);
    }

    private static void hex(byte[] sha, byte[] out) {
        for (int i = 0; i < sha.length; i++) {
            int pair = (sha[i] & 0xFF) << 1;
            out[2 * i] = HEX_PAIRS[pair];
            out[2 * i + 1] = HEX_PAIRS[pair + 1];
        }
    }

    /** The two lowercase hex digits of every byte value, one lookup per byte. */
    private static final byte[] HEX_PAIRS = new byte[512];

    static {
        byte[] digits = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
        for (int b = 0; b < 256; b++) {
            HEX_PAIRS[2 * b] = digits[b >> 4];
            HEX_PAIRS[2 * b + 1] = digits[b & 0xF];
        }
    }

    /** A signed checkpoint over everything before it. */
    public ChainedRecord checkpoint(SigningKey key) {
        return checkpoint(key, false);
    }

    /**
     * The checkpoint a clean stop ends with ({@code "final":true}, and the signature covers that mark): nothing
     * may follow it but the checkpoint the next start writes first, so records appended to a stopped log are
     * never taken for a crash's unsigned tail.
     */
    public ChainedRecord finalCheckpoint(SigningKey key) {
        return checkpoint(key, true);
    }

    private ChainedRecord checkpoint(SigningKey key, boolean last) {
        Instant now = Timestamps.now();
        ObjectNode record = header(EventIds.next(), now, AuditEvent.NO_SESSION, CHECKPOINT);
        record.put("covers_seq", lastSeq);
        if (last) {
            record.put(FINAL, true);
        }
        if (name != null) {
            record.put(CHAIN, name);
        }
        record.put("key_id", key.id());
        record.put("signature", Base64.getEncoder().encodeToString(key.sign(signedText(name, lastSeq, lastHash(),
                last))));
        return seal(record, CHECKPOINT, AuditEvent.NO_SESSION, now);
    }

    /**
     * The first record after a restart that found the log unfinished (torn bytes at the end of files, or records
     * after the last checkpoint), or after a write failure that left torn bytes. It names both; the writer puts a
     * checkpoint right after it, which signs the tail it names.
     */
    public ChainedRecord recovery(List<TornTail> torn, UnsignedTail unsigned) {
        Instant now = Timestamps.now();
        ObjectNode record = header(EventIds.next(), now, AuditEvent.NO_SESSION, RECOVERY);
        ArrayNode array = record.putArray("torn");
        for (TornTail t : torn) {
            t.write(array.addObject());
        }
        if (!unsigned.isEmpty()) {
            unsigned.write(record.putObject("unsigned"));
        }
        return seal(record, RECOVERY, AuditEvent.NO_SESSION, now);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }

    public static byte[] signedText(long seq, String hash) {
        return signedText(seq, hash, false);
    }

    /** A final checkpoint's text ends in {@code "\nfinal"}: removing the mark breaks its signature. */
    public static byte[] signedText(long seq, String hash, boolean last) {
        return signedText(null, seq, hash, last);
    }

    /**
     * {@code chain} null: the first format, which names no chain; otherwise the second, which signs the name (an
     * instance name is ASCII letters, digits, '.', '_' and '-', so it cannot hold the line break that separates it).
     */
    public static byte[] signedText(String chain, long seq, String hash, boolean last) {
        String head = chain == null ? "warden-audit-checkpoint/1\n" : "warden-audit-checkpoint/2\n" + chain + "\n";
        return (head + seq + "\n" + hash + (last ? "\nfinal" : "")).getBytes(StandardCharsets.UTF_8);
    }

    public static boolean verifySignature(PublicKey key, long seq, String hash, byte[] signature) {
        return verifySignature(key, seq, hash, signature, false);
    }

    public static boolean verifySignature(PublicKey key, long seq, String hash, byte[] signature, boolean last) {
        return verifySignature(key, null, seq, hash, signature, last);
    }

    /** {@code chain} null: a checkpoint of the first format, which names no chain. */
    public static boolean verifySignature(PublicKey key, String chain, long seq, String hash, byte[] signature,
                                          boolean last) {
        try {
            Signature verifier = Signature.getInstance("Ed25519");
            verifier.initVerify(key);
            verifier.update(signedText(chain, seq, hash, last));
            return verifier.verify(signature);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return false;
        }
    }

    private ObjectNode header(UUID id, Instant ts, String session, String type) {
        ObjectNode record = CanonicalJson.object();
        record.put("schema_version", AuditEvent.SCHEMA_VERSION);
        record.put("id", id.toString());
        record.put("ts", Timestamps.format(ts));
        record.put("session", session);
        record.put("seq", lastSeq + 1);
        record.put("prev", lastHash());
        record.put("type", type);
        return record;
    }

    private ChainedRecord seal(ObjectNode record, String type, String session, Instant ts) {
        byte[] line = CanonicalJson.encode(record);
        byte[] sha = digest.digest(line);
        lastSeq++;
        hex(sha, lastHex);
        lastHash = null;
        return new ChainedRecord(lastSeq, type, session, ts, line, sha);
    }

    /** For tests and tools that need to sign with a bare key. */
    static byte[] sign(PrivateKey key, byte[] text) throws GeneralSecurityException {
        Signature signer = Signature.getInstance("Ed25519");
        signer.initSign(key);
        signer.update(text);
        return signer.sign();
    }
}
