package dev.warden.proxy.session;

import dev.warden.audit.AuditLog;
import dev.warden.audit.event.AuditEvent;
import dev.warden.audit.event.AuditIdentity;
import dev.warden.audit.event.AuthFailure;
import dev.warden.audit.event.ClientInfo;
import dev.warden.audit.event.EnforcementMismatch;
import dev.warden.audit.event.QueryEvent;
import dev.warden.audit.event.RecordTemplate;
import dev.warden.audit.event.ResultEvent;
import dev.warden.audit.event.RoleSettingsReset;
import dev.warden.audit.event.SessionEnd;
import dev.warden.audit.event.SessionStart;
import dev.warden.identity.Identity;
import dev.warden.proxy.guardrails.Decision;
import dev.warden.proxy.privilege.SettingsReset;
import dev.warden.sql.Analysis;
import dev.warden.sql.ColumnRef;
import dev.warden.sql.StatementFacts;
import io.netty.util.concurrent.EventExecutor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * Turns what a session understood into typed audit events, exactly where it understood it. Query events
 * are returned as futures the session waits on before relaying (write-ahead); the others are appended
 * without waiting, and a failure to write them is logged.
 */
final class SessionAudit {

    private static final Logger log = LoggerFactory.getLogger(SessionAudit.class);

    private final AuditLog audit;
    private final EventExecutor loop;
    private final String session;
    private final String policyVersion;
    private final Function<String, String> statementText;
    private final boolean keepBytes;
    private String username = "";
    private String environment = "";
    /** The bytes of the statement text the next query records describe, when they are not UTF-8. */
    private byte[] received;
    /** The statement texts of query records, for the {@code enforcement.mismatch} record; blocked ones are not kept. */
    private final RecentStatements statements = new RecentStatements();
    /** The result shapes of this session's recent statements, replaced round robin ({@link ResultShape}). */
    private final ResultShape[] shapes = new ResultShape[8];
    private int nextShape;
    /** Logs a failed {@code result} record; one per session rather than a lambda per statement. */
    private final BiConsumer<Long, Throwable> resultWritten = (seq, failure) -> {
        if (failure != null) {
            writeFailed("result", failure);
        }
    };

    /**
     * @param statementText how a statement appears in records when literals are redacted
     * @param keepBytes the policy at connect keeps literals: statements as sent, and the exact bytes of a text
     *     that is not UTF-8 (bytes cannot be redacted). Each statement may bring its own policy
     *     ({@link StatementPolicy}); this is the default for those that do not. Records may keep bytes only
     *     policy keeps literals, since bytes cannot be redacted
     */
    SessionAudit(AuditLog audit, String session, String policyVersion, Function<String, String> statementText,
                 boolean keepBytes) {
        this(audit, null, session, policyVersion, statementText, keepBytes);
    }

    /** @param loop the session's event loop: records appended on it wake the writer once per pass ({@link AuditWake}) */
    SessionAudit(AuditLog audit, EventExecutor loop, String session, String policyVersion,
                 Function<String, String> statementText, boolean keepBytes) {
        this.audit = audit;
        this.loop = loop;
        this.session = session;
        this.policyVersion = policyVersion;
        this.statementText = statementText;
        this.keepBytes = keepBytes;
    }

    /** A statement as records show it, and so as approvers may see it: literals redacted if the policy says so. */
    String shown(String sql) {
        return statementText.apply(sql);
    }

    /**
     * The exact bytes of the statement text that the following query records are about (a Query's text, or
     * the text a Parse prepared), or null when they are valid UTF-8 or unknown.
     */
    void receiving(byte[] textBytes) {
        this.received = textBytes;
    }

    /**
     * How many bytes of a text that is not UTF-8 the next query records hold besides the text (0 for UTF-8): its
     * bytes as {@code statement_base64}.
     */
    long receivedBytes() {
        return received == null ? 0 : 4L * ((received.length + 2) / 3);
    }

    /** A sample approval id for {@link #recordOverhead}: as long as every approval id (a UUID). */
    private static final String SAMPLE_APPROVAL_ID = new java.util.UUID(0, 0).toString();
    /** {@link #recordOverhead}'s answer, and for which policy version. */
    private long overhead = -1;
    private String overheadOf;
    /** Hears the bytes of each result record's column list ({@link #chargeResultsTo}). */
    private java.util.function.LongConsumer resultCharge = bytes -> { };

