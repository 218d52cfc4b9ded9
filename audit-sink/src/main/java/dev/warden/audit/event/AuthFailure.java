package dev.warden.audit.event;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.UUID;

/** {@code auth.failure}: the username the client claimed and why it was refused; never the token itself. */
public record AuthFailure(UUID id, Instant ts, String session, String username, String clientAddress,
                          String reason, String sqlstate) implements AuditEvent {

    public AuthFailure {
        id = Fields.id(id);
        ts = Fields.ts(ts);
        session = Fields.session(session);
        username = username == null ? "" : username;
        clientAddress = clientAddress == null ? "" : clientAddress;
        reason = reason == null ? "" : reason;
        sqlstate = sqlstate == null ? "" : sqlstate;
    }

    public static AuthFailure of(String session, String username, String clientAddress, String reason,
                                 String sqlstate) {
        return new AuthFailure(null, null, session, username, clientAddress, reason, sqlstate);
    }

    @Override
    public String type() {
        return "auth.failure";
    }

    @Override
    public void writeCanonical(CanonicalWriter out) {
        out.string("client_address", clientAddress).string("reason", reason).string("sqlstate", sqlstate)
                .string("username", username);
    }

    @Override
    public void writeFields(ObjectNode record) {
        record.put("username", username);
        record.put("client_address", clientAddress);
        record.put("reason", reason);
        record.put("sqlstate", sqlstate);
    }
}
