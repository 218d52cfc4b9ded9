package dev.warden.audit.witness;

import java.io.IOException;
import java.util.Optional;

/** A place outside the log's trust domain that keeps the heads of one or more chains. */
public interface WitnessStore extends AutoCloseable {

    /** For messages: {@code postgres:warden_audit_witness}, {@code kafka:topic}, {@code http:https://…}. */
    String name();

    /**
     * Why this witness may prove less than it seems, as far as the store can tell from where it connects (empty when
     * it sees no reason): a PostgreSQL witness whose table the connecting role can rewrite (it owns the table or its
     * schema, or is a superuser) keeps only the heads its credentials' holders let stand. Asked after a read.
     */
    default Optional<String> caution() {
        return Optional.empty();
    }

    /** Stores a head; returns once the store has it durably. */
    void publish(WitnessHead head) throws IOException;

    /** The head with the highest seq for {@code chain}, if any. */
    Optional<WitnessHead> latest(String chain) throws IOException;

    /**
     * The head with the highest seq for {@code chain} that one of {@code keys} signed. A head that does not verify
     * was written by someone without the key: a start that took it for the log's own refused an intact log for
     * good (the witness forgets no head). When the latest head does not verify, the whole history is read.
     */
    default Optional<WitnessHead> latestSigned(String chain, java.util.Map<String, java.security.PublicKey> keys)
            throws IOException {
        Optional<WitnessHead> latest = latest(chain);
        if (latest.isEmpty() || latest.get().verifiedBy(keys)) {
            return latest;
        }
        WitnessHead signed = null;
        try (Heads heads = heads(chain, 0)) {
            for (WitnessHead head = heads.next(); head != null; head = heads.next()) {
                if (head.verifiedBy(keys) && (signed == null || head.seq() >= signed.seq())) {
                    signed = head;
                }
            }
        }
        return Optional.ofNullable(signed);
    }

    /**
     * Every head the store holds for {@code chain} with a seq of {@code fromSeq} or more, by ascending seq (heads
     * at one seq, from a log that was cut and continued, come one after the other). The witness is a history: a
     * log must agree with all of it, not only with its latest head, which a continued log can pass.
     */
    Heads heads(String chain, long fromSeq) throws IOException;

    /** Heads read one at a time; close when done. */
    interface Heads extends AutoCloseable {

        /** The next head, or null after the last one. */
        WitnessHead next() throws IOException;

        @Override
        void close();

        /** Heads from a list already in seq order (a store read whole). */
        static Heads of(java.util.List<WitnessHead> sorted) {
            java.util.Iterator<WitnessHead> it = sorted.iterator();
            return new Heads() {
                @Override
                public WitnessHead next() {
                    return it.hasNext() ? it.next() : null;
                }

                @Override
                public void close() {
                }
            };
        }
    }

    @Override
    void close();
}