    /**
     * What a statement's query and result records hold besides what the audit budget counts of the statement
     * itself (its text, values and facts: StatementGate): their ids, times, seq and hash, the session, the
     * identity's name, the environment, the policy version, an approval id and the result's counts, each at its
     * longest. Measured by serializing the two records of an empty statement once per session and policy version:
     * a {@code SELECT 1} grew the log by about 1 KB while the budget counted 75 bytes (attacker pass 20).
     */
    long recordOverhead(String policyVersion) {
        if (overhead < 0 || !policyVersion.equals(overheadOf)) {
            QueryEvent q = QueryEvent.builder(session, username, environment).statement("").fingerprint("")
                    .kinds(List.of()).tables(List.of(), List.of()).columns(List.of(), List.of())
                    .decision(QueryEvent.Decision.APPROVAL, null, SAMPLE_APPROVAL_ID).policyVersion(policyVersion)
                    .extendedProtocol(null, null).build();
            ResultEvent r = ResultEvent.of(session, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE, List.of(),
                    Long.MAX_VALUE, "00000", "", List.of());
            // Each with its newline, and its seq as wide as a seq can be.
            overhead = RecordTemplate.of(q, Long.MAX_VALUE).bytes().length
                    + RecordTemplate.of(r, Long.MAX_VALUE).bytes().length + 2;
            overheadOf = policyVersion;
        }
        return overhead;
    }

    /**
     * Hands {@code charge} the bytes of each result record's column list (names and rules, which the statement's
     * text need not hold: {@code SELECT *}), after the statement ran: the audit budget charges them then.
     */
    void chargeResultsTo(java.util.function.LongConsumer charge) {
        this.resultCharge = charge;
    }

    /** Of a text not recorded, how many characters (or bytes, when not UTF-8) its record names by their SHA-256. */
    static final int NAMED_CHARACTERS = 65_536;

    /**
     * The record of a statement refused because its text would overdraw the identity's audit budget: the text named
     * by its length and (when the policy keeps literals) the SHA-256 of its first 64 KiB, never held; no bound values,
     * no bytes. Its size does not depend on what was sent, beyond the prepared statement's name (at most 63 bytes).
     *
     * @param values how many values Bind gave the statement, -1 for none
     * @param before how many statements were refused so since this session's last such record, none recorded
     *     (StatementGate records a few a second), and {@code beforeCharacters} their texts' characters
     */
    CompletableFuture<Long> notRecorded(StatementPolicy policy, String sql, int values, Decision decision,
                                        QueryEvent.Protocol protocol, String preparedName, long before,
                                        long beforeCharacters) {
        StringBuilder said = new StringBuilder("-- not recorded: this identity's audit budget was used up; ");
        if (before > 0) {
            said.append("before this statement, ").append(before).append(" more were refused so and not recorded ("
                    + "texts of ").append(beforeCharacters).append(" characters in all); ");
        }
        said.append("the text: ").append(sql.length()).append(" characters");
        if (received != null) {
            said.append(" (").append(received.length).append(" bytes, not UTF-8)");
        }
        if (policy.keepLiterals()) {
            byte[] bytes = received != null ? received
                    : sql.substring(0, Math.min(sql.length(), NAMED_CHARACTERS))
                            .getBytes(java.nio.charset.StandardCharsets.UTF_8);
            int named = Math.min(bytes.length, NAMED_CHARACTERS);
            boolean whole = received != null ? named == bytes.length : sql.length() <= NAMED_CHARACTERS;
            said.append(", sha256 ").append(whole ? "" : received != null ? "of its first " + named + " bytes "
                    : "of its first " + NAMED_CHARACTERS + " characters (UTF-8) ")
                    .append(dev.warden.audit.event.CanonicalJson.sha256(bytes, 0, named));
        }
        if (values >= 0) {
            said.append("; ").append(values).append(" bound values, not recorded");
        }
        QueryEvent.Builder event = QueryEvent.builder(session, username, environment)
                .statement(said.toString())
                .fingerprint("")
                .kinds(List.of())
                .tables(List.of(), List.of())
                .columns(List.of(), List.of())
                .decision(QueryEvent.Decision.BLOCK, decision.rule(), null)
                .policyVersion(policy.version());
        if (protocol == QueryEvent.Protocol.EXTENDED) {
            event.extendedProtocol(preparedName, null);
        } else {
            event.simpleProtocol();
        }
        return append(event.build());
    }

