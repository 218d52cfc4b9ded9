package dev.warden.audit.event;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * {@code query}: a statement and what Warden decided about it, written (and durable) before the statement is
 * forwarded. {@code username} and {@code environment} repeat the session's, so that every query line stands
 * alone for {@code grep} and for filters. {@code statement} is taken as given: the caller passes the text with
 * literals already replaced when the policy says {@code statement_literals: redact}, and then no parameters.
 *
 * <p>{@code statementBytes}: the exact bytes the client sent as the statement text, kept when they are not valid
 * UTF-8 (a client encoding such as SJIS, or bytes no encoding accepts), where {@code statement} can only be a
 * decoding of them. Written as {@code statement_base64} (standard Base64) only then, so the record shows what
 * ran losslessly; absent for UTF-8 texts, whose {@code statement} is already exact.
 */
public record QueryEvent(UUID id, Instant ts, String session, String username, String environment,
                         String statement, String fingerprint, List<String> kinds, List<String> tablesRead,
                         List<String> tablesWritten, List<String> columnsRead, List<String> columnsWritten,
                         Decision decision, String rule, String approvalId, String policyVersion, Protocol protocol,
                         String preparedName, List<String> parameters, byte[] statementBytes)
        implements AuditEvent {

    public enum Decision {
        ALLOW("allow"), BLOCK("block"), APPROVAL("approval");

        private final String text;

        Decision(String text) {
            this.text = text;
        }

        public String text() {
            return text;
        }
    }

    public enum Protocol {
        SIMPLE("simple"), EXTENDED("extended");

        private final String text;

        Protocol(String text) {
            this.text = text;
        }

        public String text() {
            return text;
        }
    }

    public QueryEvent {
        id = Fields.id(id);
        ts = Fields.ts(ts);
        session = Fields.session(session);
        username = username == null ? "" : username;
        environment = environment == null ? "" : environment;
        statement = Fields.required(statement, "statement");
        fingerprint = fingerprint == null ? "" : fingerprint;
        kinds = Fields.list(kinds);
        tablesRead = Fields.list(tablesRead);
        tablesWritten = Fields.list(tablesWritten);
        columnsRead = Fields.list(columnsRead);
        columnsWritten = Fields.list(columnsWritten);
        decision = decision == null ? Decision.ALLOW : decision;
        policyVersion = policyVersion == null ? "" : policyVersion;
        protocol = protocol == null ? Protocol.SIMPLE : protocol;
        parameters = parameters == null ? null : List.copyOf(parameters);
        statementBytes = statementBytes == null ? null : statementBytes.clone();
    }

    /** A copy of the bytes received, or null when the statement was valid UTF-8 (or the caller had none). */
    @Override
    public byte[] statementBytes() {
        return statementBytes == null ? null : statementBytes.clone();
    }

    /**
     * {@code bytes} when they are not valid UTF-8, else null: what {@link Builder#received} keeps. Text that
     * decodes as UTF-8 is carried exactly by {@code statement} already.
     */
    public static byte[] unlessUtf8(byte[] bytes) {
        if (bytes == null) {
            return null;
        }
        boolean ascii = true;
        for (byte b : bytes) {
            if (b < 0) {
                ascii = false;
                break;
            }
        }
        if (ascii) {
            return null; // ASCII is UTF-8: most statements end here, without a decoder
        }
        try {
            java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                    .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(bytes));
            return null;
        } catch (java.nio.charset.CharacterCodingException e) {
            return bytes;
        }
    }

    /** {@code QueryEvent.builder(session, "alice@example.com", "prod").statement(sql)…build()}. */
    public static Builder builder(String session, String username, String environment) {
        return new Builder(session, username, environment);
    }

    @Override
    public String type() {
        return "query";
    }

    private static final CanonicalWriter.Key APPROVAL_ID = CanonicalWriter.Key.of("approval_id");
    private static final CanonicalWriter.Key COLUMNS_READ = CanonicalWriter.Key.of("columns_read");
    private static final CanonicalWriter.Key COLUMNS_WRITTEN = CanonicalWriter.Key.of("columns_written");
    private static final CanonicalWriter.Key DECISION = CanonicalWriter.Key.of("decision");
    private static final CanonicalWriter.Key ENVIRONMENT = CanonicalWriter.Key.of("environment");
    private static final CanonicalWriter.Key FINGERPRINT = CanonicalWriter.Key.of("fingerprint");
    private static final CanonicalWriter.Key KINDS = CanonicalWriter.Key.of("kinds");
    private static final CanonicalWriter.Key PARAMETERS = CanonicalWriter.Key.of("parameters");
    private static final CanonicalWriter.Key POLICY_VERSION = CanonicalWriter.Key.of("policy_version");
    private static final CanonicalWriter.Key PREPARED_NAME = CanonicalWriter.Key.of("prepared_name");
    private static final CanonicalWriter.Key PROTOCOL = CanonicalWriter.Key.of("protocol");
    private static final CanonicalWriter.Key RULE = CanonicalWriter.Key.of("rule");
    private static final CanonicalWriter.Key STATEMENT = CanonicalWriter.Key.of("statement");
    private static final CanonicalWriter.Key STATEMENT_BASE64 = CanonicalWriter.Key.of("statement_base64");
    private static final CanonicalWriter.Key TABLES_READ = CanonicalWriter.Key.of("tables_read");
    private static final CanonicalWriter.Key TABLES_WRITTEN = CanonicalWriter.Key.of("tables_written");
    private static final CanonicalWriter.Key USERNAME = CanonicalWriter.Key.of("username");

    /**
     * Stable members are the ones a session repeats by identity (its username and environment, the policy
     * version, a statement shape's fingerprint and fact lists, the enums' texts); the statement, its parameters
     * and names that may be made afresh per message are written each time.
     */
    @Override
    public void writeCanonical(CanonicalWriter out) {
        out.string(APPROVAL_ID, approvalId)
                .stableStrings(COLUMNS_READ, columnsRead)
                .stableStrings(COLUMNS_WRITTEN, columnsWritten)
                .stableString(DECISION, decision.text())
                .stableString(ENVIRONMENT, environment)
                .stableString(FINGERPRINT, fingerprint)
                .stableStrings(KINDS, kinds);
        if (parameters == null) {
            out.string(PARAMETERS, null);
        } else {
            out.strings(PARAMETERS, parameters);
        }
        out.stableString(POLICY_VERSION, policyVersion)
                .string(PREPARED_NAME, preparedName)
                .stableString(PROTOCOL, protocol.text())
                .stableString(RULE, rule)
                .string(STATEMENT, statement);
        if (statementBytes != null) {
            out.string(STATEMENT_BASE64, java.util.Base64.getEncoder().encodeToString(statementBytes));
        }
        out.stableStrings(TABLES_READ, tablesRead)
                .stableStrings(TABLES_WRITTEN, tablesWritten)
                .stableString(USERNAME, username);
    }

    @Override
    public void writeFields(ObjectNode record) {
        record.put("username", username);
        record.put("environment", environment);
        record.put("statement", statement);
        record.put("fingerprint", fingerprint);
        Fields.strings(record, "kinds", kinds);
        Fields.strings(record, "tables_read", tablesRead);
        Fields.strings(record, "tables_written", tablesWritten);
        Fields.strings(record, "columns_read", columnsRead);
        Fields.strings(record, "columns_written", columnsWritten);
        record.put("decision", decision.text());
        record.put("rule", rule);
        record.put("approval_id", approvalId);
        record.put("policy_version", policyVersion);
        record.put("protocol", protocol.text());
        record.put("prepared_name", preparedName);
        if (parameters == null) {
            record.putNull("parameters");
        } else {
            Fields.strings(record, "parameters", parameters);
        }
        if (statementBytes != null) {
            record.put("statement_base64", java.util.Base64.getEncoder().encodeToString(statementBytes));
        }
    }

    /** Collects the fields as the proxy learns them; everything but the statement has a default. */
    public static final class Builder {
        private final String session;
        private final String username;
        private final String environment;
        private String statement;
        private String fingerprint;
        private List<String> kinds;
        private List<String> tablesRead;
        private List<String> tablesWritten;
        private List<String> columnsRead;
        private List<String> columnsWritten;
        private Decision decision = Decision.ALLOW;
        private String rule;
        private String approvalId;
        private String policyVersion;
        private Protocol protocol = Protocol.SIMPLE;
        private String preparedName;
        private List<String> parameters;
        private byte[] statementBytes;
        private Instant ts;

        private Builder(String session, String username, String environment) {
            this.session = session;
            this.username = username;
            this.environment = environment;
        }

        public Builder statement(String statement) {
            this.statement = statement;
            return this;
        }

        public Builder fingerprint(String fingerprint) {
            this.fingerprint = fingerprint;
            return this;
        }

        public Builder kinds(List<String> kinds) {
            this.kinds = kinds;
            return this;
        }

        public Builder tables(List<String> read, List<String> written) {
            this.tablesRead = read;
            this.tablesWritten = written;
            return this;
        }

        public Builder columns(List<String> read, List<String> written) {
            this.columnsRead = read;
            this.columnsWritten = written;
            return this;
        }

        public Builder allowed() {
            this.decision = Decision.ALLOW;
            return this;
        }

        public Builder blocked(String rule) {
            this.decision = Decision.BLOCK;
            this.rule = rule;
            return this;
        }

        public Builder awaitingApproval(String rule, String approvalId) {
            this.decision = Decision.APPROVAL;
            this.rule = rule;
            this.approvalId = approvalId;
            return this;
        }

        public Builder decision(Decision decision, String rule, String approvalId) {
            this.decision = decision;
            this.rule = rule;
            this.approvalId = approvalId;
            return this;
        }

        public Builder policyVersion(String policyVersion) {
            this.policyVersion = policyVersion;
            return this;
        }

        public Builder simpleProtocol() {
            this.protocol = Protocol.SIMPLE;
            this.preparedName = null;
            return this;
        }

        /** Extended protocol; {@code parameters} null unless the policy keeps literals. */
        public Builder extendedProtocol(String preparedName, List<String> parameters) {
            this.protocol = Protocol.EXTENDED;
            this.preparedName = preparedName;
            this.parameters = parameters;
            return this;
        }

        /**
         * The exact bytes of the statement text as received; kept (as {@code statement_base64}) only when they
         * are not valid UTF-8.
         */
        public Builder received(byte[] bytes) {
            this.statementBytes = unlessUtf8(bytes);
            return this;
        }

        public Builder at(Instant ts) {
            this.ts = ts;
            return this;
        }

        public QueryEvent build() {
            return new QueryEvent(null, ts, session, username, environment, statement, fingerprint, kinds,
                    tablesRead, tablesWritten, columnsRead, columnsWritten, decision, rule, approvalId,
                    policyVersion, protocol, preparedName, parameters, statementBytes);
        }
    }
}
