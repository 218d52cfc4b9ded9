package dev.warden.audit.witness;

import java.io.IOException;
import java.util.Optional;

/** A place outside the log's trust domain that keeps the heads of one or more chains. */
public interface WitnessStore extends AutoCloseable {

    /** For messages: {@code postgres:warden_audit_witness}, {@code kafka:topic}, {@code http:https://…}. */
    String name();

    /** Stores a head; returns once the store has it durably. */
    void publish(WitnessHead head) throws IOException;

    /** The head with the highest seq for {@code chain}, if any. */
    Optional<WitnessHead> latest(String chain) throws IOException;

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