    /**
     * At the session's end, the statements refused for the audit budget that no record counted yet
     * ({@link #notRecorded}'s {@code before}): one record, not waited for.
     */
    void uncounted(long statements, long characters, Decision decision) {
        background(QueryEvent.builder(session, username, environment)
                .statement("-- not recorded: this identity's audit budget was used up; " + statements
                        + " statements were refused so and not recorded (texts of " + characters
                        + " characters in all), until the session ended")
                .fingerprint("")
                .kinds(List.of())
                .tables(List.of(), List.of())
                .columns(List.of(), List.of())
                .decision(QueryEvent.Decision.BLOCK, decision.rule(), null)
                .policyVersion(policyVersion)
                .simpleProtocol()
                .build());
    }

    /**
     * The policy a statement was judged under, read once for it: its version and whether literals are kept go
     * into its query record (a reload between two statements changes the next record, never half of one).
     */
    record StatementPolicy(String version, boolean keepLiterals) {
    }

    CompletableFuture<Long> sessionStart(Identity who, String environment, String clientAddress, String tlsVersion,
                                         String applicationName) {
        this.username = who.username();
        this.environment = environment;
        return append(SessionStart.of(session, identity(who), new ClientInfo(clientAddress, tlsVersion,
                bounded(applicationName)), environment, policyVersion));
    }

    /**
     * {@code role.settings_reset}: the login settings of {@code who}'s role that Warden reset before the login, as the
     * server stored them. The session waits for it as for its {@code session.start} (a failure is logged here too).
     */
    CompletableFuture<Long> settingsReset(Identity who, String environment, SettingsReset reset) {
        CompletableFuture<Long> written = append(RoleSettingsReset.of(session, identity(who), environment,
                reset.role(), reset.settings(), reset.kept()));
        written.whenComplete((seq, failure) -> {
            if (failure != null) {
                writeFailed("role.settings_reset", failure);
            }
        });
        return written;
    }

    /**
     * {@code copy.data}: what the client sent for the COPY ... FROM STDIN of query record {@code querySeq}, before its
     * CopyDone goes (the caller holds the CopyDone until this completes).
     */
    CompletableFuture<Long> copyIn(long querySeq, long bytes, long messages, String sha256) {
        return append(dev.warden.audit.event.CopyIn.of(session, querySeq, bytes, messages, sha256));
    }

    private static AuditIdentity identity(Identity who) {
        return new AuditIdentity(who.subject(), who.username(), List.copyOf(who.groups()),
                who.kind() == Identity.Kind.AGENT, who.issuer());
    }

    void authFailure(String claimedUser, String clientAddress, String reason, String sqlState) {
        background(AuthFailure.of(session, bounded(claimedUser), clientAddress, reason, sqlState));
    }

    /** The longest start-up name a record (or a log line) holds whole: what PostgreSQL keeps of a name (63 bytes). */
    static final int NAME_CHARACTERS = 63;

    /**
     * A start-up parameter the client chose (application_name, the user name a failed login claimed), cut to
     * {@link #NAME_CHARACTERS} characters with its length after it. No identity's audit budget pays for these (a
     * failed login has none), so each record of one stays small, whatever the start-up packet carried (up to
     * {@code budgets.pre_login.max_message_bytes}). PostgreSQL itself keeps 63 bytes of either.
     */
    static String bounded(String name) {
        if (name == null || name.length() <= NAME_CHARACTERS) {
            return name;
        }
        int end = Character.isHighSurrogate(name.charAt(NAME_CHARACTERS - 1)) ? NAME_CHARACTERS - 1 : NAME_CHARACTERS;
        return name.substring(0, end) + "...[cut: " + name.length() + " characters]";
    }

    void sessionEnd(long durationMs, long statements, String reason) {
        background(SessionEnd.of(session, durationMs, statements, reason));
    }

    /** How the record of a FunctionCall message begins: such a record's kinds are {@code FUNCTION_CALL}. */
    static final String FUNCTION_CALL_TEXT = "-- FunctionCall oid=";

    CompletableFuture<Long> query(String sql, Analysis analysis, Decision decision, QueryEvent.Protocol protocol,
                                  String preparedName) {
        return query(sql, analysis, decision, protocol, preparedName, null);
    }

