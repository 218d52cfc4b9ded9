package dev.warden.audit.event;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.Objects;
import java.util.UUID;

/** {@code session.start}: an authenticated client was admitted to an environment. */
public record SessionStart(UUID id, Instant ts, String session, AuditIdentity identity, ClientInfo client,
                           String environment, String policyVersion) implements AuditEvent {

    public SessionStart {
        id = Fields.id(id);
        ts = Fields.ts(ts);
        session = Fields.session(session);
        Objects.requireNonNull(identity, "identity");
        client = client == null ? new ClientInfo("", null, null) : client;
        environment = Fields.required(environment, "environment");
        policyVersion = policyVersion == null ? "" : policyVersion;
    }

    public static SessionStart of(String session, AuditIdentity identity, ClientInfo client, String environment,
                                  String policyVersion) {
        return new SessionStart(null, null, session, identity, client, environment, policyVersion);
    }

    @Override
    public String type() {
        return "session.start";
    }

    @Override
    public void writeCanonical(CanonicalWriter out) {
        client.write(out.object("client")).end();
        out.string("environment", environment);
        identity.write(out.object("identity")).end();
        out.string("policy_version", policyVersion);
    }

    @Override
    public void writeFields(ObjectNode record) {
        identity.write(record.putObject("identity"));
        client.write(record.putObject("client"));
        record.put("environment", environment);
        record.put("policy_version", policyVersion);
    }
}
