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

    @Override
    void close();
}