    CompletableFuture<Long> query(String sql, Analysis analysis, Decision decision, QueryEvent.Protocol protocol,
                                  String preparedName, String approvalId) {
        return query(sql, analysis, decision, protocol, preparedName, approvalId, null);
    }

    /**
     * @param parameters the values Bind gave the statement (null when none or not extended); recorded as sent
     *     when the policy keeps literals, otherwise each value is redacted like a literal
     */
    CompletableFuture<Long> query(String sql, Analysis analysis, Decision decision, QueryEvent.Protocol protocol,
                                  String preparedName, String approvalId, List<String> parameters) {
        return query(new StatementPolicy(policyVersion, keepBytes), sql, analysis, decision, protocol, preparedName,
                approvalId, parameters);
    }

    CompletableFuture<Long> query(StatementPolicy policy, String sql, Analysis analysis, Decision decision,
                                  QueryEvent.Protocol protocol, String preparedName, String approvalId,
                                  List<String> parameters) {
        boolean keep = policy.keepLiterals();
        FactsSummary facts = analysis != null ? summary(analysis.statements())
                : sql.startsWith(FUNCTION_CALL_TEXT) ? FactsSummary.FUNCTION_CALL : FactsSummary.NOT_ANALYSED;
        QueryEvent.Decision verdict = switch (decision.verdict()) {
            case ALLOW -> QueryEvent.Decision.ALLOW;
            case BLOCK -> QueryEvent.Decision.BLOCK;
            case REQUIRE_APPROVAL -> QueryEvent.Decision.APPROVAL;
        };
        String text = keep ? sql : statementText.apply(sql);
        QueryEvent.Builder event = QueryEvent.builder(session, username, environment)
                .statement(text)
                .received(keep ? received : null)
                .fingerprint(facts.fingerprint())
                .kinds(facts.kinds())
                .tables(facts.tablesRead(), facts.tablesWritten())
                .columns(facts.columnsRead(), facts.columnsWritten())
                .decision(verdict, decision.rule(), approvalId)
                .policyVersion(policy.version());
        if (protocol == QueryEvent.Protocol.EXTENDED) {
            event.extendedProtocol(preparedName, parameters == null ? null : keep ? parameters
                    : redacted(parameters));
        } else {
            event.simpleProtocol();
        }
        CompletableFuture<Long> appended = append(event.build());
        if (verdict != QueryEvent.Decision.BLOCK) {
            statements.running(appended, text);
        }
        return appended;
    }

    /** Redacted Bind values: the same list for every Bind of the same arity and NULLs, so records share its bytes. */
    private List<String> redactedParameters;

    private List<String> redacted(List<String> parameters) {
        List<String> last = redactedParameters;
        if (last != null && last.size() == parameters.size()) {
            boolean same = true;
            for (int i = 0; i < parameters.size() && same; i++) {
                same = parameters.get(i).equals(BoundParameters.NULL) == last.get(i).equals(BoundParameters.NULL);
            }
            if (same) {
                return last;
            }
        }
        // List.copyOf, not Stream.toList: a list that may hold nulls is copied again by every record made with it.
        List<String> made = List.copyOf(parameters.stream().map(v -> v.equals(BoundParameters.NULL) ? v : "?")
                .toList());
        redactedParameters = made;
        return made;
    }

