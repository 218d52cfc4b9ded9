package dev.warden.audit.event;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * {@code enforcement.mismatch}: the server reported something Warden's analysis of the statement does not
 * explain (another number of statements, another command tag, a change of the session's identity), so the
 * reading that guardrails, approvals, masking and the {@code query} record relied on was wrong. The session is
 * ended when this is written.
 *
 * @param querySeq the {@code seq} of the {@code query} record of the statement that was running (-1: none)
 * @param check what disagreed: {@code statement_count}, {@code command_tag} or {@code parameter_status}
 * @param statement the statement text, as its {@code query} record holds it ("" when none was running)
 * @param warden Warden's reading: one entry per statement it analysed ({@code SELECT}, {@code DROP TABLE})
 * @param server the server's reading: the command tags (or {@code EmptyQueryResponse}, {@code ErrorResponse
 *     <sqlstate>}, {@code name=value} of a ParameterStatus) it reported, in order
 * @param detail one sentence for people
 */
public record EnforcementMismatch(UUID id, Instant ts, String session, String username, String environment,
                                  long querySeq, String check, String statement, List<String> warden,
                                  List<String> server, String detail) implements AuditEvent {

    public EnforcementMismatch {
        id = Fields.id(id);
        ts = Fields.ts(ts);
        session = Fields.session(session);
        username = username == null ? "" : username;
        environment = environment == null ? "" : environment;
        check = Fields.required(check, "check");
        statement = statement == null ? "" : statement;
        warden = Fields.list(warden);
        server = Fields.list(server);
        detail = detail == null ? "" : detail;
    }

    public static EnforcementMismatch of(String session, String username, String environment, long querySeq,
                                         String check, String statement, List<String> warden, List<String> server,
                                         String detail) {
        return new EnforcementMismatch(null, null, session, username, environment, querySeq, check, statement,
                warden, server, detail);
    }

    @Override
    public String type() {
        return "enforcement.mismatch";
    }

    @Override
    public void writeCanonical(CanonicalWriter out) {
        out.string("check", check)
                .string("detail", detail)
                .string("environment", environment)
                .number("query_seq", querySeq)
                .strings("server", server)
                .string("statement", statement)
                .string("username", username)
                .strings("warden", warden);
    }

    @Override
    public void writeFields(ObjectNode record) {
        record.put("username", username);
        record.put("environment", environment);
        record.put("query_seq", querySeq);
        record.put("check", check);
        record.put("statement", statement);
        Fields.strings(record, "warden", warden);
        Fields.strings(record, "server", server);
        record.put("detail", detail);
    }
}
