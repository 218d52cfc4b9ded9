package dev.warden.proxy.session;

import dev.warden.sql.Analysis;
import dev.warden.sql.CommandTags;
import dev.warden.sql.StatementFacts;
import dev.warden.sql.StatementKind;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * Compares what the server reports with what Warden analysed, statement by statement, so that a reading that
 * was wrong (and that guardrails, approvals, masking and the audit record trusted) is noticed. Plain Java, no
 * sockets: the session feeds it the backend messages that matter and ends itself on a {@link Mismatch}.
 *
 * <p>What is checked:
 * <ul>
 *   <li><b>Statement count</b> (simple protocol): a Query of N statements is answered by exactly N
 *       CommandComplete / EmptyQueryResponse messages, unless an ErrorResponse stops the rest. More answers
 *       than statements, or fewer without an error, is a mismatch. An extended-protocol Execute runs one
 *       statement: an analysis of several is a mismatch when the server runs it.</li>
 *   <li><b>Command tag</b>: the tag of the i-th answer must {@linkplain CommandTags#agrees agree} with the
 *       i-th statement's facts ({@code EXECUTE name} against the statement prepared under that name, when the
 *       server confirmed the PREPARE or the client parsed it with the extended protocol).</li>
 *   <li><b>Session identity</b>: a ParameterStatus that changes {@code session_authorization} or
 *       {@code is_superuser} must be explained by the analysis of the batch running on the server (up to its
 *       ReadyForQuery): one of its statements, nested ones included, is SET ROLE, RESET ROLE, SET/RESET SESSION
 *       AUTHORIZATION, RESET or DISCARD. A change back to a value the session already had is also explained when
 *       the batch ended a transaction (COMMIT, ROLLBACK) or failed, as both undo a SET inside a transaction.</li>
 * </ul>
 * Limits: it sees what the server reports, after the statement ran; it cannot stop a statement, only make the
 * disagreement loud and end the session (which rolls back an open transaction). Parameters other than the two
 * above are not watched. FunctionCall messages and portals of statements Warden never saw carry no analysis and
 * are not compared.
 */
final class Tripwire {

    /** Parameters whose change means the session acts as someone else. */
    static final Set<String> IDENTITY_PARAMETERS = Set.of("session_authorization", "is_superuser");

    private static final Set<StatementKind> CHANGES_IDENTITY = EnumSet.of(StatementKind.SET_ROLE,
            StatementKind.RESET_ROLE, StatementKind.SET_SESSION_AUTHORIZATION, StatementKind.RESET,
            StatementKind.DISCARD);
    private static final Set<StatementKind> ENDS_TRANSACTION = EnumSet.of(StatementKind.COMMIT,
            StatementKind.ROLLBACK);

    /**
     * What disagreed.
     *
     * @param check {@code statement_count}, {@code command_tag}, {@code parameter_status} or {@code answer_owner}
     * @param warden Warden's reading, one entry per statement
     * @param server what the server reported, in order
     * @param detail one sentence naming the cause
     */
    record Mismatch(String check, List<String> warden, List<String> server, String detail) {
        Mismatch {
            warden = List.copyOf(warden);
            server = List.copyOf(server);
        }
    }

    /** The current value of each watched parameter, and every value the session has had. */
    private final Map<String, String> current = new HashMap<>();
    private final Set<String> seen = new HashSet<>();
    /** Kinds of the statements of the batch running now (until ReadyForQuery), nested ones included. */
    private final Set<StatementKind> batchKinds = EnumSet.noneOf(StatementKind.class);
    /** The analysis whose kinds {@link #batchKinds} holds since it was last cleared, the last one added. */
    private Analysis kindsAdded;
    private boolean batchFailed;
    /** SQL-level PREPAREs the server confirmed: name → the facts of the statement prepared. */
    private final Map<String, StatementFacts> sqlPrepared = new HashMap<>();

    /** @param startup the parameters the server reported when the session started */
    Tripwire(Map<String, String> startup) {
        startup.forEach((name, value) -> {
            if (IDENTITY_PARAMETERS.contains(name)) {
                current.put(name, value);
                seen.add(name + "=" + value);
            }
        });
    }

    /** The server is answering a statement with this analysis (null: one Warden has no analysis of). */
    void running(Analysis analysis) {
        if (analysis == null || analysis == kindsAdded) {
            return; // each answer of a Query of n statements asks: its kinds are added once (not n times n)
        }
        kindsAdded = analysis;
        for (StatementFacts f : analysis.statements()) {
            for (StatementFacts any : f.allStatements()) {
                batchKinds.add(any.kind());
            }
        }
    }