    /**
     * What a query record says about its statements' facts, derived once per statement shape: the analyzer hands
     * out the same fact lists for every statement of a cached shape, so a session that repeats its statements
     * finds them here by identity, and its records reuse the lists instead of rebuilding them.
     */
    record FactsSummary(List<StatementFacts> source, String fingerprint, List<String> kinds, List<String> tablesRead,
                        List<String> tablesWritten, List<String> columnsRead, List<String> columnsWritten) {

        static final FactsSummary FUNCTION_CALL = new FactsSummary(List.of(), "", List.of("FUNCTION_CALL"), List.of(),
                List.of(), List.of(), List.of());
        /** A text refused unread (analysis capacity, a protocol name Warden refuses): no kinds, not FUNCTION_CALL. */
        static final FactsSummary NOT_ANALYSED = new FactsSummary(List.of(), "", List.of(), List.of(), List.of(),
                List.of(), List.of());

        static FactsSummary of(List<StatementFacts> statements) {
            Set<String> kinds = new LinkedHashSet<>();
            Set<String> tablesRead = new LinkedHashSet<>();
            Set<String> tablesWritten = new LinkedHashSet<>();
            Set<String> columnsRead = new LinkedHashSet<>();
            Set<String> columnsWritten = new LinkedHashSet<>();
            for (StatementFacts top : statements) {
                kinds.add(top.kind().name());
                // What runs inside it too (a called function's body, a DO block, a procedure, an EXECUTE's prepared
                // statement, as far as Warden followed them): before, SELECT f() updating a table named none, and
                // audit search --table did not find it (a helper's pass, a131).
                for (StatementFacts f : top.allStatements()) {
                    f.tablesRead().forEach(t -> tablesRead.add(t.qualified()));
                    f.tablesWritten().forEach(t -> tablesWritten.add(t.qualified()));
                    f.columnsRead().forEach(c -> columnsRead.add(column(c)));
                    f.columnsWritten().forEach(c -> columnsWritten.add(column(c)));
                }
            }
            String fingerprint = statements.size() == 1 ? statements.get(0).fingerprint()
                    : String.join(",", statements.stream().map(StatementFacts::fingerprint).toList());
            return new FactsSummary(List.copyOf(statements), fingerprint, List.copyOf(kinds), List.copyOf(tablesRead),
                    List.copyOf(tablesWritten), List.copyOf(columnsRead), List.copyOf(columnsWritten));
        }

        /**
         * Whether {@code statements} carry the very fact lists this summary was made from, what runs inside them
         * too: {@code EXECUTE q} is one shape whatever q is, and its facts with q's statements nested share their
         * own lists with those of another q (before, the record of a second q named the first one's tables).
         */
        boolean describes(List<StatementFacts> statements) {
            return sameFacts(statements, source);
        }
    }

