package dev.warden.audit.sink;

import java.io.IOException;

/**
 * A log directory holds records after a clean stop's final checkpoint that no Warden start wrote: someone
 * appended them. The log refuses to continue it (signing them would make them part of the proven log).
 */
public final class RecordsAfterFinalCheckpointException extends IOException {

    private final String where;

    public RecordsAfterFinalCheckpointException(String where, String message) {
        super(message);
        this.where = where;
    }

    /** {@code file:line} of the first such record. */
    public String where() {
        return where;
    }
}