    /**
     * A CommandComplete ({@code tag}) or EmptyQueryResponse ({@link CommandTags#EMPTY_QUERY_RESPONSE}) for the
     * statement with {@code analysis}; {@code answers} holds the earlier answers to the same Query or Execute
     * and gets this one added. {@code protocolPrepared} knows the statements prepared with Parse.
     */
    Optional<Mismatch> answered(Analysis analysis, boolean extended, List<String> answers, String answer,
                                Function<String, Optional<StatementFacts>> protocolPrepared) {
        answers.add(answer);
        if (analysis == null) {
            return Optional.empty();
        }
        List<StatementFacts> statements = analysis.statements();
        int index = answers.size() - 1;
        if (extended && statements.size() != 1) {
            return Optional.of(new Mismatch("statement_count", readings(analysis), answers, "the server ran one "
                    + "prepared statement where Warden read " + statements.size()));
        }
        if (index >= statements.size()) {
            return Optional.of(new Mismatch("statement_count", readings(analysis), answers, "the server ran more "
                    + "statements (at least " + answers.size() + ") than Warden read (" + statements.size() + ")"));
        }
        StatementFacts facts = statements.get(index);
        Function<String, Optional<StatementFacts>> prepared = name -> {
            StatementFacts sql = sqlPrepared.get(name);
            return sql != null ? Optional.of(sql) : protocolPrepared.apply(name);
        };
        if (!CommandTags.agrees(facts, answer, prepared) && !executesEmpty(facts, answer, prepared)) {
            return Optional.of(new Mismatch("command_tag", readings(analysis), answers, "the server reported "
                    + answer + " for statement " + (index + 1) + ", which Warden read as "
                    + CommandTags.reading(facts)));
        }
        remember(facts, answer);
        return Optional.empty();
    }

    /**
     * SQL {@code EXECUTE} of a statement prepared with no text (a Parse of ""; PREPARE cannot make one) is answered
     * by CommandComplete {@code EXECUTE}, where the empty statement itself gets EmptyQueryResponse (PostgreSQL 15,
     * checked with a raw client). {@link CommandTags} holds an empty statement to EmptyQueryResponse alone, so the
     * tripwire ended such a session as a mismatch (a security pass, F2). Only that tag, for an EXECUTE whose
     * statement Warden knows to be empty, is accepted here.
     */
    private static boolean executesEmpty(StatementFacts facts, String answer,
                                         Function<String, Optional<StatementFacts>> prepared) {
        return facts.kind() == StatementKind.EXECUTE && answer.equals("EXECUTE")
                && facts.preparedName().flatMap(prepared).map(t -> t.kind() == StatementKind.EMPTY).orElse(false);
    }

    /** An ErrorResponse: the statement failed and, in a Query, the rest did not run. */
    void failed() {
        batchFailed = true;
    }

    /**
     * The Query with {@code analysis} is over (its ReadyForQuery arrived): without an error, the server must
     * have answered every statement Warden read.
     */
    Optional<Mismatch> queryDone(Analysis analysis, List<String> answers, boolean failed) {
        if (analysis == null || failed || answers.size() >= analysis.statements().size()) {
            return Optional.empty();
        }
        return Optional.of(new Mismatch("statement_count", readings(analysis), answers, "the server ran "
                + answers.size() + " statements where Warden read " + analysis.statements().size()));
    }

    /** ReadyForQuery: the batch is over. */
    void ready() {
        batchKinds.clear();
        kindsAdded = null;
        batchFailed = false;
    }

    /** A ParameterStatus from the server. */
    Optional<Mismatch> parameter(String name, String value) {
        if (!IDENTITY_PARAMETERS.contains(name)) {
            return Optional.empty();
        }
        String before = current.get(name);
        if (value.equals(before)) {
            return Optional.empty();
        }
        boolean explained = batchKinds.stream().anyMatch(CHANGES_IDENTITY::contains)
                || (seen.contains(name + "=" + value)
                        && (batchFailed || batchKinds.stream().anyMatch(ENDS_TRANSACTION::contains)));
        if (!explained) {
            List<String> warden = batchKinds.isEmpty() ? List.of("(no statement running)")
                    : batchKinds.stream().map(Enum::name).toList();
            return Optional.of(new Mismatch("parameter_status", warden, List.of(name + "=" + value),
                    "the server changed " + name + " from " + before + " to " + value
                            + ", which no statement Warden read explains"));
        }
        current.put(name, value);
        seen.add(name + "=" + value);
        return Optional.empty();
    }

    /** Keeps track of SQL PREPARE / DEALLOCATE / DISCARD ALL once the server confirmed them. */
    private void remember(StatementFacts facts, String tag) {
        switch (facts.kind()) {
            case PREPARE -> {
                if (tag.equals("PREPARE") && facts.preparedName().isPresent() && facts.inner().isPresent()) {
                    sqlPrepared.put(facts.preparedName().get(), facts.inner().get());
                }
            }
            case DEALLOCATE -> {
                if (tag.equals("DEALLOCATE ALL")) {
                    sqlPrepared.clear();
                } else {
                    facts.preparedName().ifPresent(sqlPrepared::remove);
                }
            }
            case DISCARD -> {
                if (tag.equals("DISCARD ALL")) {
                    sqlPrepared.clear();
                }
            }
            default -> {
            }
        }
    }

    /** Warden's reading of a text: one entry per statement. */
    static List<String> readings(Analysis analysis) {
        List<String> out = new ArrayList<>();
        for (StatementFacts f : analysis.statements()) {
            out.add(CommandTags.reading(f));
        }
        return out;
    }
}