    /** Whether {@code a} and {@code b} carry the same fact lists (by identity), nested and wrapped statements too. */
    static boolean sameFacts(List<StatementFacts> a, List<StatementFacts> b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            StatementFacts x = a.get(i);
            StatementFacts y = b.get(i);
            if (x != y && (x.kind() != y.kind() || x.tablesRead() != y.tablesRead()
                    || x.tablesWritten() != y.tablesWritten() || x.columnsRead() != y.columnsRead()
                    || x.columnsWritten() != y.columnsWritten() || x.nested() != y.nested() || x.inner() != y.inner()
                    || !x.fingerprint().equals(y.fingerprint()))) {
                return false;
            }
        }
        return true;
    }

    /** The summaries of this session's recent statement shapes, replaced round robin. */
    private final FactsSummary[] summaries = new FactsSummary[16];
    private int nextSummary;

    private FactsSummary summary(List<StatementFacts> statements) {
        for (FactsSummary known : summaries) {
            if (known != null && known.describes(statements)) {
                return known;
            }
        }
        FactsSummary made = FactsSummary.of(statements);
        summaries[nextSummary++ & (summaries.length - 1)] = made;
        return made;
    }

    void result(long querySeq, long rows, long bytes, List<ResultEvent.Column> columns, long durationUs,
                String sqlState, String commandTag, List<String> commandTags) {
        statements.finished(querySeq);
        ResultShape shape = shape(columns, commandTag, commandTags);
        resultCharge.accept(shape.columnsBytes());
        // Nothing waits for a result record (its statement ran already): it rides with the next batch.
        AuditWake.appendUnhurried(audit, loop, ResultEvent.of(session, querySeq, rows, bytes, shape.columns(),
                durationUs, sqlState, shape.commandTag(), shape.commandTags())).whenComplete(resultWritten);
    }

    /**
     * What a statement shape's results repeat: the columns, how each was masked, the command tags. A session
     * hands the same immutable lists for every result of a shape, so the record writer copies their bytes
     * (cached by identity) instead of serializing them again, and the event makes no copies of them.
     */
    record ResultShape(List<ResultEvent.Column> given, List<ResultEvent.Column> columns, String commandTag,
                       List<String> commandTags, long columnsBytes) {

        /**
         * What a result record holds of its column list, at most (16 KiB, about 400 columns of 40-character names):
         * the columns past it are named by their number, and how many of them were masked. The list is charged to
         * the audit budget only once the statement ran, and a statement of 30 bytes over 1,664 columns named with 63
         * control characters each (378 bytes recorded) wrote a record of 700 KB (attacker pass of c9c64c8).
         */
        static final int MAX_COLUMN_LIST_BYTES = 16 * 1024;

        ResultShape(List<ResultEvent.Column> given, String commandTag, List<String> commandTags) {
            this(given, cut(given), commandTag, commandTags);
        }

        private ResultShape(List<ResultEvent.Column> given, List<ResultEvent.Column> columns, String commandTag,
                            List<String> commandTags) {
            this(given, columns, commandTag, commandTags, columnsBytes(columns));
        }

        /** {@code columns}, or as many as fit {@link #MAX_COLUMN_LIST_BYTES} and one that counts the rest. */
        static List<ResultEvent.Column> cut(List<ResultEvent.Column> columns) {
            if (columnsBytes(columns) <= MAX_COLUMN_LIST_BYTES) {
                return columns;
            }
            List<ResultEvent.Column> kept = new java.util.ArrayList<>();
            long bytes = 0;
            int i = 0;
            for (; i < columns.size(); i++) {
                long next = columnBytes(columns.get(i));
                // Room left for the column that counts the rest (under 100 bytes).
                if (bytes + next > MAX_COLUMN_LIST_BYTES - 128) {
                    break;
                }
                bytes += next;
                kept.add(columns.get(i));
            }
            int masked = 0;
            for (int j = i; j < columns.size(); j++) {
                masked += columns.get(j).masked() ? 1 : 0;
            }
            kept.add(new ResultEvent.Column("[cut: " + (columns.size() - i) + " more columns, " + masked
                    + " of them masked]", masked > 0, null));
            return List.copyOf(kept);
        }

        /** A column in the record: {@code {"masked":false,"name":"...","rule":null},}, the rule quoted when named. */
        private static long columnBytes(ResultEvent.Column c) {
            return COLUMN_BYTES + dev.warden.audit.event.CanonicalWriter.jsonLength(c.name())
                    + (c.rule() == null ? 0 : dev.warden.audit.event.CanonicalWriter.jsonLength(c.rule()));
        }

        private static long columnsBytes(List<ResultEvent.Column> columns) {
            long bytes = 0;
            for (int i = 0; i < columns.size(); i++) {
                bytes += columnBytes(columns.get(i));
            }
            return bytes;
        }

        /** A column's keys, quotes, braces, comma, and {@code false} and {@code null} at their longest. */
        private static final int COLUMN_BYTES = 42;

        boolean matches(List<ResultEvent.Column> columns, String commandTag, List<String> commandTags) {
            return Objects.equals(this.commandTag, commandTag) && same(this.given, columns)
                    && same(this.commandTags, commandTags == null ? List.of() : commandTags);
        }

        /** {@code List.equals} by index: the lists are short, and an iterator per compare is garbage. */
        private static boolean same(List<?> a, List<?> b) {
            if (a.size() != b.size()) {
                return false;
            }
            for (int i = 0; i < a.size(); i++) {
                if (!a.get(i).equals(b.get(i))) {
                    return false;
                }
            }
            return true;
        }
    }

    private ResultShape shape(List<ResultEvent.Column> columns, String commandTag, List<String> commandTags) {
        List<ResultEvent.Column> cols = columns == null ? List.of() : columns;
        for (ResultShape known : shapes) {
            if (known != null && known.matches(cols, commandTag, commandTags)) {
                return known;
            }
        }
        ResultShape made = new ResultShape(List.copyOf(cols), commandTag,
                commandTags == null ? List.of() : List.copyOf(commandTags));
        shapes[nextShape++ & (shapes.length - 1)] = made;
        return made;
    }

    /**
     * {@code enforcement.mismatch}: the server's report disagreed with Warden's reading of the statement of
     * query record {@code querySeq} (-1: none was running).
     */
    void mismatch(long querySeq, String check, List<String> warden, List<String> server, String detail) {
        String statement = statements.text(querySeq);
        background(EnforcementMismatch.of(session, username, environment, querySeq, check, statement, warden,
                server, detail));
    }

    private void background(AuditEvent event) {
        append(event).whenComplete((seq, failure) -> {
            if (failure != null) {
                writeFailed(event.type(), failure);
            }
        });
    }

    private CompletableFuture<Long> append(AuditEvent event) {
        return AuditWake.append(audit, loop, event);
    }

    private void writeFailed(String type, Throwable failure) {
        log.error("audit.write_failed session={} type={} reason=\"{}\"", session, type,
                ClientErrors.unwrap(failure).getMessage());
    }

    private static String column(ColumnRef c) {
        return c.table() == null ? c.column() : c.table() + "." + c.column();
    }
}
