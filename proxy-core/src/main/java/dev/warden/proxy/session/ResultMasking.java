package dev.warden.proxy.session;

import dev.warden.identity.Identity;
import dev.warden.masking.CopyMasker;
import dev.warden.masking.MaskContext;
import dev.warden.masking.MaskPlan;
import dev.warden.masking.Masker;
import dev.warden.masking.MessageNames;
import dev.warden.masking.ResultColumn;
import dev.warden.pg.message.BackendMessage.RowDescription.Field;
import dev.warden.proxy.catalog.CatalogCache;
import dev.warden.proxy.catalog.ColumnName;
import dev.warden.proxy.catalog.Exposure;
import dev.warden.proxy.catalog.ScreenedShapes;
import dev.warden.proxy.catalog.StatementWalk;
import dev.warden.proxy.guardrails.Decision;
import dev.warden.proxy.guardrails.Unreadable;
import dev.warden.sql.Analysis;
import dev.warden.sql.Analyzer;
import dev.warden.sql.StatementFacts;
import dev.warden.sql.StatementKind;
import dev.warden.sql.TextReferences;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Builds mask plans for one session's results: RowDescription fields resolved through the catalog, the
 * statement's reads for lineage, and the identity for exemptions. Plain values in, plans out; the session
 * decides when to call it and holds the stream while the catalog answers.
 */
final class ResultMasking {

    /** Read per result, so a policy reload applies to the next statement. */
    private final java.util.function.Supplier<Masker> masker;
    private final CatalogCache catalog;
    private final Identity identity;
    private final String environment;
    /** The session's search_path as {@code current_schemas(true)}, when current; null when not known. */
    private java.util.function.Supplier<List<String>> searchPath = () -> null;

    ResultMasking(java.util.function.Supplier<Masker> masker, CatalogCache catalog, Identity identity, String environment) {
        this.masker = masker;
        this.catalog = catalog;
        this.identity = identity;
        this.environment = environment;
        this.shapes = catalog == null ? null : new ScreenedShapes(catalog);
        this.judged = new JudgedExposures(catalog);
        this.clear = context(Exposure.NONE);
    }

    /** This session's catalog judgements by statement shape (see {@link ScreenedShapes}); null without a catalog. */
    private final ScreenedShapes shapes;
    /** The context of a statement that carries nothing sensitive: one per session (the identity is fixed). */
    private final MaskContext clear;

    ScreenedShapes shapes() {
        return shapes;
    }

    /** Names a prepared statement judged again cannot find in the catalog are looked up with {@code analyzer}. */
    void looksUpWith(dev.warden.sql.Analyzer analyzer) {
        this.analyzer = analyzer;
    }

    private dev.warden.sql.Analyzer analyzer;

    /**
     * The session logs in as {@code role}: routines it owns are this identity's own with {@code provision:
     * per_identity}; with a shared login, every routine made through Warden has that one owner, so only routines
     * of other roles (a migration's, an application owner's) are told apart. Null: every owner is another's.
     */
    void ownRole(String role) {
        this.ownRole = role;
    }

    private String ownRole;

    /** Names in statements resolve along {@code searchPath} (see {@link CatalogCache#exposure}). */
    void followSearchPath(java.util.function.Supplier<List<String>> searchPath) {
        this.searchPath = searchPath;
    }

    /** The session's client_encoding, as the server last reported it (see {@link #copyEncodingRefusal}). */
    void followClientEncoding(java.util.function.Supplier<String> clientEncoding) {
        this.clientEncoding = clientEncoding;
    }

    private java.util.function.Supplier<String> clientEncoding = () -> "UTF8";
    /** The client_encoding name {@link #lastEncoding} was named by (compared by identity: it changes rarely). */
    private String lastEncodingName;
    private dev.warden.masking.TextEncoding lastEncoding = dev.warden.masking.TextEncoding.UTF8;
    /**
     * A statement that may have changed client_encoding (a SET, RESET, DISCARD, set_config call, or the end of a
     * transaction or savepoint) completed since the last ReadyForQuery (see {@link #encodingMayChange}).
     */
    private boolean encodingUncertain;

    /**
     * A statement that may have changed client_encoding completed: the server reports the new one only before
     * ReadyForQuery, so until then text values are masked as in an encoding Warden cannot split.
     */
    void encodingMayChange() {
        encodingUncertain = true;
    }

    boolean encodingUncertain() {
        return encodingUncertain;
    }

    /** ReadyForQuery: the server has reported any change of client_encoding. */
    void encodingReported() {
        encodingUncertain = false;
    }

    /**
     * The encoding the server sends this session's text values in (its client_encoding as last reported), which
     * masks that keep part of a value split by (an attacker's pass, a144 F4).
     */
    private dev.warden.masking.TextEncoding textEncoding() {
        if (encodingUncertain) {
            return dev.warden.masking.TextEncoding.UNCERTAIN;
        }
        String name = clientEncoding.get();
        if (name != lastEncodingName) {
            lastEncoding = dev.warden.masking.TextEncoding.named(name);
            lastEncodingName = name;
        }
        return lastEncoding;
    }

    /** An encoding's name as compared: lower case, letters and digits only ({@code Shift_JIS} is {@code shiftjis}). */
    private static String encodingKey(String encoding) {
        return encoding == null ? "" : encoding.toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9]", "");
    }

    /** Whether {@code encoding} names UTF-8 (as the server reads encoding names, which drop all but letters and digits). */
    private static boolean utf8(String encoding) {
        String key = encodingKey(encoding);
        return key.equals("utf8") || key.equals("unicode");
    }

    /**
     * Why a COPY TO STDOUT of {@code analysis} in text or CSV over sensitive data is refused for a masked identity, or
     * null: its output encoding (its ENCODING option, else the session's client_encoding as last reported) is not
     * UTF-8. Warden splits COPY's rows into fields by bytes, and checks that they are UTF-8 (CopyMasker#requireUtf8):
     * a helper's pass (a127) put Shift-JIS characters whose second byte is {@code |} or {@code \\} before the masked
     * columns, moved every field one column over, and had the SSNs, cards and e-mails land in clear integer columns;
     * the next (a128) spelled the ENCODING with an escape the server read under standard_conforming_strings off
     * ({@code 'S\\x4aIS'}), and changed a LATIN1 session's client_encoding in the same Query, where no check of the
     * rows can tell. So only UTF-8, which the rows are checked against, is masked. (Binary COPY is unaffected.)
     */
    /**
     * How many COPY ... TO STDOUT {@code analysis} runs. Warden describes the first one's columns before the text
     * goes upstream, and masked each CopyOutResponse of the text with that description: a second COPY of other
     * columns after a first of clear ones came through unmasked (a helper's pass, a139 F6).
     */
    private static int copiesOut(Analysis analysis) {
        int n = 0;
        for (StatementFacts f : analysis.statements()) {
            if (f.copy().isPresent() && f.copy().get().direction() == dev.warden.sql.CopySpec.Direction.TO) {
                n++;
            }
        }
        return n;
    }

    private String copyEncodingRefusal(Analysis analysis) {
        for (StatementFacts f : analysis.statements()) {
            if (f.copy().isEmpty() || f.copy().get().direction() != dev.warden.sql.CopySpec.Direction.TO
                    || "binary".equals(f.copy().get().format())) {
                continue;
            }
            String encoding = CopyStatements.copyOption(f.copy().get(), "encoding").orElseGet(clientEncoding);
            if (!utf8(encoding) && exposure(analysis).sensitive()) {
                return encoding;
            }
        }
        return null;
    }

    /**
     * What DDL of the session's open transaction made unreadable: now ({@code null}), or when a statement was sent
     * (see {@link #inTransaction}).
     */
    void followTransaction(java.util.function.Function<Analysis, Unreadable> unreadable) {
        this.transactionDdl = unreadable;
    }

    private java.util.function.Function<Analysis, Unreadable> transactionDdl = analysis -> Unreadable.NONE;

    /**
     * {@code computed}, unless a statement names what DDL of the session's open transaction (or an earlier
     * statement of the same text) changed, and that may carry a sensitive value. The catalog Warden reads holds
     * what was committed: a view or function the session made is judged by the definition it wrote (clear when
     * that reads nothing sensitive); a relation or function renamed, moved or altered, by nothing. Then the
     * statement is sensitive, every column of a relation it returns counts as a view's over sensitive reads, and
     * one that copies what it reads into a table is refused (it may copy masked values under clear names). The
     * names a statement itself changes are not read by it; its results are judged with what was unreadable when it
     * was sent ({@code sent}), not with what it and the statements sent after it changed.
     */
    private Exposure inTransaction(Analysis analysis, Exposure computed, boolean sent) {
        Unreadable unreadable = transactionDdl.apply(sent ? analysis : null);
        // Other sessions' open transactions too: a statement waiting on one's lock runs with what it commits.
        Unreadable elsewhere = catalog == null ? Unreadable.NONE : catalog.openDdlElsewhere(this);
        if (unreadable.isEmpty() && elsewhere.isEmpty() && analysis.statements().size() < 2) {
            return computed;
        }
        if (!elsewhere.isEmpty() || catalog == null) {
            return weigh(analysis, computed, unreadable, elsewhere);
        }
        // The same text's next result, nothing it read changed (the catalog's count moves with every DDL seen, and
        // its generation with every entry dropped): the same answer, without walking every statement again.
        long invalidations = catalog.invalidations();
        long generation = catalog.generation();
        Masker current = masker.get();
        List<String> path = searchPath.get();
        if (analysis == weighedText && computed == weighedComputed && unreadable == weighedUnreadable
                && invalidations == weighedInvalidations && generation == weighedGeneration
                && current == weighedMasker && path == weighedPath) {
            return weighedAnswer;
        }
        Exposure answer = weigh(analysis, computed, unreadable, elsewhere);
        weighedText = analysis;
        weighedComputed = computed;
        weighedUnreadable = unreadable;
        weighedInvalidations = invalidations;
        weighedGeneration = generation;
        weighedMasker = current;
        weighedPath = path;
        weighedAnswer = answer;
        return answer;
    }

    /** {@link #inTransaction}'s walk over every statement of the text. */
    private Exposure weigh(Analysis analysis, Exposure computed, Unreadable unreadable, Unreadable elsewhere) {
        for (int i = 0; i < analysis.statements().size(); i++) {
            StatementFacts f = analysis.statements().get(i);
            Unreadable own = Unreadable.changedBy(f);
            if (!unreadable.isEmpty()) {
                for (String name : unreadable.namedBy(f)) {
                    if (!own.names().contains(name) && !clearAsWritten(unreadable, name, 0)) {
                        return sensitiveInTransaction(f, computed, name, "DDL of this transaction changed");
                    }
                }
            }
            if (!elsewhere.isEmpty()) {
                for (String name : elsewhere.namedBy(f)) {
                    if (!clearAsWritten(elsewhere, name, 0)) {
                        return sensitiveInTransaction(f, computed, name, "another session's open transaction "
                                + "changed, and may commit while this statement waits on its locks");
                    }
                }
            }
            unreadable = unreadable.with(own);
        }
        return computed;
    }

    /**
     * Whether what the transaction made under {@code name} can carry no sensitive value: its definitions read
     * none, nor do the others of the transaction's they name (a few levels deep).
     */
    private boolean clearAsWritten(Unreadable unreadable, String name, int depth) {
        List<StatementFacts> definitions = unreadable.unknown(name) ? null : unreadable.definitions(name);
        if (definitions == null || depth > 3) {
            return false;
        }
        Analysis written = new Analysis(definitions);
        if (judge(written, masker.get(), searchPath.get()).exposure().sensitive()) {
            return false;
        }
        for (StatementFacts definition : definitions) {
            for (String other : unreadable.namedBy(definition)) {
                if (!other.equals(name) && !clearAsWritten(unreadable, other, depth + 1)) {
                    return false;
                }
            }
        }
        return true;
    }

    private static Exposure sensitiveInTransaction(StatementFacts f, Exposure computed, String name, String why) {
        String launders = computed.launders();
        if (launders.isEmpty() && copiesWhatItReads(f)) {
            launders = f.tablesWritten().iterator().next().qualified() + ", from " + name + ", which " + why;
        }
        // The columns of such a view carry what its definition reads, which the catalog does not hold yet.
        Set<String> derived = new LinkedHashSet<>(computed.derivedColumns());
        derived.add(MaskContext.EVERY_COLUMN);
        return new Exposure(true, derived, computed.sensitiveNames(), "it names " + name
                + ", which " + why + " (Warden reads the catalog as committed)", launders);
    }

    /** INSERT, UPDATE, MERGE, CREATE TABLE AS and SELECT INTO: they store values they read in a table. */
    private static boolean copiesWhatItReads(StatementFacts f) {
        StatementKind k = f.kind();
        return !f.tablesWritten().isEmpty() && (k == StatementKind.INSERT || k == StatementKind.UPDATE
                || k == StatementKind.MERGE || k == StatementKind.SELECT
                || (k == StatementKind.CREATE && "TABLE".equals(f.objectType())));
    }

    /** How many EXECUTEs deep {@link #throughCursors} is following prepared statements. */
    private int followingExecute;

    /** The analysis of the statement prepared under a name (SQL PREPARE or Parse), or null when unknown. */
    private java.util.function.Function<String, Analysis> preparedStatements = name -> null;

    /**
     * The query of the cursor of a name with the effects of the functions it calls as they are now, when they were
     * applied again since its DECLARE; else null (see RelayHandler#cursorsFetched).
     */
    private java.util.function.Function<String, Analysis> cursorQueries = name -> null;

    void followCursorQueries(java.util.function.Function<String, Analysis> queries) {
        this.cursorQueries = queries;
    }

    /**
     * Whether the cursor of a name is still the one declared (see PreparedStatements#cursorStands): a held cursor
     * whose COMMIT the server has not answered may be gone (the COMMIT of a failed transaction rolls back), and its
     * name another portal's; its FETCH is then unknown.
     */
    private java.util.function.Predicate<String> cursorsStanding = name -> true;

    void followCursorsStanding(java.util.function.Predicate<String> standing) {
        this.cursorsStanding = standing;
    }

    /** The exposure a FETCH or read of the cursor of this name takes on; null: unknown. */
    private Exposure standingCursor(String name) {
        return cursorsStanding.test(name) ? cursors.get(name) : null;
    }

    /** {@code EXECUTE name} returns the rows of the statement {@code prepared} knows under that name. */
    void followPrepared(java.util.function.Function<String, Analysis> prepared) {
        this.preparedStatements = prepared;
    }

    /** Tables in {@code fields} the catalog cache does not know yet; empty when a plan can be made now. */
    Set<Integer> unknownTables(List<Field> fields) {
        Set<Integer> unknown = Set.of(); // asked for every result: nothing is allocated when all are known
        for (int i = 0; i < fields.size(); i++) { // no iterator
            Field f = fields.get(i);
            if (f.tableOid() != 0 && !catalog.knows(f.tableOid(), f.columnNumber())) {
                if (unknown.isEmpty()) {
                    unknown = new LinkedHashSet<>();
                }
                unknown.add(f.tableOid());
            }
        }
        return unknown;
    }

    CompletableFuture<Void> resolve(Set<Integer> tables) {
        return catalog.resolve(tables);
    }

    /**
     * @param formats the result formats from Bind (empty: all text; one: for every column), or null to take
     *                the formats in {@code fields} (a RowDescription answering Execute or a portal Describe)
     */
    MaskPlan plan(List<Field> fields, List<Short> formats, Analysis analysis) {
        return plan(masker.get(), fields, formats, analysis);
    }

    /** A plan made by {@code current}, the masker of the policy the statement was judged under. */
    MaskPlan plan(Masker current, List<Field> fields, List<Short> formats, Analysis analysis) {
        // A session repeats its statements: the same columns, formats, reads and policy give the same plan.
        // Plans are used by one session on one thread, one result at a time, so reusing one is safe.
        MaskContext context = onlyExplains(analysis) ? clear : context(analysis);
        // The catalog's column names are part of the key: DDL Warden did not see can rename a column under the
        // same (table, attnum).
        long names = catalog == null ? 0 : catalog.columnsVersion();
        if (lastPlan != null && current == lastPlanMasker && context == lastPlanContext && names == lastPlanNames
                && java.util.Objects.equals(formats, lastPlanFormats) && sameFields(fields, lastPlanFields)) {
            // The statement before had this very key: no PlanKey to hash (the fields' record hash was measured).
            lastPlan.useEncoding(textEncoding());
            return lastPlan;
        }
        PlanKey key = new PlanKey(current, fields, formats, context.columnsRead(), context.derivedColumns(), names);
        MaskPlan plan = plans.get(key);
        if (plan == null) {
            plan = current.plan(columns(fields, formats), context);
            plans.put(key, plan);
        }
        plan.useEncoding(textEncoding());
        lastPlan = plan;
        lastPlanMasker = current;
        lastPlanContext = context;
        lastPlanFormats = formats;
        lastPlanFields = fields;
        lastPlanNames = names;
        return plan;
    }

    /** The last plan handed out and its key (the context stands for its reads and derived columns); see plan(). */
    private MaskPlan lastPlan;
    private Masker lastPlanMasker;
    private MaskContext lastPlanContext;
    private List<Short> lastPlanFormats;
    private List<Field> lastPlanFields;
    private long lastPlanNames;

    /** Field by field, as the records' equals would say, without their generated (indirect) equals. */
    private static boolean sameFields(List<Field> a, List<Field> b) {
        if (a == b) {
            return true;
        }
        if (b == null || a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            Field x = a.get(i);
            Field y = b.get(i);
            if (x.tableOid() != y.tableOid() || x.columnNumber() != y.columnNumber() || x.typeOid() != y.typeOid()
                    || x.typeSize() != y.typeSize() || x.typeModifier() != y.typeModifier()
                    || x.format() != y.format() || !java.util.Objects.equals(x.name(), y.name())) {
                return false;
            }
        }
        return true;
    }

    private record PlanKey(Masker masker, List<Field> fields, List<Short> formats, Set<String> reads,
                           Set<String> derived, long columnNames) {
    }

    /** Recent plans of this session, least recently used dropped first. */
    private final java.util.Map<PlanKey, MaskPlan> plans = new java.util.LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(java.util.Map.Entry<PlanKey, MaskPlan> eldest) {
            return size() > 64;
        }
    };

    private List<ResultColumn> columns(List<Field> fields, List<Short> formats) {
        List<ResultColumn> columns = new ArrayList<>(fields.size());
        for (int i = 0; i < fields.size(); i++) {
            Field f = fields.get(i);
            short format = formats == null ? f.format()
                    : formats.isEmpty() ? 0 : formats.size() == 1 ? formats.get(0) : formats.get(i);
            Optional<ColumnName> source = f.tableOid() == 0 ? Optional.empty()
                    : catalog.cached(f.tableOid(), f.columnNumber());
            columns.add(source.map(s -> ResultColumn.fromTable(s.schema(), s.table(), s.column(), f.name(),
                            f.typeOid(), f.typeModifier(), format))
                    .orElseGet(() -> ResultColumn.expression(f.name(), f.typeOid(), format)));
        }
        return columns;
    }

    /**
     * The described columns of a COPY from the RowDescription of Warden's own Describe on the session's
     * connection (which sees the session's temporary tables and search_path); their tables must be known to the
     * catalog cache ({@link #unknownTables}), which reads them by OID.
     */
    List<CatalogCache.DescribedColumn> described(List<Field> fields) {
        List<CatalogCache.DescribedColumn> out = new ArrayList<>(fields.size());
        for (Field f : fields) {
            Optional<ColumnName> source = f.tableOid() == 0 ? Optional.empty()
                    : catalog.cached(f.tableOid(), f.columnNumber());
            out.add(new CatalogCache.DescribedColumn(f.name(), source, f.typeOid(), f.typeModifier()));
        }
        return out;
    }

    CopyMasker copyMasker(List<CatalogCache.DescribedColumn> described, String format, Analysis analysis) {
        short wire = (short) (format.equals("binary") ? 1 : 0);
        List<ResultColumn> columns = new ArrayList<>();
        for (CatalogCache.DescribedColumn d : described) {
            columns.add(d.source().map(s -> ResultColumn.fromTable(s.schema(), s.table(), s.column(), d.name(),
                    d.typeOid(), d.typeModifier(), wire))
                    .orElseGet(() -> ResultColumn.expression(d.name(), d.typeOid(), wire)));
        }
        MaskPlan plan = masker.get().plan(columns, context(analysis));
        plan.useEncoding(textEncoding());
        dev.warden.sql.CopySpec copy = CopyStatements.copySpec(analysis);
        boolean csv = format.equals("csv");
        char delimiter = CopyStatements.copyOption(copy, "delimiter")
                .map(o -> CopyStatements.single(o, "DELIMITER")).orElse(csv ? ',' : '\t');
        String nullString = CopyStatements.copyOption(copy, "null").orElse(csv ? "" : "\\N");
        char quote = CopyStatements.copyOption(copy, "quote")
                .map(o -> CopyStatements.single(o, "QUOTE")).orElse('"');
        char escape = CopyStatements.copyOption(copy, "escape")
                .map(o -> CopyStatements.single(o, "ESCAPE")).orElse(quote);
        CopyMasker masker = switch (format) {
            case "csv" -> CopyMasker.csv(plan, delimiter, quote, escape, nullString);
            case "binary" -> CopyMasker.binary(plan);
            case "text" -> CopyMasker.text(plan, delimiter, nullString);
            // Never split as text what the server may write otherwise (a129: a format read wrongly as text had CSV
            // values holding the delimiter come out in pieces, in clear columns).
            default -> throw new SessionException(dev.warden.pg.SqlState.FEATURE_NOT_SUPPORTED, "Warden cannot "
                    + "read this COPY's options (its format), so it cannot mask it: the session was closed");
        };
        String encoding = CopyStatements.copyOption(copy, "encoding").orElseGet(clientEncoding);
        if (!utf8(encoding) && !format.equals("binary") && !plan.masksNothing()) {
            // Not UTF-8 where the screen did not refuse it (a SET client_encoding earlier in the same Query, data it
            // did not find sensitive but that is masked or scanned): the rows cannot be checked (copyEncodingRefusal).
            throw new SessionException(dev.warden.pg.SqlState.FEATURE_NOT_SUPPORTED, "Warden masks a COPY's text "
                    + "only in UTF-8, not in " + encoding + " (a character may hold a byte read as a delimiter): the "
                    + "session was closed; COPY in UTF8 or in binary format");
        }
        // UTF-8 as Warden knows it: each row is checked to be (an encoding changed where Warden did not see it, such
        // as by set_config in the same Query, would shift the fields).
        return masker.requireUtf8();
    }

    /**
     * Server text outside result rows, as this identity may see it (see {@link Masker#maskMessage}): values the
     * server echoes are redacted when {@code analysis} (the statement the text answers; null when unknown)
     * could carry a sensitive value; detected values always.
     */
    String maskMessage(String text, Analysis analysis) {
        return masker.get().maskMessage(text, context(analysis));
    }

    /**
     * A field of an ErrorResponse or NoticeResponse ({@code field} is its code, {@code fields} are all of them; 0
     * for a notification's or a parameter report's text): as {@link #maskMessage}. For a PL/pgSQL RAISE or ASSERT
     * (routines {@code exec_stmt_raise}, {@code exec_stmt_assert}) in a statement that could carry a sensitive
     * value, the message, detail and hint, and the names RAISE's USING sets (schema, table, column, type,
     * constraint), are redacted whole: they print whatever the code hands them, so no pattern can tell a value
     * from prose. The server's own names are kept.
     */
    String maskMessage(char field, String text, Analysis analysis, java.util.Map<Character, String> fields) {
        if (field == 'C') {
            return raisedCode(text, analysis, fields);
        }
        if (field == 'S' || field == 'V') {
            return raisedLevel(text, analysis, fields);
        }
        if (field == 'P' || field == 'p') {
            return position(field, text, analysis, fields);
        }
        boolean name = field == 's' || field == 't' || field == 'c' || field == 'd' || field == 'n';
        if (text == null || text.isEmpty() || (name && !raised(fields))) {
            return text;
        }
        Masker current = masker.get();
        MaskContext context = context(analysis);
        if (!name && !raised(fields) && context.columnsRead().isEmpty() && meetsMaskedRows(analysis, current)) {
            // A write's error detail echoes the rows it wrote or met (Failing row contains (...), Key (...)=(...),
            // Partition key of the failing row contains ...), every column, whatever the statement itself read: an
            // attacker's pass stored computed e-mails in a redacted column and had UPDATE t SET n = 100 fail a CHECK.
            // Its message, hint and context too: what the server evaluates over those rows without the statement
            // naming it (a CHECK, an expression index, a domain's constraint, a row security policy) quotes the
            // stored value in a cast error (invalid input syntax for type integer: "...").
            context = new MaskContext(context.username(), context.groups(), context.agent(), context.environment(),
                    MaskContext.UNKNOWN_READS, context.derivedColumns());
        }
        if ((name || field == 'M' || field == 'D' || field == 'H') && raised(fields)
                && current.masksAnything(context) && !context.columnsRead().isEmpty()) {
            return "[redacted: raised by a statement over sensitive data]";
        }
        return name ? text : current.maskMessage(text, context, field == 0 ? null : names(analysis, fields));
    }

    /**
     * An error's position, for a statement that could carry a sensitive value: dropped (null) when it is an internal
     * query's ({@code p}), when the error has a context or an internal query (what raised it ran inside the
     * statement: a type name, a function's text or an EXECUTEd string, built at run time), or when it points past the
     * statement's own text. Otherwise the offset is into what the client wrote, and psql's caret still shows.
     */
    private String position(char field, String text, Analysis analysis, java.util.Map<Character, String> fields) {
        MaskContext context = context(analysis);
        if (!masker.get().echoesSensitive(context) && !(analysis != null && meetsMaskedRows(analysis, masker.get()))) {
            return text;
        }
        if (field == 'p' || fields.containsKey('W') || fields.containsKey('q') || analysis == null) {
            return null;
        }
        long written = 0;
        for (StatementFacts f : analysis.statements()) {
            written += f.text().length() + 2;
        }
        try {
            return Long.parseLong(text.trim()) <= written ? text : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /**
     * The SQLSTATE of an error or notice: the server's own is kept, but {@code RAISE ... USING ERRCODE = expr}
     * takes any five characters of {@code [0-9A-Z]}, so a statement over sensitive data could spell a value in the
     * codes of its notices. There the code of a RAISE becomes the one a RAISE without ERRCODE gets at its level
     * ({@code exec_stmt_raise} sets P0001 for an error; {@code errstart} 01000 for a WARNING, 00000 below): a
     * handler's condition then shows as the default. An ASSERT's code is always P0004; a re-raised error
     * ({@code RAISE;}) keeps the fields of the error it re-raises, the server's own.
     */
    private String raisedCode(String code, Analysis analysis, java.util.Map<Character, String> fields) {
        if (!"exec_stmt_raise".equals(fields.get('R'))) {
            return code;
        }
        if (!noticesMayCarryValues(analysis)) {
            return code;
        }
        // Below an error every level shows as NOTICE there (raisedLevel), which a RAISE without ERRCODE codes 00000.
        return endsTheStatement(fields) ? "P0001" : "00000";
    }

    /**
     * The level of a RAISE below an error, in a statement over sensitive data: NOTICE, whatever the code chose
     * (RAISE WARNING when a value's bit is set, RAISE NOTICE otherwise, spells the value in levels). An error's is
     * kept: it ends the statement either way.
     */
    private String raisedLevel(String level, Analysis analysis, java.util.Map<Character, String> fields) {
        if (!raised(fields) || endsTheStatement(fields) || !noticesMayCarryValues(analysis)) {
            return level;
        }
        return "NOTICE";
    }

    private static boolean endsTheStatement(java.util.Map<Character, String> fields) {
        String severity = fields.getOrDefault('V', fields.getOrDefault('S', ""));
        return severity.equals("ERROR") || severity.equals("FATAL") || severity.equals("PANIC");
    }

    /**
     * Whether the notices answering {@code analysis} may carry values the policy masks for this identity: it reads a
     * masked column, or what Warden cannot tell (a trigger or rule that reads the row it writes counts). What such a
     * statement RAISEs is redacted (maskMessage), and so are the RAISE's level and code and the number of its
     * notices beyond the first (the relay withholds the rest), which a loop raising {@code ascii(c)} notices
     * chooses by a value. The same condition as the RAISE's text: a write that only meets masked rows, whose
     * triggers read none, raises what it raises in clear (the regression suite's merge and copy show their
     * triggers' notices so).
     */
    boolean noticesMayCarryValues(Analysis analysis) {
        MaskContext context = context(analysis);
        return !context.columnsRead().isEmpty() && masker.get().masksAnything(context);
    }

    /**
     * What an error's or notice's text may name in clear (see {@link MessageNames}): its own
     * name fields, unless code set them (RAISE ... USING), and the words of the statements Warden read.
     */
    private static MessageNames names(Analysis analysis, java.util.Map<Character, String> fields) {
        List<String> fieldNames = new ArrayList<>();
        if (!raised(fields)) {
            for (char f : new char[] {'s', 't', 'c', 'd', 'n'}) {
                if (fields.get(f) != null) {
                    fieldNames.add(fields.get(f));
                }
            }
        }
        List<String> texts = new ArrayList<>();
        if (analysis != null) {
            StatementWalk.any(analysis, f -> {
                texts.add(f.text());
                return false;
            });
        }
        return new MessageNames(fieldNames, texts, fields.containsKey('H'));
    }

    /**
     * Whether {@code analysis} stores or meets rows (INSERT, UPDATE, DELETE, MERGE, COPY, EXECUTE; an ALTER of a
     * relation looked up) of a relation with a column the policy masks, or one not known: its error texts may echo
     * such a column's stored value. So does a read of a relation (or through a view of one) that evaluates row
     * security policies and has a masked column, and an ALTER DOMAIN, which checks every column of the domain
     * (which relations use it is not looked up). Other statements (an ALTER TYPE, a CREATE TABLE, a read where
     * nothing but what the statement names is evaluated over the rows) echo no stored value it did not name.
     */
    private boolean meetsMaskedRows(Analysis analysis, Masker current) {
        if (analysis == null) {
            return false;
        }
        if (catalog != null) {
            for (String reached : catalog.reachedNames(analysis)) {
                if (catalog.securesRowsWithAMaskedColumn(reached, current)) {
                    return true;
                }
            }
        }
        return StatementWalk.any(analysis, f -> {
            if (f.kind() == StatementKind.ALTER && "DOMAIN".equals(f.objectType())) {
                return true;
            }
            if (writesRows(f) && f.writes()) {
                if (f.tablesWritten().isEmpty()) {
                    return true; // a write of what Warden cannot name (an EXECUTE's, a function's)
                }
                for (dev.warden.sql.TableRef t : f.tablesWritten()) {
                    if (writesMaskedRows(t.name(), current, 0, new java.util.HashSet<>())) {
                        return true;
                    }
                }
            } else if (f.kind() == StatementKind.ALTER && catalog != null) {
                // ALTER TABLE ... ADD FOREIGN KEY checks the rows already there and echoes one that fails.
                for (dev.warden.sql.TableRef t : f.tablesWritten()) {
                    if (catalog.looked(t.name()) && catalog.mayMaskAColumn(t.name(), current)) {
                        return true;
                    }
                }
            }
            return false;
        });
    }

    /**
     * Whether {@code f} stores or meets rows: a write, or a statement whose data-modifying WITH query writes (a
     * helper's pass, a134 F1: {@code WITH x AS (UPDATE t SET n = 100 RETURNING 1) SELECT 1} echoed the failing row
     * of a table with a masked column in clear; it was judged by its kind, SELECT).
     */
    private static boolean writesRows(StatementFacts f) {
        if (ROW_WRITES.contains(f.kind())) {
            return true;
        }
        for (StatementKind k : ROW_WRITES) {
            if (f.innerKinds().contains(k)) {
                return true;
            }
        }
        return false;
    }

    /** How deep {@link #writesMaskedRows} follows the writes a write runs. */
    private static final int MET_ROWS_DEPTH = 4;

    /**
     * Whether writing the relation {@code name} may store or meet rows of a relation with a column the policy
     * masks, or of one not known: the relation itself, the tables a write through a view of that name stores into
     * (its CHECK OPTION and the base table's constraints report the base table's row), and what the tables its
     * triggers, rules and foreign keys' actions write (from {@link CatalogCache#runBy}), a few levels deep. A
     * helper's pass (a134 F2, F3) had a trigger, a rule and an ON UPDATE CASCADE of a clear table, and an updatable
     * view showing clear columns only, write a table whose masked column the failing row's DETAIL then showed.
     * What writing a relation runs that the catalog could not read counts as meeting masked rows.
     */
    private boolean writesMaskedRows(String name, Masker current, int depth, Set<String> seen) {
        if (catalog == null || catalog.mayMaskAColumn(name, current)) {
            return true; // a masked column, or a relation the catalog does not know (yet)
        }
        if (depth >= MET_ROWS_DEPTH || !seen.add(name)) {
            return false;
        }
        for (dev.warden.sql.TableRef base : catalog.writtenThroughViews(name)) {
            if (writesMaskedRows(base.name(), current, depth + 1, seen)) {
                return true;
            }
        }
        List<StatementFacts> run = catalog.runBy(name, true);
        if (run == null) {
            return catalog.looked(name);
        }
        for (StatementFacts top : run) {
            for (StatementFacts f : top.allStatements()) {
                if (!writesRows(f) || !f.writes()) {
                    continue;
                }
                if (f.tablesWritten().isEmpty()) {
                    return true;
                }
                for (dev.warden.sql.TableRef t : f.tablesWritten()) {
                    if (writesMaskedRows(t.name(), current, depth + 1, seen)) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /** Statements whose errors echo rows they store or meet. */
    private static final java.util.Set<StatementKind> ROW_WRITES = java.util.EnumSet.of(StatementKind.INSERT,
            StatementKind.UPDATE, StatementKind.DELETE, StatementKind.MERGE, StatementKind.COPY, StatementKind.EXECUTE);

    /** Whether an error's or notice's text is what PL/pgSQL code chose: a RAISE or an ASSERT. */
    private static boolean raised(java.util.Map<Character, String> fields) {
        String routine = fields.get('R');
        return "exec_stmt_raise".equals(routine) || "exec_stmt_assert".equals(routine);
    }

    /**
     * DDL (typed, or run by a DO block, a function body or dynamic SQL, or committed by COMMIT PREPARED) may change
     * what the catalog says. Returns
     * what it recorded as redefined, or null when {@code analysis} is no DDL.
     */
    Redefined invalidateAfterDdl(Analysis analysis) {
        return invalidateAfterDdl(analysis, List.of());
    }

    /**
     * As above, with {@code run}: statements that may create a relation, which relations {@code analysis} names run
     * (a trigger's function that makes a view, see {@link TemporaryRelations#sending}): DDL all the same.
     */
    Redefined invalidateAfterDdl(Analysis analysis, List<StatementFacts> run) {
        if (analysis == null) {
            return null;
        }
        boolean current = judged.ran(analysis);
        if ((sessionDdl == null || !sessionDdl.isEmpty()) && StatementWalk.any(analysis, ResultMasking::dropsTemporary)) {
            // The session's temporary relations go (its DDL may have made some): what the catalog read of them is
            // dropped, as when the session ends. (Not for every DISCARD ALL: a pooler sends one per client.)
            Set<String> made = sessionDdl;
            sessionDdl = Set.of();
            invalidate(made);
            if (!StatementWalk.any(analysis, ResultMasking::changesCatalog) && run.isEmpty()) {
                return new Redefined(made);
            }
        }
        if (run.isEmpty() && !StatementWalk.any(analysis, ResultMasking::changesCatalog)) {
            if (StatementWalk.any(analysis, ResultMasking::selectsInto)) {
                // A SELECT INTO makes a relation, temporary when the search_path puts pg_temp first: a DISCARD
                // must forget what the catalog reads of it. (The catalog is not dropped for it: a name it read as
                // missing is masked as unknown until its entry expires.)
                madeBySession(catalog.names(analysis));
            }
            return null;
        }
        Analysis all = run.isEmpty() ? analysis : withRun(analysis, run);
        Set<String> names = catalog.names(all);
        // Recorded in the catalog too: other sessions' prepared statements that reach them are stale.
        Set<String> redefined = JudgedExposures.redefinedNames(all, names);
        if (redefined != null && !redefined.isEmpty() && StatementWalk.any(all, ResultMasking::changesRoutine)) {
            redefined = new java.util.HashSet<>(redefined);
            redefined.add(CatalogCache.ANY_ROUTINE);
        }
        invalidate(redefined);
        judged.redefined(analysis, names, current);
        if (StatementWalk.any(all, ResultMasking::mayMakeTemporary)) {
            madeBySession(redefined);
        }
        return new Redefined(redefined);
    }

    /** {@code analysis}'s statements, then {@code run}. */
    static Analysis withRun(Analysis analysis, List<StatementFacts> run) {
        List<StatementFacts> all = new java.util.ArrayList<>(analysis.statements());
        all.addAll(run);
        return new Analysis(all);
    }

    /** DISCARD TEMP (TEMPORARY) or DISCARD ALL: the session's temporary relations are dropped. */
    private static boolean dropsTemporary(StatementFacts f) {
        return f.kind() == StatementKind.DISCARD && DISCARDS_TEMPORARY.matcher(f.text()).find();
    }

    private static final java.util.regex.Pattern DISCARDS_TEMPORARY = java.util.regex.Pattern.compile(
            "(?i)(?<![\\w$])(temp|temporary|all)(?![\\w$])");

    /** TEMP, TEMPORARY or pg_temp anywhere in a statement's text (a string or a name too: that only over-counts). */
    private static final java.util.regex.Pattern TEMPORARY = java.util.regex.Pattern.compile(
            "(?i)(?<![\\w$])(temp|temporary|pg_temp)(?![\\w$])");

    /**
     * A statement that may make a temporary relation: any DDL, a SELECT INTO (or one that says TEMP), or SQL Warden
     * cannot read. Not only DDL that says TEMP: a relation made while the search_path puts pg_temp first, or in a
     * schema spelled {@code pg_temp_3} or {@code U&"pg\005ftemp"}, is temporary too, and DISCARD dropped it while
     * Warden's catalog still resolved the name to it (an attacker's pass, 2026-12-06).
     */
    private static boolean mayMakeTemporary(StatementFacts f) {
        return f.dynamicSql() || f.unparsed() || changesCatalog(f) || selectsInto(f);
    }

    /** A SELECT that may make a table: it writes one (INTO, or a data-modifying WITH), or it says TEMP. */
    private static boolean selectsInto(StatementFacts f) {
        return f.kind() == StatementKind.SELECT && (!f.tablesWritten().isEmpty()
                || TemporaryRelations.mentions(f.text(), "temp") && TEMPORARY.matcher(f.text()).find());
    }

    /** Names this session's DDL that may make temporary relations redefined; null once any name may be. */
    private Set<String> sessionDdl = Set.of();

    private void madeBySession(Set<String> redefined) {
        if (sessionDdl == null) {
            return;
        }
        if (redefined == null || sessionDdl.size() + redefined.size() > 1024) {
            sessionDdl = null;
            return;
        }
        if (sessionDdl.isEmpty()) {
            sessionDdl = new java.util.HashSet<>();
        }
        sessionDdl.addAll(redefined);
    }

    /**
     * The session's server connection closed: its backend exited and the server dropped the session's temporary
     * relations, which may have shadowed names for it (and, as candidates of an unqualified name, for other
     * sessions). When its DDL may have made one (any DDL or SELECT INTO: pg_temp may have been first on its path), what
     * the catalog read is dropped, as after a commit. (Not after every session: a dropped catalog makes the next
     * statements of every session wait for it.)
     */
    void sessionEnded() {
        if (catalog != null && (sessionDdl == null || !sessionDdl.isEmpty())) {
            catalog.invalidate(sessionDdl);
        }
    }

    /** The names DDL may have redefined (null: any name). */
    record Redefined(Set<String> names) {
    }

    private static final java.util.concurrent.atomic.AtomicLong AUTHORS = new java.util.concurrent.atomic.AtomicLong();

    /** This session's number on the DDL it sends, in the catalog's record of what DDL redefined. */
    final long ddlAuthor = AUTHORS.incrementAndGet();

    /**
     * The transaction of DDL that redefined these ended. The catalog is read on Warden's own connection, which
     * saw the state before it while it was open: what it read meanwhile (for any session) is dropped again.
     */
    void transactionEnded(Redefined redefined) {
        invalidate(redefined.names());
    }

    /**
     * Objects whose code runs where no statement's text names it: routines, and a domain's CHECK and DEFAULT and a
     * cast's function, which run wherever a value is converted to the type (a Bind's parameter, a column of the
     * domain written). An ALTER DOMAIN ... ADD CHECK records the domain's and the function's names, which no
     * statement converting to it names (a helper's review).
     */
    private static final Set<String> ROUTINES = Set.of("FUNCTION", "PROCEDURE", "ROUTINE", "AGGREGATE", "DOMAIN",
            "CAST");

    /** CREATE (OR REPLACE) or ALTER of a function, procedure, routine, aggregate, domain or cast: see ROUTINES. */
    private static boolean changesRoutine(StatementFacts f) {
        return (f.kind() == StatementKind.CREATE || f.kind() == StatementKind.ALTER)
                && ROUTINES.contains(f.objectType());
    }

    private static boolean changesCatalog(StatementFacts f) {
        dev.warden.sql.StatementKind k = f.kind();
        // ANALYZE (and VACUUM ANALYZE) fills the statistics, which masking judges by what they sample; REFRESH
        // recomputes a materialized view's rows, which masking judges against what its definition reaches (a view
        // judged possibly stale before it is clear after: only precision waits for the entries' expiry otherwise).
        return k == dev.warden.sql.StatementKind.CREATE || k == dev.warden.sql.StatementKind.ALTER
                || k == dev.warden.sql.StatementKind.ANALYZE || k == dev.warden.sql.StatementKind.VACUUM
                || k == dev.warden.sql.StatementKind.REFRESH
                || k == dev.warden.sql.StatementKind.DROP || k == dev.warden.sql.StatementKind.DROP_OWNED
                || k == dev.warden.sql.StatementKind.REASSIGN_OWNED || f.dynamicSql()
                || JudgedExposures.commitsPrepared(f);
    }

    /** @param redefined the names DDL may have redefined (null: any name) */
    private void invalidate(Set<String> redefined) {
        catalog.invalidate(redefined, ddlAuthor); // this session's DDL: see CatalogCache#namedRedefinedSince
        plans.clear();
        lastPlan = null;
        judged.newGeneration();
    }

    private MaskContext context(Analysis analysis) {
        Exposure exposure = analysis == null ? UNKNOWN : exposure(analysis);
        if (!exposure.sensitive() && settlesTransaction(analysis)) {
            exposure = SETTLES;
        }
        return context(exposure);
    }

    /**
     * Whether {@code analysis} ends a transaction or checks its deferred constraints: COMMIT (END, COMMIT AND CHAIN),
     * PREPARE TRANSACTION, SET CONSTRAINTS. What the server does then answers the transaction's earlier statements,
     * not this one's text: a WITH HOLD cursor's query runs to the end at COMMIT (a cast error printed every masked
     * value it computed), and a deferred constraint's {@code Key (ssn)=(...)} quotes the rows an earlier INSERT
     * stored (a helper's pass, a126). Its errors and notices are masked as those of a statement over sensitive data.
     */
    private static boolean settlesTransaction(Analysis analysis) {
        if (analysis == null) {
            return false;
        }
        for (int i = 0; i < analysis.statements().size(); i++) { // per message: no iterator
            StatementFacts f = analysis.statements().get(i);
            if (f.kind() == StatementKind.COMMIT) { // COMMIT, END and PREPARE TRANSACTION are read as COMMIT
                return true;
            }
            if (f.kind() == StatementKind.SET && SETTLING.matcher(f.text()).find()) { // SET CONSTRAINTS, comments or not
                return true;
            }
        }
        return false;
    }

    private static final java.util.regex.Pattern SETTLING = java.util.regex.Pattern.compile(
            "\\bconstraints\\b", java.util.regex.Pattern.CASE_INSENSITIVE);

    private static final Exposure SETTLES = new Exposure(true, Set.of(), Set.of(), "it ends a transaction or checks "
            + "its deferred constraints, which runs what its earlier statements left (a WITH HOLD cursor's query, a "
            + "deferred constraint)");

    private MaskContext context(Exposure exposure) {
        if (exposure == Exposure.NONE && clear != null) {
            return clear;
        }
        if (exposure == lastExposure) {
            return lastContext; // a repeated shape's judgement is the same instance (see ScreenedShapes)
        }
        MaskContext context = new MaskContext(identity.username(), identity.groups(),
                identity.kind() == Identity.Kind.AGENT, environment,
                exposure.sensitive() ? MaskContext.UNKNOWN_READS : Set.of(), exposure.derivedColumns());
        lastExposure = exposure;
        lastContext = context;
        return context;
    }

    /** The last exposure a context was made for, and that context: both depend on nothing else of the session. */
    private Exposure lastExposure;
    private MaskContext lastContext;

    /**
     * Whether every statement is an EXPLAIN that runs neither its statement nor a function body: a plan shows the
     * statement's own text, names and estimates, never a table's values, so its rows are kept and only
     * value-scanned. Errors and notices it raises are still masked as the statement's. EXPLAIN ANALYZE runs the
     * query and, though it discards the rows, counts what they did: how often a CASE ran its subplan over a
     * sensitive value ({@code loops=53} for a {@code 5}) is a number the value decides, so its plan is masked as
     * the statement's rows would be. A
     * function is another matter: the planner computes an immutable call of constants while planning and shows
     * its result (EXPLAIN VERBOSE), and a user function's body may read any table; a plan of a call whose body
     * reads a relation (or cannot be read) is masked as the statement's rows would be.
     */
    private boolean onlyExplains(Analysis analysis) {
        if (analysis == null || !explainsOnly(analysis)) {
            return false;
        }
        if (catalog == null) {
            return false;
        }
        // What the views it reads call: an immutable call there is folded into the plan too (a helper's pass, a137
        // F12: EXPLAIN VERBOSE of a view over such a function showed what its body read).
        for (String name : catalog.reachedNames(analysis)) {
            List<StatementFacts> run = catalog.runBy(name, false);
            if (run == null || !readsNothing(run)) {
                return false;
            }
        }
        return true;
    }

    private static boolean explainsOnly(Analysis analysis) {
        for (int i = 0; i < analysis.statements().size(); i++) { // per result: no stream, no iterator
            StatementFacts f = analysis.statements().get(i);
            if (f.kind() != StatementKind.EXPLAIN || Analyzer.explainRuns(f.text(), true)) {
                return false;
            }
            if (f.dynamicSql()) {
                return false;
            }
            for (StatementFacts s : f.allStatements()) {
                if (s.dynamicSql() || !readsNothing(s.nested())) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * Whether the statements of called bodies read no relation and run nothing unreadable: {@code RETURN true} (read
     * as {@code SELECT true}) or a built-in's call computes no value from a table. A function such a body calls is
     * nested under it, with its own reads.
     */
    private static boolean readsNothing(List<StatementFacts> bodies) {
        for (StatementFacts body : bodies) {
            for (StatementFacts b : body.allStatements()) {
                if (b.dynamicSql() || b.unparsed() || !b.tablesRead().isEmpty() || !b.tablesWritten().isEmpty()) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * What nothing is known about: every column is masked, every echoed value redacted. (Only expressions were: a
     * helper's pass, a134 F5, read a view's computed SSNs in clear through a FETCH of a cursor a function opened;
     * a view's column arrives with the view's table OID and a name no rule masks.)
     */
    private static final Exposure UNKNOWN = new Exposure(true, Set.of(MaskContext.EVERY_COLUMN), Set.of(),
            "Warden did not see the statement");

    /**
     * Whether {@code analysis} could carry a sensitive value: as computed when it was screened (the catalog was
     * current then), else now. A FETCH or MOVE takes on its cursor's DECLARE; an unknown cursor (one a function
     * opened) is unknown. An EXECUTE takes on the statement prepared under its name; an unknown one is unknown.
     */
    private Exposure exposure(Analysis analysis) {
        JudgedExposures.Judged earlier = judged.get(analysis);
        List<String> path = searchPath.get();
        Exposure known;
        if (earlier == null) {
            ScreenedShapes.Judgement judgement = judge(analysis, masker.get(), path);
            known = judgement.exposure();
            remember(analysis, judgement, path);
        } else if (judged.stale(earlier)) {
            // A prepared statement judged clear, run after DDL redefined what it reads (a view replaced) or after a
            // statement that may have changed the search_path: the server re-plans it, and it may now read other
            // relations. It is judged again with the path as now known (not read since: every candidate counts);
            // names the catalog has not looked up again count as sensitive (fail closed).
            ScreenedShapes.Judgement judgement = judge(analysis, masker.get(), path);
            known = judgement.exposure();
            java.util.Set<String> missing = shapes.functionsToResolve(analysis, true);
            if (missing.isEmpty()) {
                remember(analysis, judgement, path);
            } else if (analyzer != null) {
                // This run fails closed; the names are read again off the loop, and a later run is judged with
                // them (a statement judged sensitive is never judged again).
                catalog.resolveFunctions(missing, analyzer).exceptionally(failure -> null);
            }
        } else {
            known = earlier.exposure();
        }
        return inTransaction(analysis, throughCursorsOnce(analysis, known), true);
    }

    /*
     * Each result of a text is planned with the exposure of the whole text (every statement of it), so a Query of n
     * statements asks n times. Walking every statement each time cost time quadratic in n on the event loop (16,000
     * "SELECT 1;" took 16 s; ManyStatementsQueryTest). What a walk found is kept for the text while what it read is
     * unchanged; anything else walks again.
     */

    /** The text {@link #throughCursorsOnce} last walked, and what that walk found. */
    private Analysis walkedText;
    /** Whether the text has a FETCH, MOVE or EXECUTE (their rows come from session state, which changes). */
    private boolean walkedFollowsState;
    /** The last exposure a statement read by value gave (readByValue), null when none: with no cursor, per text. */
    private Exposure walkedByValue;

    /**
     * {@link #throughCursors}, from what the text's walk found when the session holds no cursor and the text runs
     * nothing prepared: then each statement's part depends on its own text only.
     */
    private Exposure throughCursorsOnce(Analysis analysis, Exposure computed) {
        if (!cursors.isEmpty()) {
            return throughCursors(analysis, computed);
        }
        if (analysis != walkedText) {
            boolean followsState = false;
            Exposure byValue = null;
            for (int i = 0; i < analysis.statements().size(); i++) {
                StatementFacts f = analysis.statements().get(i);
                StatementKind k = f.kind();
                if (k == StatementKind.FETCH || k == StatementKind.MOVE || k == StatementKind.EXECUTE
                        || executeExplained(f)) {
                    followsState = true;
                    break;
                }
                Exposure read = readByValue(f);
                byValue = read != null ? read : byValue;
            }
            walkedText = analysis;
            walkedFollowsState = followsState;
            walkedByValue = byValue;
        }
        if (walkedFollowsState) {
            return throughCursors(analysis, computed);
        }
        return walkedByValue != null ? joined(computed, walkedByValue) : computed;
    }

    /**
     * The statement's own exposure with what it reads from session state ({@code other}: a cursor's rows, a
     * prepared statement's, rows read by a value): sensitive when either is, with both sets of derived columns and
     * names, and the statement's own laundering kept. Replacing it instead dropped the derived columns of a view the
     * same text read, and what it laundered (a helper's pass, a134 F6, F7: {@code WHERE EXISTS (SELECT 1 FROM
     * pg_cursor()) OR true} returned a view's computed SSNs in clear and let an INSERT copy them into a clear
     * table).
     */
    private static Exposure joined(Exposure own, Exposure other) {
        if (own == other) {
            return own;
        }
        Set<String> derived = new LinkedHashSet<>(own.derivedColumns());
        derived.addAll(other.derivedColumns());
        Set<String> names = new LinkedHashSet<>(own.sensitiveNames());
        names.addAll(other.sensitiveNames());
        String reason = own.sensitive() || !other.sensitive() ? own.reason() : other.reason();
        String launders = own.launders().isEmpty() ? other.launders() : own.launders();
        return new Exposure(own.sensitive() || other.sensitive(), derived, names, reason, launders);
    }

    /** The last {@link #inTransaction} of a text with no other session's DDL open, its inputs and its answer. */
    private Analysis weighedText;
    private Exposure weighedComputed;
    private Unreadable weighedUnreadable;
    private long weighedInvalidations;
    private long weighedGeneration;
    private Masker weighedMasker;
    private List<String> weighedPath;
    private Exposure weighedAnswer;

    private Exposure throughCursors(Analysis analysis, Exposure computed) {
        for (int i = 0; i < analysis.statements().size(); i++) { // per result: no iterator
            StatementFacts f = analysis.statements().get(i);
            if (f.kind() == StatementKind.FETCH || f.kind() == StatementKind.MOVE) {
                java.util.Optional<String> name = TextReferences.cursorName(f);
                Exposure declared = name.map(this::standingCursor).orElse(null);
                if (declared == null && name.isPresent() && declaredBefore(analysis, i, name.get())) {
                    // Declared earlier in this text (DECLARE k ...; FETCH 2 FROM k): its rows are what the text's
                    // own exposure covers, the DECLARE's query included (a134 F5 had it judged unknown).
                    continue;
                }
                if (declared == null) {
                    return UNKNOWN;
                }
                Analysis now = declared.sensitive() ? null : name.map(cursorQueries).orElse(null);
                if (now != null) {
                    // Its plan is the DECLARE's, but the functions it calls run as they are now: a body a
                    // migration replaced may read what the DECLARE's did not. The stricter of the two holds.
                    declared = stricter(declared, exposure(now));
                    // And judged afresh with the catalog as it is now and the bodies the open transaction wrote: what
                    // a body reads by name may have been replaced since (a helper's pass, a138: a cursor declared over
                    // a function, the view its body read replaced over customers, then FETCH).
                    declared = stricter(declared, judgedAlone(now.statements(), masker.get(), searchPath.get()));
                }
                if (declared.sensitive() || !declared.derivedColumns().isEmpty()) {
                    computed = joined(computed, declared);
                }
            } else if (f.kind() == StatementKind.EXECUTE || executeExplained(f)) {
                // Its rows are the prepared statement's, which the text EXECUTE name does not show; so is what
                // EXPLAIN ANALYZE of it counts.
                StatementFacts execute = f.kind() == StatementKind.EXECUTE ? f : f.inner().orElseThrow();
                Analysis prepared = execute.preparedName().map(preparedStatements).orElse(null);
                if (prepared == null || followingExecute > 3) {
                    return UNKNOWN; // (a protocol statement may itself be an EXECUTE, of itself too)
                }
                Exposure ran;
                followingExecute++;
                try {
                    ran = exposure(prepared);
                } finally {
                    followingExecute--;
                }
                if (ran.sensitive() || !ran.derivedColumns().isEmpty()) {
                    computed = joined(computed, ran);
                }
            } else {
                Exposure read = readByValue(f);
                if (read != null) {
                    computed = joined(computed, read);
                }
            }
        }
        return computed;
    }

    /**
     * {@code statements} and what reading the relations {@code analysis} names runs, as the catalog knows it now:
     * the bodies of the functions their view definitions and policies call. A function a view calls, replaced
     * after the view was made to hand its argument to set_config, was not screened (a helper's pass, a134 F10).
     */
    private List<StatementFacts> withWhatReadsRun(List<StatementFacts> statements, Analysis analysis) {
        if (catalog == null) {
            return statements;
        }
        List<StatementFacts> out = null;
        for (String name : catalog.reachedNames(analysis)) {
            List<StatementFacts> run = catalog.runBy(name, false);
            if (run != null && !run.isEmpty()) {
                out = out == null ? new ArrayList<>(statements) : out;
                out.addAll(run);
            }
        }
        return out == null ? statements : out;
    }

    /**
     * Why {@code analysis} may not give a relation a name that a function body reads, or null: a statement over
     * sensitive values that makes a view, table or materialized view of that name, or any rename or move of a relation
     * to it. A body resolves the names it reads when it runs, as whatever relation has them then (a temporary one
     * first): the function's callers (a view, an operator, an aggregate, a default, a CHECK of a table a trigger
     * writes, a cursor declared before) then read sensitive values that nothing they name says they read. Helpers'
     * passes (a136 F2, F5-F7; a137) made such functions over a name that did not exist yet, or was a clear view, and
     * then made it a view over customers: every route that reached the body leaked, one after another.
     */
    private String nameBodiesRead(Analysis analysis, Exposure exposure) {
        Set<String> words = null;
        for (StatementFacts top : analysis.statements()) {
            for (StatementFacts f : top.allStatements()) {
                boolean relation = RELATION_KINDS.contains(f.objectType());
                if (!relation && (f != top || f.kind() != StatementKind.SELECT || f.tablesWritten().isEmpty())) {
                    continue; // the usual statement: nothing is made or renamed, nothing allocated
                }
                List<String> named = new ArrayList<>();
                // (SELECT INTO of the text itself: in a PL/pgSQL body it sets variables.)
                if (exposure.sensitive() && (f.kind() == StatementKind.CREATE && relation
                        || f == top && f.kind() == StatementKind.SELECT && !f.tablesWritten().isEmpty())) {
                    f.tablesWritten().forEach(t -> named.add(t.name()));
                }
                if (f.kind() == StatementKind.ALTER && relation) {
                    named.addAll(TextReferences.renamedTo(f.text()));
                    if (TextReferences.setsSchema(f.text())) {
                        f.tablesWritten().forEach(t -> named.add(t.name()));
                    }
                }
                if (named.isEmpty()) {
                    continue;
                }
                words = words != null ? words : catalog == null ? null : catalog.namesInBodies();
                if (words == null) {
                    return "a masked identity may not make, rename or move a relation while Warden cannot read "
                            + "which names function bodies read (the catalog could not be read)";
                }
                Unreadable open = transactionDdl.apply(null);
                if (open.everything() || !open.functions().isEmpty()) {
                    return "a masked identity may not make, rename or move a relation in a transaction that altered a "
                            + "function or renamed a schema: which names function bodies read is not known until it ends";
                }
                // The bodies this transaction, or this text, made or replaced: the catalog Warden reads has the old
                // ones until the transaction commits (a helper's pass, a138 F4, replaced a function in the open
                // transaction to read a name, then made that name a view over customers).
                Set<String> own = new java.util.HashSet<>();
                for (List<StatementFacts> made : open.bodies().values()) {
                    made.forEach(m -> own.addAll(TextReferences.names(m.text())));
                }
                for (StatementFacts t2 : analysis.statements()) {
                    for (StatementFacts g : t2.allStatements()) {
                        if (g.kind() == StatementKind.CREATE && ("FUNCTION".equals(g.objectType())
                                || "PROCEDURE".equals(g.objectType()))) {
                            own.addAll(TextReferences.names(g.text()));
                        }
                    }
                }
                for (String name : named) {
                    String kept = TextReferences.keptName(name);
                    if (words.contains(name) || words.contains(kept) || own.contains(name) || own.contains(kept)) {
                        return "a masked identity may not " + (f.kind() == StatementKind.ALTER ? "rename or move "
                                + "a relation to" : "make a relation over sensitive values (" + exposure.reason()
                                + ") under") + " the name " + name + ", which a function's body reads: the body "
                                + "reads whatever has the name when it runs, where its callers (views, operators, "
                                + "defaults, constraints, triggers) name nothing sensitive";
                    }
                }
            }
        }
        return null;
    }

    /**
     * The column (as {@code table.column}) an ALTER of {@code analysis} renames from a name the policy does not mask
     * to one it masks, or null. Stored rules, views and SQL-standard bodies bind a column by position: a helper's pass
     * (a137 F13, F12) made rules copying a clear column on, renamed it to ssn, and filled it with SSNs (allowed, masked
     * into masked); the rules then copied them into a clear table two tables along.
     */
    private static String renamesIntoMasked(Analysis analysis, Masker current) {
        for (StatementFacts top : analysis.statements()) {
            for (StatementFacts f : top.allStatements()) {
                if (f.kind() != StatementKind.ALTER || !RELATION_KINDS.contains(f.objectType())
                        || f.tablesWritten().isEmpty()) {
                    continue;
                }
                dev.warden.sql.TableRef t = f.tablesWritten().iterator().next();
                for (String[] rename : TextReferences.columnRenames(f.text())) {
                    if (current.masksSourceColumn(t.schema(), t.name(), rename[1], 25)
                            && !current.masksSourceColumn(t.schema(), t.name(), rename[0], 25)) {
                        return t.name() + "." + rename[0];
                    }
                }
            }
        }
        return null;
    }

    /** The kinds of relation a function body may read by name. */
    private static final Set<String> RELATION_KINDS = Set.of("VIEW", "TABLE", "MATERIALIZED VIEW", "FOREIGN TABLE");

    /** A name, quoted or not. */
    private static final String POLICY_NAME = "(?:\"(?:[^\"]|\"\")*\"|[\\w$]+)";
    /** {@code [CREATE|ALTER] POLICY name ON [schema.]table}: the table's name (group 1, quoted or not). */
    private static final java.util.regex.Pattern POLICY_TABLE = java.util.regex.Pattern.compile("(?is)^\\s*(?:create|"
            + "alter)\\s+policy\\s+" + POLICY_NAME + "\\s+on\\s+(?:" + POLICY_NAME + "\\s*\\.\\s*)?(" + POLICY_NAME + ")");

    /**
     * Whether a policy statement, or what it calls, reads a relation other than the policy's own table (read from
     * its text; when the text is spelled otherwise, with comments between the words, every relation counts).
     */
    private static boolean readsBeyondItsTable(StatementFacts policy) {
        Set<String> own = new java.util.HashSet<>();
        policy.tablesWritten().forEach(t -> own.add(qualified(t)));
        java.util.regex.Matcher m = POLICY_TABLE.matcher(policy.text());
        if (m.find() && policy.tablesWritten().size() <= 1) {
            String table = m.group(1);
            String name = table.startsWith("\"") ? table.substring(1, table.length() - 1).replace("\"\"", "\"")
                    : table.toLowerCase(java.util.Locale.ROOT);
            String schema = policy.tablesWritten().isEmpty() ? "" : policy.tablesWritten().iterator().next().schema();
            own.add((schema == null ? "" : schema) + "." + name);
        }
        for (StatementFacts f : policy.allStatements()) {
            for (dev.warden.sql.TableRef t : f.tablesRead()) {
                // Schema and name, as written: public.customers is not the policy's own pg_temp.customers, nor a
                // bare customers that may be either (a helper's pass, a136 F8).
                if (!own.contains(qualified(t))) {
                    return true;
                }
            }
        }
        return false;
    }

    private static String qualified(dev.warden.sql.TableRef t) {
        return (t.schema() == null ? "" : t.schema()) + "." + t.name();
    }

    /**
     * Why a policy statement of {@code analysis} may later raise what it reads of another relation, or null: it (or a
     * function body it calls) reads a relation other than its own table, or it calls a function whose body Warden
     * has not read. Judged as for trigger code, whatever the relations hold now: a helper's pass (a136 F2) made a
     * policy whose function read a name that did not exist yet, then made that name a temporary view over customers,
     * and every read of its own table echoed SSNs; another policy read a clear view, replaced later. A policy that
     * tests its own table's columns, or calls a function whose body reads nothing (current_user), stays allowed.
     */
    private String policyReachingBeyond(Analysis analysis) {
        for (StatementFacts top : analysis.statements()) {
            if ((top.kind() != StatementKind.CREATE && top.kind() != StatementKind.ALTER)
                    || !"POLICY".equals(top.objectType())) {
                continue;
            }
            if (readsBeyondItsTable(top)) {
                return "reads a relation other than its own table";
            }
            for (StatementFacts f : top.allStatements()) {
                if (f.dynamicSql() || f.kind() == StatementKind.DO) {
                    return "runs SQL built at run time";
                }
                for (String fn : f.functions()) {
                    if (catalog == null || catalog.functionBodyUnread(fn)) {
                        return "calls " + fn + ", whose body Warden has not read";
                    }
                }
            }
        }
        return null;
    }

    /** Whether statement {@code before} of {@code analysis} is preceded by a DECLARE of cursor {@code name}. */
    private static boolean declaredBefore(Analysis analysis, int before, String name) {
        for (int i = 0; i < before; i++) {
            StatementFacts d = analysis.statements().get(i);
            if (d.kind() == StatementKind.DECLARE && TextReferences.cursorName(d).map(name::equals).orElse(false)) {
                return true;
            }
        }
        return false;
    }

    /** The exposure that masks more: a sensitive one, else the derived columns of both. */
    private static Exposure stricter(Exposure a, Exposure b) {
        if (a.sensitive() || b.sensitive()) {
            return a.sensitive() ? a : b;
        }
        if (a.derivedColumns().containsAll(b.derivedColumns()) && a.sensitiveNames().containsAll(b.sensitiveNames())) {
            return a;
        }
        Set<String> derived = new java.util.HashSet<>(a.derivedColumns());
        derived.addAll(b.derivedColumns());
        Set<String> names = new java.util.HashSet<>(a.sensitiveNames());
        names.addAll(b.sensitiveNames());
        return new Exposure(false, derived, names, a.reason().isEmpty() ? b.reason() : a.reason(), a.launders());
    }

    /** Whether {@code f} is an EXPLAIN of an EXECUTE. */
    /**
     * What {@code analysis} does when one of its statements runs a prepared statement by name (EXECUTE, CREATE TABLE
     * ... AS EXECUTE, EXPLAIN EXECUTE) and a later one changes what prepared names mean (PREPARE, DEALLOCATE,
     * DISCARD); null when it does not. The EXECUTE's rows are masked by the names as they stand after the whole text:
     * {@code EXECUTE q; DEALLOCATE q; PREPARE q AS <harmless>} had them masked as the harmless text's (an attacker's
     * pass, a146 C1). (A cursor's FETCH keeps what its DECLARE exposed, whatever a later CLOSE or DECLARE does.)
     */
    private static String namesRedefinedAfterRead(Analysis analysis) {
        boolean executed = false;
        for (StatementFacts f : analysis.statements()) {
            StatementKind k = f.kind();
            if (executed && (k == StatementKind.PREPARE || k == StatementKind.DEALLOCATE
                    || Execution.discardsNames(f))) {
                return "EXECUTE a prepared statement and then " + k.name();
            }
            executed |= k == StatementKind.EXECUTE || executeExplained(f)
                    || (k == StatementKind.CREATE || k == StatementKind.EXPLAIN)
                    && TextReferences.createdFromExecute(f.text()).isPresent();
        }
        return null;
    }

    private static boolean executeExplained(StatementFacts f) {
        return f.kind() == StatementKind.EXPLAIN && f.inner().isPresent()
                && f.inner().get().kind() == StatementKind.EXECUTE;
    }

    /** Functions that return the rows of a cursor named by a value (a refcursor: any cursor, computed or not). */
    private static final Set<String> READ_CURSOR = Set.of("cursor_to_xml");
    /** Where {@link #READ_CURSOR}'s functions take the cursor's name. */
    private static final java.util.Map<String, Integer> CURSOR_ARGUMENT = java.util.Map.of("cursor_to_xml", 0);
    /**
     * Functions that return the names of the session's portals and prepared statements (the set-returning functions
     * of {@code pg_cursors} and {@code pg_prepared_statements}): PL/pgSQL's OPEN names a portal by a variable's value.
     */
    private static final Set<String> SESSION_NAMES = Set.of("pg_cursor", "pg_prepared_statement");
    /**
     * Functions (superuser's, or granted by one) that return the stored bytes of relations named by a value or
     * reached by a path: pageinspect's pages and tuples, server files (a relation's file by pg_relation_filepath of
     * a computed name), WAL blocks and a logical slot's decoded changes. As every table of the database: sensitive
     * themselves, so refused with the handoffs.
     */
    private static final Set<String> RAW_READS = Set.of("get_raw_page", "heap_page_items", "heap_page_item_attrs",
            "tuple_data_split", "bt_page_items", "brin_page_items", "gist_page_items", "gist_page_items_bytea",
            "hash_page_items", "gin_leafpage_items", "pg_read_binary_file", "pg_read_file", "pg_get_wal_block_info",
            "pg_logical_slot_get_changes", "pg_logical_slot_peek_changes", "pg_logical_slot_get_binary_changes",
            "pg_logical_slot_peek_binary_changes");
    /** Functions that return the rows of every table of a schema or database, which the text does not name. */
    private static final Set<String> READ_EVERY_TABLE = Set.of("schema_to_xml", "schema_to_xml_and_xmlschema",
            "database_to_xml", "database_to_xml_and_xmlschema");
    /**
     * Functions that return what the query or relation of one of their arguments (its position, from 0) yields:
     * XML of its rows, the words of its tsvectors (ts_stat), the substitutes its rows name (ts_rewrite).
     */
    private static final java.util.Map<String, Integer> READ_ARGUMENT = java.util.Map.of("query_to_xml", 0,
            "query_to_xml_and_xmlschema", 0, "table_to_xml", 0, "table_to_xml_and_xmlschema", 0, "ts_stat", 0,
            "ts_rewrite", 1);
    /** The functions of {@link #READ_ARGUMENT} that read a query only with this many arguments. */
    private static final java.util.Map<String, Integer> READ_ARGUMENT_ARITY = java.util.Map.of("ts_rewrite", 2);

    /**
     * The exposure of {@code text}'s calls of {@code function} (one of {@link #READ_CURSOR}), which read the rows of
     * the cursor their first argument names: null when each names, as one string literal, a cursor this session
     * declared over clear values. A refcursor is the portal's name as is (no folding, no cut), as the cursors are
     * kept. Sensitive when a name is computed, or names a cursor Warden did not see declared.
     */
    private Exposure cursorsRead(String text, String function) {
        Optional<List<String>> names = TextReferences.literalArguments(text, CURSOR_ARGUMENT);
        if (names.isEmpty() || names.get().isEmpty()) {
            return new Exposure(true, Set.of(), Set.of(), "it reads the rows of a cursor named by a value computed "
                    + "at run time (" + function + ")");
        }
        for (String name : names.get()) {
            Exposure e = standingCursor(name);
            if (e == null) {
                return new Exposure(true, Set.of(), Set.of(), "it reads the rows of the cursor " + name + ", which "
                        + "Warden did not see declared (" + function + ")");
            }
            if (e.sensitive() || !e.derivedColumns().isEmpty()) {
                return new Exposure(true, e.derivedColumns(), e.sensitiveNames(), "it reads the cursor " + name
                        + ", whose rows are sensitive (" + e.reason() + ")");
            }
        }
        return null;
    }

    /**
     * Whether a statement other than FETCH or MOVE returns rows of relations or cursors it names only by a value,
     * which lineage cannot follow: {@code cursor_to_xml} of a cursor computed at run time, or not declared where
     * Warden saw it (a function may have opened it), or declared over sensitive values,
     * {@code schema_to_xml} and {@code database_to_xml} (every table they reach), {@code query_to_xml},
     * {@code table_to_xml}, {@code ts_stat} and {@code ts_rewrite} of a query or relation computed at run time
     * (a literal's names are judged as usual), a routine it runs that FETCHes from a cursor it did not open itself
     * (its refcursor argument, whatever the text names), and a statement or body that names a cursor declared over
     * sensitive values. Null when not; else a sensitive exposure, whose handoff is refused.
     */
    private Exposure readByValue(StatementFacts f) {
        for (StatementFacts s : f.allStatements()) {
            if (s != f && s.kind() == StatementKind.FETCH) {
                // A routine's FETCH of a cursor it did not open (see RoutineBodies): an argument names it, computed
                // or not, and a function may have opened it over anything.
                return new Exposure(true, Set.of(), Set.of(), "it runs a routine that FETCHes from a cursor named "
                        + "by a value, whose rows Warden cannot follow");
            }
        }
        for (StatementFacts s : f.allStatements()) {
            for (String fn : s.functions()) {
                String base = fn.substring(fn.lastIndexOf('.') + 1);
                if (READ_CURSOR.contains(base)) {
                    Exposure read = cursorsRead(s.text(), base);
                    if (read != null) {
                        return read;
                    }
                    continue;
                }
                if (base.startsWith("pg_stat_get_") || base.startsWith("pg_stat_statements")) {
                    // The functions of the counters views (see Exposure#countsActivity, a140 F9).
                    return new Exposure(true, Set.of(), Set.of(), "it reads the server's activity counters, which a "
                            + "statement may move as often as a value says (" + base + ")");
                }
                if (SESSION_NAMES.contains(base)) {
                    return new Exposure(true, Set.of(), Set.of(), "it reads the names of the session's portals or "
                            + "prepared statements, which a routine may have set to any value (" + base + ")");
                }
                if (RAW_READS.contains(base)) {
                    return new Exposure(true, Set.of(), Set.of(), "it reads the stored bytes of relations or files ("
                            + base + ")");
                }
                if (READ_EVERY_TABLE.contains(base)) {
                    return new Exposure(true, Set.of(), Set.of(), "it reads every table of a schema or database ("
                            + base + ")");
                }
                if (READ_ARGUMENT.containsKey(base) && TextReferences.computedArgument(s.text(), READ_ARGUMENT,
                        READ_ARGUMENT_ARITY)) {
                    return new Exposure(true, Set.of(), Set.of(), "it reads a query or relation computed at run "
                            + "time (" + base + ")");
                }
            }
        }
        if (cursors.isEmpty()) {
            return null;
        }
        // A DECLARE names its own cursor: a name used again, after a CLOSE, is judged by its new query.
        String declares = f.kind() == StatementKind.DECLARE ? TextReferences.cursorName(f).orElse(null) : null;
        for (StatementFacts s : f.allStatements()) {
            for (String name : TextReferences.names(s.text())) {
                Exposure e = name.equals(declares) ? null : cursors.get(name);
                if (e != null && (e.sensitive() || !e.derivedColumns().isEmpty())) {
                    return new Exposure(true, e.derivedColumns(), e.sensitiveNames(), "it names the cursor " + name
                            + ", whose rows are sensitive (" + e.reason() + ")");
                }
            }
        }
        return null;
    }

    /**
     * The text's DECLAREs as sent: each cursor carries the text's exposure to its FETCHes. Registered only when
     * the text goes upstream (a refused one declares nothing), and forgotten if the server fails the DECLARE: it
     * then keeps whatever cursor it had under the name ({@code 42P03}, a held cursor, or one declared before a
     * savepoint rolled back to), whose FETCH is masked whole, never as the refused query.
     */
    void declared(Analysis analysis, Execution execution) {
        if (analysis == null || !masksAnything()) {
            return;
        }
        Exposure exposure = null;
        for (int i = 0; i < analysis.statements().size(); i++) {
            StatementFacts f = analysis.statements().get(i);
            java.util.Optional<String> name = f.kind() == StatementKind.DECLARE ? TextReferences.cursorName(f)
                    : java.util.Optional.empty();
            if (name.isPresent()) {
                exposure = exposure != null ? exposure : exposure(analysis);
                cursors.put(name.get(), exposure);
                execution.undoOnFailure(new PreparedStatements.SqlUndo(i, () -> cursors.remove(name.get())));
            }
        }
    }

    /**
     * Forgets the cursors the session no longer holds ({@code held}: the portals as the server keeps them, see
     * {@link PreparedStatements#holdsCursor}): one not WITH HOLD ends with its transaction, and a FETCH of its name
     * then reads whatever cursor has it next (one a function opened): masked whole, never as the ended one.
     */
    void cursorsHeldOnly(java.util.function.Predicate<String> held) {
        if (!cursors.isEmpty()) {
            cursors.keySet().removeIf(name -> !held.test(name));
        }
    }

    /**
     * A cursor's query, run by a protocol Execute of the cursor's portal, carries the exposure its DECLARE was
     * screened with (as a FETCH does).
     */
    void exposedAsDeclared(Analysis query, Analysis declare) {
        // The cursor's plan was made at DECLARE: a later search_path does not change what it reads.
        judged.rememberFixed(query, exposure(declare));
    }

    /**
     * A cursor's query as it runs now ({@code now}: the functions it calls have other bodies than at its DECLARE,
     * {@code query}), for a protocol Execute of the cursor's portal: judged by the stricter of its DECLARE's exposure
     * and its own, as a FETCH is.
     */
    void exposedAsDeclaredAndNow(Analysis query, Analysis now) {
        JudgedExposures.Judged declared = judged.get(query);
        JudgedExposures.Judged earlier = judged.get(now);
        if (declared != null && (earlier == null || earlier.generation() >= 0)) {
            judged.rememberFixed(now, stricter(declared.exposure(), earlier == null ? exposure(now)
                    : earlier.exposure()));
        }
    }

    /**
     * A prepared statement about to run again after the catalog moved on (its entries read again: DDL elsewhere, a
     * view replaced outside Warden): judged again with the search_path it was judged with, and the stricter of the
     * two kept. A sensitive judgement, or none, stays as it is.
     */
    void catalogMovedOn(Analysis analysis) {
        JudgedExposures.Judged earlier = analysis == null || !masksAnything() ? null : judged.get(analysis);
        if (earlier == null || earlier.exposure().sensitive() || earlier.generation() < 0) {
            return;
        }
        ScreenedShapes.Judgement now = judge(analysis, masker.get(), earlier.path());
        Exposure stricter = stricter(earlier.exposure(), now.exposure());
        if (stricter != earlier.exposure()) {
            judged.remember(analysis, stricter, earlier.path(), now.reached(), now.invalidations());
        }
    }

    /** The catalog's judgement of {@code analysis}, once per shape, masker, path and catalog generation. */
    private ScreenedShapes.Judgement judge(Analysis analysis, Masker current, List<String> path) {
        return shapes.judge(analysis, current, path);
    }

    private void remember(Analysis analysis, ScreenedShapes.Judgement judgement, List<String> path) {
        // The judgement carries what DDL would have to touch to change a clear one (a sensitive one is never
        // relaxed). The path counts only where the catalog judged with it (one statement that sets nothing).
        List<String> used = CatalogCache.resolvesWithSessionPath(analysis) ? path : null;
        judged.remember(analysis, judgement.exposure(), used, judgement.reached(), judgement.invalidations());
    }

    /** What each statement was judged with, and whether a clear judgement went stale (DDL, search_path). */
    private final JudgedExposures judged;
    /** Each open cursor's exposure, from its DECLARE: the plan travels with the cursor to every FETCH. */
    private final java.util.Map<String, Exposure> cursors = new java.util.HashMap<>();

    /**
     * Functions that run SQL given as text, or carry a value where no result masking follows it. Numbers count
     * too: an advisory lock's key is shown by pg_locks (classid, objid) to every session, lo_create's OID by
     * pg_largeobject_metadata, and a descriptor's position (lo_lseek, and loread, which moves it by the length it
     * is given) or an object's size (lo_truncate) by lo_tell and lo_lseek, each read later by a statement naming
     * nothing sensitive; setseed's argument is the state of
     * random(), whose values tell it.
     */
    static final Set<String> HANDOFFS = Set.of("query_to_xml", "query_to_xml_and_xmlschema", "query_to_xmlschema",
            "cursor_to_xml", "cursor_to_xmlschema", "table_to_xml", "table_to_xml_and_xmlschema",
            "schema_to_xml", "schema_to_xml_and_xmlschema", "database_to_xml", "database_to_xml_and_xmlschema",
            "dblink", "dblink_exec", "dblink_send_query", "dblink_open", "dblink_fetch", "ts_stat", "pg_notify",
            "set_config", "lo_from_bytea", "lo_put", "lowrite", "lo_import", "lo_export", "pg_file_write",
            "lo_create", "lo_lseek", "lo_lseek64", "lo_truncate", "lo_truncate64", "loread",
            "pg_advisory_lock", "pg_advisory_lock_shared", "pg_advisory_xact_lock", "pg_advisory_xact_lock_shared",
            "pg_try_advisory_lock", "pg_try_advisory_lock_shared", "pg_try_advisory_xact_lock",
            "pg_try_advisory_xact_lock_shared", "setseed",
            // The session's random state moves once a call: a CASE calling random() 2^k times for each bit of a
            // value, then a clear SELECT random(), read the value (a helper's pass, a140 F8).
            "random", "random_normal",
            // Time a value chooses (a141 F2: pg_sleep of an SSN's digit), and another session of the identity's
            // ended or cancelled by a PID a value chooses (a141 F4: which one died spelled the digit).
            "pg_sleep", "pg_sleep_for", "pg_sleep_until", "pg_terminate_backend", "pg_cancel_backend",
            "pg_log_backend_memory_contexts",
            // A counter moved as many times as a value says, or a large object dropped by a computed OID, keeps the
            // value where every session reads it (a helper's pass, a137 F1: nextval over generate_series(1, an SSN's
            // digit), then last_value).
            "nextval", "lo_unlink",
            // Names a superuser login may give any value, which every session reads back in clear
            // (pg_replication_origin, pg_replication_slots, pg_replication_origin_status), and WAL messages a
            // logical slot's changes show.
            "pg_replication_origin_create", "pg_replication_origin_advance", "pg_replication_origin_session_setup",
            "pg_replication_origin_xact_setup", "pg_create_physical_replication_slot",
            "pg_create_logical_replication_slot", "pg_copy_physical_replication_slot",
            "pg_copy_logical_replication_slot", "pg_logical_emit_message",
            // The raw bytes of relations and files (see RAW_READS): every table's stored values.
            "get_raw_page", "heap_page_items", "heap_page_item_attrs", "tuple_data_split", "bt_page_items",
            "brin_page_items", "gist_page_items", "gist_page_items_bytea", "hash_page_items", "gin_leafpage_items",
            "pg_read_binary_file", "pg_read_file", "pg_get_wal_block_info", "pg_logical_slot_get_changes",
            "pg_logical_slot_peek_changes", "pg_logical_slot_get_binary_changes",
            "pg_logical_slot_peek_binary_changes");

    /** Whether the policy in force masks anything for this identity in this environment. */
    boolean masksAnything() {
        return masksAnything(masker.get());
    }

    /**
     * Whether {@code policyMasker} (a statement's policy snapshot) masks anything for this identity here. Asked
     * several times per statement; the answer depends only on the masker (a policy reload makes a new one) and
     * on this session's fixed identity, so the last masker's answer is kept. It is one immutable pair in a
     * volatile field: an analysis lane may ask at the same time as the event loop.
     */
    boolean masksAnything(Masker policyMasker) {
        MaskerAnswer last = lastAnswer;
        if (last != null && last.masker() == policyMasker) {
            return last.masks();
        }
        boolean masks = policyMasker.masksAnything(clear);
        lastAnswer = new MaskerAnswer(policyMasker, masks);
        return masks;
    }

    private record MaskerAnswer(Masker masker, boolean masks) {
    }

    private volatile MaskerAnswer lastAnswer;

    /**
     * Screens a statement before it runs, for a masked identity: refuses (42501) a statement that could carry a
     * sensitive value into something masking cannot follow (SQL run from text, dynamic EXECUTE, a DO body, a
     * notification, a setting, a large object), and, with {@code masking.protect_filters}, one that filters,
     * sorts, groups or joins on a sensitive column other than by equality with a bound parameter. Remembers the
     * exposure of the statement (and of a cursor it declares) for its results.
     */
    SessionLexing.Reading screen(SessionLexing.Reading reading) {
        Analysis analysis = reading.analysis();
        Masker current = masker.get();
        if (analysis == null || reading.refusal() != null || !masksAnything(current)) {
            return reading;
        }
        String copyEncoding = copyEncodingRefusal(analysis);
        if (copyEncoding != null) {
            return refused(reading, "masking-copy-encoding", "a masked identity's COPY of sensitive data in text or "
                    + "CSV is given in UTF-8 only, not in " + copyEncoding + ": Warden splits its rows into fields by "
                    + "bytes, and a character of another encoding may hold a byte read as a delimiter or an escape", "COPY in UTF8 (ENCODING 'UTF8', or "
                    + "SET client_encoding = 'UTF8' first) and convert afterwards, or COPY in binary format");
        }
        if (copiesOut(analysis) > 1) {
            return refused(reading, "masking-copy", "a masked identity's COPY ... TO STDOUT is masked by the columns "
                    + "Warden describes for it, one COPY a Query: this text has " + copiesOut(analysis),
                    "send each COPY ... TO STDOUT in a Query (or Execute) of its own");
        }
        String redefined = namesRedefinedAfterRead(analysis);
        if (redefined != null) {
            return refused(reading, "masking-names-redefined", "a masked identity's text may not " + redefined
                    + " in the same text: Warden masks the rows by what the name means once the text is sent, and "
                    + "the later statement changes it", "send the statement that redefines the name in a Query of "
                    + "its own");
        }
        List<String> path = searchPath.get();
        String planted = installsTriggerCode(analysis, current);
        if (planted != null) {
            return refused(reading, "masking-handoff", "a masked identity may not install " + planted
                    + ": it runs inside other identities' writes (and writes made outside Warden), with the values "
                    + "they see in clear", "have an identity the masking policy exempts (or the table's owner, "
                    + "outside Warden) install it, or ask for an exemption");
        }
        String policy = policyReachingBeyond(analysis);
        if (policy != null) {
            return refused(reading, "masking-handoff", "a masked identity may not make a row security policy that "
                    + policy + ": its expressions run in every read and write of the table, whose errors and notices "
                    + "quote what they compute, and a name may later come to mean a relation with masked values",
                    "compare with columns of the table itself, or ask for an exemption");
        }
        String shadows = shadowsABuiltIn(analysis);
        if (shadows != null) {
            return refused(reading, "masking-handoff", "a masked identity may not make " + shadows + ": in a schema "
                    + "of others' search_path it takes over their calls of the routine of that name (PostgreSQL picks the "
                    + "better-matching argument types), and runs in their sessions with what they see in clear",
                    "give it another name, make it in pg_temp, or ask for an exemption");
        }
        ScreenedShapes.Judgement judgement = judge(analysis, current, path);
        remember(analysis, judgement, path);
        Exposure exposure = inTransaction(analysis, throughCursors(analysis, judgement.exposure()), false);
        for (StatementFacts top : analysis.statements()) {
            if (top.kind() == StatementKind.CLOSE) {
                TextReferences.cursorName(top).ifPresentOrElse(cursors::remove, cursors::clear);
            }
        }
        String late = nameBodiesRead(analysis, exposure);
        if (late != null) {
            return refused(reading, "masking-handoff", late, "give the relation a name no function body reads, or "
                    + "ask for an exemption");
        }
        String intoMasked = renamesIntoMasked(analysis, current);
        if (intoMasked != null) {
            return refused(reading, "masking-handoff", "a masked identity may not rename the column " + intoMasked
                    + " to a name the masking policy masks: rules, views and SQL-standard function bodies made over it "
                    + "read it by position, and would then copy or show the masked values stored under it under names "
                    + "no rule masks", "give the column another name, or ask for an exemption");
        }
        WritesRun fired = whatWritesRun(analysis, current, path);
        if (fired != null && fired.launders() != null) {
            return refused(reading, "masking-handoff", "a masked identity may not write where a trigger or rule "
                    + "copies sensitive values into " + fired.launders(), "have the trigger write into a table whose "
                    + "columns the masking policy covers, or ask for an exemption");
        }
        if (fired != null && fired.exposure().sensitive()) {
            for (StatementFacts top : fired.run().statements()) {
                for (StatementFacts f : top.allStatements()) {
                    String handoff = handoff(f);
                    if (handoff != null) {
                        return refused(reading, "masking-handoff", "a masked identity may not write where a trigger "
                                + "or rule hands sensitive values to " + handoff + ", which masking cannot follow ("
                                + fired.exposure().reason() + ")", "ask for an exemption");
                    }
                }
            }
            if (!exposure.sensitive()) {
                // What the triggers read may come back in the statement's messages (RAISE, an error's text) or
                // in RETURNING (a BEFORE trigger may set a column from it): the statement is judged by it.
                exposure = new Exposure(true, fired.exposure().derivedColumns(), fired.exposure().sensitiveNames(),
                        "a trigger or rule it fires reads sensitive values (" + fired.exposure().reason() + ")");
                judged.remember(analysis, exposure, null, Set.of(), judgement.invalidations());
            }
        }
        String indexed = storedByAnIndex(analysis, current, path);
        if (indexed != null) {
            return refused(reading, "masking-handoff", indexed, "index the sensitive column itself, or an "
                    + "expression of it and built-in functions (a read of it is masked), or ask for an exemption");
        }
        Evaluated evaluated = whatRowsEvaluate(analysis, current, path);
        if (evaluated != null && evaluated.handsOn() != null) {
            return refused(reading, "masking-handoff", evaluated.handsOn(), "have the constraint, policy, condition "
                    + "or generated column call no function that stores or emits its argument, or ask for an exemption");
        }
        if (evaluated != null && !exposure.sensitive()) {
            // A body a CHECK or a policy calls may RAISE what it is given (the server's own errors over the row are
            // masked on their own, see maskMessage): the statement is judged by what it reads.
            exposure = new Exposure(true, evaluated.exposure().derivedColumns(), evaluated.exposure().sensitiveNames(),
                    "a constraint, policy or trigger condition it evaluates hands sensitive values to a function ("
                    + evaluated.exposure().reason() + ")");
            judged.remember(analysis, exposure, null, Set.of(), judgement.invalidations());
        }
        String routed = routedByMaskedValues(analysis, exposure, current, path);
        if (routed != null) {
            return refused(reading, "masking-handoff", routed, "partition by a column that holds no masked value, or "
                    + "ask for an exemption");
        }
        String overStoredRows = exposure.sensitive() ? null : evaluatesOverMaskedRows(analysis, current);
        if (overStoredRows != null) {
            // What the server raises there (a cast error quoting a stored value, a function's RAISE of its argument)
            // is masked as a sensitive read's messages are: the statement reads the values, though it names none.
            exposure = new Exposure(true, Set.of(), Set.of(), overStoredRows);
            judged.remember(analysis, exposure, null, Set.of(), judgement.invalidations());
        }
        for (StatementFacts top : analysis.statements()) {
            Optional<String> executed = top.kind() == StatementKind.CREATE || top.kind() == StatementKind.EXPLAIN
                    ? TextReferences.createdFromExecute(top.text()) : Optional.empty();
            if (executed.isPresent()) {
                // What it stores are the rows of a prepared statement, which its own text does not show.
                Analysis prepared = preparedStatements.apply(executed.get());
                Exposure ran = prepared == null || followingExecute > 3 ? UNKNOWN : exposure(prepared);
                if (ran.sensitive()) {
                    return refused(reading, "masking-handoff", "a masked identity may not copy sensitive values "
                            + "into a table with CREATE TABLE ... AS EXECUTE " + executed.get() + " ("
                            + (prepared == null ? "a statement Warden did not see prepared" : ran.reason()) + ")",
                            "select the prepared statement's rows (they come back masked), or ask for an exemption");
                }
            }
        }
        if (!exposure.sensitive()) {
            return reading;
        }
        for (StatementFacts top : analysis.statements()) {
            if (top.kind() == StatementKind.EXPLAIN && dev.warden.sql.Analyzer.explainRuns(top.text())) {
                // Its plan's values are masked, but which lines it prints (rows removed by a filter, a subplan never
                // executed, loops) is what the values made it run: 39 + an SSN's digit lines (a helper's pass, a141 F5).
                return refused(reading, "masking-handoff", "a masked identity may not EXPLAIN ANALYZE a statement "
                        + "over sensitive values: which lines its plan prints depends on what the values made it run ("
                        + exposure.reason() + ")", "EXPLAIN without ANALYZE, or ask for an exemption");
            }
        }
        for (StatementFacts top : analysis.statements()) {
            if (top.kind() == StatementKind.CREATE && ("FUNCTION".equals(top.objectType())
                    || "PROCEDURE".equals(top.objectType()))) {
                // A call of it stored in a default, a constraint, a generated column, a policy or a trigger runs the
                // body inside other identities' writes, where no one judges it for this identity (a helper's pass:
                // DEFAULT leakv() made while it returned 'x', then replaced to read customers.ssn; an exempt
                // identity's INSERT stored the values in clear). Not only a replaced one: stored code calls a name,
                // and a SQL or PL/pgSQL body resolves it when it runs, so a function dropped and made again, or
                // another renamed to its name, is called the same (a118: a DEFAULT's function calling helper4(),
                // helper4 dropped and made again to read customers; the masked identity's own INSERT stored them).
                return refused(reading, "masking-handoff", "a masked identity may not make a function or procedure "
                        + "with a body that reads values it sees masked (" + exposure.reason() + "): a default, "
                        + "constraint, policy or trigger that calls its name runs the body in other identities' "
                        + "writes, and in this identity's own where Warden judges only the call", "select the "
                        + "columns themselves (they come back masked), or ask for an exemption");
            }
            if ((top.kind() == StatementKind.CREATE || top.kind() == StatementKind.ALTER)
                    && "POLICY".equals(top.objectType()) && readsBeyondItsTable(top)) {
                // Its expressions run over every row of each read and write of its table, and what they raise
                // reaches the reader, who names nothing sensitive (a helper's pass, a134 F9: a policy on the
                // identity's own temporary table cast customers' values to int, and SELECT * FROM rt echoed them).
                // (One that tests the table's own masked columns stays allowed: the errors of a statement over
                // that table are redacted, as it holds masked values.)
                return refused(reading, "masking-handoff", "a masked identity may not make a row security policy "
                        + "whose expressions read values it sees masked in another relation (" + exposure.reason()
                        + "): they run in every read and write of the table, whose errors and notices quote what "
                        + "they compute", "compare with columns of the table itself, or ask for an exemption");
            }
        }
        for (StatementFacts top : withWhatReadsRun(withExecuted(analysis), analysis)) {
            for (StatementFacts f : top.allStatements()) {
                String handoff = handoff(f);
                if (handoff == null && f != top && judgement.exposure().sensitive()
                        && (f.kind() == StatementKind.FETCH || f.kind() == StatementKind.MOVE)) {
                    // A routine's FETCH or MOVE of a cursor it did not open (a refcursor argument) may move it by
                    // what the statement read (MOVE ABSOLUTE n, a loop), and a later FETCH of that cursor, judged
                    // by its DECLARE, returns the position. SQL's own FETCH and MOVE take only literal counts.
                    handoff = "the position of a cursor (a routine's FETCH or MOVE of a cursor it did not open)";
                }
                if (handoff != null) {
                    return refused(reading, "masking-handoff", "a masked identity may not hand sensitive values to "
                            + handoff + ", which masking cannot follow (" + exposure.reason() + ")",
                            "select the columns themselves (they come back masked), or ask for an exemption");
                }
                if (!exposure.launders().isEmpty()) {
                    return refused(reading, "masking-handoff", "a masked identity may not copy sensitive values into "
                            + exposure.launders() + " (" + exposure.reason() + ")",
                            "write into a table whose columns the masking policy covers, or ask for an exemption");
                }
                if (current.protectsFilters()) {
                    java.util.Optional<String> column = TextReferences.filterUse(f.text(), exposure.sensitiveNames());
                    if (column.isPresent()) {
                        return refused(reading, "masking-protect-filters", "a masked identity may not filter, sort, "
                                + "group, join or count rows on the sensitive column " + column.get()
                                + " (masking.protect_filters); only equality with a bound parameter is allowed",
                                "look rows up with " + column.get() + " = $1, or filter on another column");
                    }
                }
            }
        }
        return reading;
    }

    /**
     * The statements of {@code analysis} and those of the prepared statements its EXECUTEs run, and the queries of
     * the cursors it FETCHes whose functions changed since DECLARE, as they run now (a function a migration replaced
     * since may hand a value off where the one screened then did not).
     */
    private List<StatementFacts> withExecuted(Analysis analysis) {
        List<StatementFacts> all = analysis.statements();
        for (StatementFacts top : analysis.statements()) {
            Analysis prepared = top.kind() == StatementKind.EXECUTE
                    ? top.preparedName().map(preparedStatements).orElse(null)
                    : top.kind() == StatementKind.FETCH || top.kind() == StatementKind.MOVE
                    ? TextReferences.cursorName(top).map(cursorQueries).orElse(null) : null;
            if (prepared != null) {
                if (all == analysis.statements()) {
                    all = new ArrayList<>(all);
                }
                all.addAll(prepared.statements());
            }
        }
        return all;
    }

    /** Statements whose write fires the triggers and rules of the tables they write. */
    private static final Set<StatementKind> FIRE = Set.of(StatementKind.INSERT, StatementKind.UPDATE,
            StatementKind.DELETE, StatementKind.MERGE, StatementKind.COPY, StatementKind.TRUNCATE);

    /**
     * Whether {@code f} writes rows that fire triggers and rules: its own kind, or a data-modifying WITH query's (a
     * SELECT whose CTE inserted was not followed, and a helper's pass read a trigger's and a rule's sensitive
     * values back through one).
     */
    private static boolean fires(StatementFacts f) {
        return FIRE.contains(f.kind()) || !f.innerKinds().isEmpty() && f.innerKinds().stream().anyMatch(FIRE::contains);
    }

    /**
     * A written table's rules or triggers that could not be read (a body that runs SQL built at run time, or a
     * function its rule calls that was not read): what they return (a rule's SELECT, RETURNING) is masked as a
     * sensitive read's. An attacker's pass: a temporary table's two rules, one of them calling a temporary function
     * not read when the INSERT was judged, returned e-mails in clear, as if writing it ran nothing.
     */
    private static final Exposure UNREAD_RUN = new Exposure(true, Set.of(), Set.of(),
            "a rule or trigger it fires could not be read");

    /**
     * What a write's tables run, judged: {@code launders} names a table no rule masks where it copies a sensitive
     * value (and why), or is null; {@code exposure} is null when what it runs could not be read.
     */
    private record WritesRun(String launders, Exposure exposure, Analysis run) {
    }

    /**
     * What the written tables run (their triggers and rules, as the catalog holds them, and what DDL of the open
     * transaction made run; and the row triggers of the partitions and children a write through them reaches, each over
     * its own table's row: see {@link CatalogCache#runThroughParent}), judged; null when they run nothing. A trigger
     * function is screened where it is made, but what its body reads may change after it (a view replaced), and its
     * write names nothing sensitive. What Warden cannot read (SQL built at run time) is not followed here.
     *
     * <p>What those run writes other tables in turn, whose triggers and rules run too: they are followed, and judged
     * with the rest, {@link #WRITES_FOLLOWED} tables along; a chain that goes on past that is refused. Before, only
     * the tables the statement names were followed (a138 F6): an exempt identity's history trigger on a second table,
     * copying {@code row_to_json(NEW)} into a table with no masked column, kept the SSNs a masked identity's INSERT
     * carried there through the first table's trigger, where the same INSERT into the second table was refused.
     */
    private WritesRun whatWritesRun(Analysis analysis, Masker current, List<String> path) {
        return whatWritesRun(analysis, current, path, 1);
    }

    /** How many tables along {@link #whatWritesRun} follows what writes run (the statement's own tables are one). */
    static final int WRITES_FOLLOWED = 4;

    private WritesRun whatWritesRun(Analysis analysis, Masker current, List<String> path, int depth) {
        if (catalog == null) {
            return null;
        }
        List<StatementFacts> run = null;
        boolean unread = false;
        for (StatementFacts top : analysis.statements()) {
            for (StatementFacts f : top.allStatements()) {
                if (!fires(f)) {
                    continue;
                }
                Unreadable open = transactionDdl.apply(null);
                List<StatementFacts> deferred = open.deferred();
                for (dev.warden.sql.TableRef t : writtenThroughViews(f)) {
                    List<StatementFacts> fires = catalog.runBy(t.name(), true);
                    unread |= fires == null && catalog.looked(t.name());
                    if (fires == null && !open.isEmpty() && catalog.looked(t.name())) {
                        // Its rules were not read: they name a relation the open transaction holds exclusively (a
                        // view it replaced), which they may now copy from.
                        return new WritesRun(t.qualified() + " (what writing it runs could not be read while this "
                                + "transaction holds what it names)", null, null);
                    }
                    String intoRow = settingTheRow(t, fires, open, current, path);
                    if (intoRow != null) {
                        return new WritesRun(intoRow, null, null);
                    }
                    if (fires != null && !fires.isEmpty()) {
                        run = run == null ? new ArrayList<>() : run;
                        fires = withBodiesWritten(fires, open);
                        run.addAll(fires);
                        rowRead(fires, t).ifPresent(run::add);
                    }
                    // What the transaction made run may hang on this table (the catalog does not say which).
                    Optional<StatementFacts> read = rowRead(withBodiesWritten(deferred, open), t);
                    if (read.isPresent()) {
                        run = run == null ? new ArrayList<>() : run;
                        run.add(read.get());
                    }
                    // The partitions and children the write reaches fire their row triggers with their own rows.
                    boolean inserting = f.kind() == StatementKind.INSERT || f.kind() == StatementKind.COPY;
                    Map<dev.warden.sql.TableRef, List<StatementFacts>> below = catalog.runThroughParent(t.name(),
                            inserting);
                    if (below == null) {
                        if (catalog.mayMaskAColumn(t.name(), current)) {
                            return new WritesRun(t.qualified() + " (its partitions or children go deeper than Warden "
                                    + "read, and what their triggers run is not known)", null, null);
                        }
                        continue;
                    }
                    for (Map.Entry<dev.warden.sql.TableRef, List<StatementFacts>> child : below.entrySet()) {
                        List<StatementFacts> childFires = child.getValue();
                        if (childFires == null && !open.isEmpty()) {
                            return new WritesRun(child.getKey().qualified() + " (what writing it runs could not be "
                                    + "read while this transaction holds what it names)", null, null);
                        }
                        String intoChild = settingTheRow(child.getKey(), childFires, open, current, path);
                        if (intoChild != null) {
                            return new WritesRun(intoChild, null, null);
                        }
                        List<StatementFacts> childRun = new ArrayList<>();
                        if (childFires != null && !childFires.isEmpty()) {
                            childRun.addAll(withBodiesWritten(childFires, open));
                            rowRead(childRun, child.getKey()).ifPresent(childRun::add);
                        }
                        rowRead(withBodiesWritten(deferred, open), child.getKey()).ifPresent(childRun::add);
                        if (!childRun.isEmpty()) {
                            run = run == null ? new ArrayList<>() : run;
                            run.addAll(childRun);
                        }
                    }
                }
                if (!deferred.isEmpty() && !f.tablesWritten().isEmpty()) {
                    run = run == null ? new ArrayList<>() : run;
                    run.addAll(withBodiesWritten(deferred, open));
                }
            }
        }
        if (run == null) {
            return unread ? new WritesRun(null, UNREAD_RUN, new Analysis(List.of())) : null;
        }
        if (depth > WRITES_FOLLOWED) {
            return new WritesRun(analysis.statements().get(0).tablesWritten().stream().findFirst()
                    .map(dev.warden.sql.TableRef::qualified).orElse("a table") + " (triggers and rules write on past "
                    + WRITES_FOLLOWED + " tables, further than Warden follows)", null, null);
        }
        // What they run writes on: followed (a trigger of a table a trigger writes, a138 F6).
        WritesRun further = whatWritesRun(new Analysis(List.copyOf(run)), current, path, depth + 1);
        if (further != null) {
            if (further.exposure() == null || further.launders() != null) {
                return further;
            }
            unread |= further.exposure() == UNREAD_RUN;
            run.addAll(further.run().statements());
        }
        Analysis fired = new Analysis(run);
        // What they read may be a view or function the open transaction replaced: judged as the session wrote it.
        Exposure e = inTransaction(fired, judge(fired, current, path).exposure(), false);
        if (unread && !e.sensitive()) {
            e = UNREAD_RUN;
        }
        return new WritesRun(e.sensitive() && !e.launders().isEmpty() ? e.launders() + " (" + e.reason() + ")" : null,
                e, fired);
    }

    /**
     * The relations {@code f} writes, and the tables a write through a view among them writes (see
     * {@link CatalogCache#writtenThroughViews}): their triggers fire, and their CHECKs and policies are evaluated, with
     * those tables' rows.
     */
    private java.util.Collection<dev.warden.sql.TableRef> writtenThroughViews(StatementFacts f) {
        Set<dev.warden.sql.TableRef> written = null;
        for (dev.warden.sql.TableRef t : f.tablesWritten()) {
            Set<dev.warden.sql.TableRef> through = catalog.writtenThroughViews(t.name());
            if (!through.isEmpty()) {
                written = written == null ? new LinkedHashSet<>(f.tablesWritten()) : written;
                written.addAll(through);
            }
        }
        return written == null ? f.tablesWritten() : written; // no view written: the statement's own list
    }

    /** Statements that write rows, whose indexes' expressions the server computes for each. */
    private static final Set<StatementKind> ROWS_WRITTEN = Set.of(StatementKind.INSERT, StatementKind.UPDATE,
            StatementKind.MERGE, StatementKind.COPY);

    /** CREATE SCHEMA's elements may create an index, or a table with an exclusion constraint. */
    private static final java.util.regex.Pattern INDEX = java.util.regex.Pattern.compile("(?i)\\b(index|exclude)\\b");

    /** An exclusion constraint, whose index computes its expressions as an index's. */
    private static final java.util.regex.Pattern EXCLUDE = java.util.regex.Pattern.compile("(?i)\\bexclude\\b");

    /**
     * Statements that have the server compute a table's index expressions over its rows again, or (ANALYZE, VACUUM
     * ANALYZE) its statistics objects' expressions and the {@code subtype_diff} of its range columns.
     */
    private static final Set<StatementKind> REBUILDS = Set.of(StatementKind.REINDEX, StatementKind.CLUSTER,
            StatementKind.VACUUM, StatementKind.ANALYZE);

    private static final java.util.regex.Pattern COMPUTED_OVER_EVERY_ROW = java.util.regex.Pattern.compile(
            "(?i)\\bas\\s+" + dev.warden.proxy.guardrails.Guardrails.NamedRelations.COMPUTED_OVER_EVERY_ROW + "\\b");

    /**
     * Why a statement stores, in an index, a value a function computes from a sensitive read; null when it does not.
     * An index keeps what its expressions computed, and an index-only scan returns it as stored, while Warden judges
     * a read of the expression by what its function's body reads then: a body replaced after the values were
     * stored (an attacker's pass: built over {@code pg_temp.f(id)} reading the e-mails, then replaced by
     * {@code SELECT 'x' || i}) hands them back with nothing sensitive in sight. So a masked identity may not build
     * an index (or a table's exclusion constraint) whose expressions call code a user made, whatever its body
     * reads now (it may be replaced before rows are written, and back after); nor write or rebuild (REINDEX,
     * CLUSTER, VACUUM) a table one of whose indexes (or statistics objects), made by someone else, calls a body
     * that reads a sensitive value. An expression of the sensitive column itself and built-in functions is judged
     * as a read of it whenever it is read, and stays allowed.
     */
    private String storedByAnIndex(Analysis analysis, Masker current, List<String> path) {
        if (catalog == null) {
            return null;
        }
        for (StatementFacts top : analysis.statements()) {
            for (StatementFacts f : top.allStatements()) {
                if (f.kind() == StatementKind.CREATE && "STATISTICS".equals(f.objectType())) {
                    if (catalog.callsUserCode(f)) {
                        // ANALYZE hands each stored value to it (an attacker's pass RAISEd them all), and the
                        // statistics keep what it computed, as an index does.
                        return "a masked identity may not make a statistics object whose expression calls a function "
                                + "a user made: ANALYZE hands it every stored value, and the statistics keep what it "
                                + "computes whatever the function's body says when they are read";
                    }
                    continue;
                }
                if (f.kind() == StatementKind.CREATE && "INDEX".equals(f.objectType())
                        || (f.kind() == StatementKind.CREATE || f.kind() == StatementKind.ALTER)
                        && "TABLE".equals(f.objectType()) && EXCLUDE.matcher(f.text()).find()
                        || f.kind() == StatementKind.CREATE && "SCHEMA".equals(f.objectType())
                        && INDEX.matcher(f.text()).find()) {
                    if (catalog.callsUserCode(f)) {
                        // Whatever the body reads now: it may be replaced before rows are written (or in the same
                        // text), and back after (a second helper's pass, through rules, triggers, foreign keys,
                        // partitions and CTEs, which the write-side check below did not follow).
                        return "a masked identity may not build an index (or an exclusion constraint) whose "
                                + "expression calls a function a user made: the index stores what it computes, and "
                                + "an index-only scan returns it whatever the function's body says when it is read";
                    }
                    continue;
                }
                // Asked of every statement a masked identity sends (each SELECT of a steady load): no stream unless
                // a WITH query writes.
                boolean written = ROWS_WRITTEN.contains(f.kind())
                        || !f.innerKinds().isEmpty() && f.innerKinds().stream().anyMatch(ROWS_WRITTEN::contains);
                boolean rebuilds = !written || dev.warden.proxy.guardrails.Guardrails.checksEveryRow(f);
                if (!written && !REBUILDS.contains(f.kind())
                        && !dev.warden.proxy.guardrails.Guardrails.checksEveryRow(f)) {
                    continue;
                }
                Set<String> names = new LinkedHashSet<>();
                (rebuilds ? f.tablesWritten() : writtenThroughViews(f)).forEach(t -> names.add(t.name()));
                if (rebuilds) {
                    f.tablesRead().forEach(t -> names.add(t.name()));
                }
                if (dev.warden.proxy.guardrails.Guardrails.maintainsEveryTable(f)) {
                    Set<String> computing = catalog.computingEverywhere();
                    if (computing == null) {
                        return "a masked identity may not run " + f.kind() + " over every table while Warden cannot "
                                + "read which tables' indexes compute a function";
                    }
                    names.addAll(computing);
                }
                for (String name : names) {
                    List<StatementFacts> run = name.equals("*") ? null : catalog.runBy(name, true);
                    for (StatementFacts r : run == null ? List.<StatementFacts>of() : run) {
                        if (!COMPUTED_OVER_EVERY_ROW.matcher(r.text()).find()) {
                            continue;
                        }
                        Exposure e = judgedAlone(List.of(r), current, path);
                        if (e.sensitive()) {
                            return "a masked identity may not have the server compute an index (or a statistics "
                                    + "object, a range type's subtype_diff) of " + name + " whose expression calls a "
                                    + "function that reads sensitive values (" + e.reason() + "): "
                                    + "the index stores what it computes, and an index-only scan returns it whatever "
                                    + "the function's body says when it is read";
                        }
                    }
                }
            }
        }
        return null;
    }

    /**
     * Why {@code analysis} has the server evaluate expressions over the rows a relation with a masked column already
     * holds, though its text may name no masked column (so it would not be judged sensitive): ANALYZE (statistics
     * objects' expressions, a range type's {@code subtype_diff}), VACUUM, CLUSTER and REINDEX (index expressions),
     * CREATE INDEX and CREATE STATISTICS, ALTER TABLE (ATTACH PARTITION, ADD CONSTRAINT, ALTER COLUMN TYPE...:
     * constraints and partition keys checked, rows rewritten), CREATE TABLE ... PARTITION OF (the default partition's
     * rows checked against the parent's key) and REFRESH MATERIALIZED VIEW (its definition run again, judged without
     * looking at it). What those raise quotes the stored values: an attacker's pass (2026-12-05) read every customer
     * from {@code invalid input syntax for type integer: "..."} after {@code CREATE STATISTICS ... ((ssn::int))} and
     * ANALYZE, and from the RAISE of a function in a statistics object, a partition key and a {@code subtype_diff}.
     * Null when it has none of those over such a relation.
     */
    private String evaluatesOverMaskedRows(Analysis analysis, Masker current) {
        if (catalog == null) {
            return null;
        }
        for (StatementFacts top : analysis.statements()) {
            for (StatementFacts f : top.allStatements()) {
                boolean creates = f.kind() == StatementKind.CREATE && "STATISTICS".equals(f.objectType())
                        || dev.warden.proxy.guardrails.Guardrails.createsPartitionOf(f);
                boolean over = REBUILDS.contains(f.kind()) || creates
                        || f.kind() == StatementKind.CREATE && "INDEX".equals(f.objectType())
                        || f.kind() == StatementKind.ALTER && "TABLE".equals(f.objectType());
                if (f.kind() == StatementKind.REFRESH) {
                    return "it runs a materialized view's definition again over the rows it reads";
                }
                if (!over) {
                    continue;
                }
                if (dev.warden.proxy.guardrails.Guardrails.maintainsEveryTable(f)) {
                    return "it has the server evaluate expressions over the rows of every table";
                }
                // CREATE STATISTICS and CREATE TABLE ... PARTITION OF write a new object: the rows are the ones read.
                // An ALTER TABLE's are the altered table's (as meetsMaskedRows reads them): a table it attaches is
                // judged by the key it is checked against (routedByMaskedValues), one it references holds its own.
                List<dev.warden.sql.TableRef> tables = new ArrayList<>(f.kind() == StatementKind.ALTER
                        ? f.tablesWritten() : f.tablesRead());
                if (!creates && f.kind() != StatementKind.ALTER) {
                    tables.addAll(f.tablesWritten());
                }
                for (dev.warden.sql.TableRef t : tables) {
                    // Only a relation the catalog found: one it did not is not there (the statement fails on its name)
                    // or was made by the open transaction, which Warden's connection does not see (see the README).
                    Set<String> found = catalog.schemasHolding(t.name());
                    if (found != null && !found.isEmpty() && catalog.mayMaskAColumn(t.name(), current)) {
                        return "it has the server evaluate expressions over the stored rows of " + t.qualified()
                                + ", which has a masked column";
                    }
                }
            }
        }
        return null;
    }

    /**
     * Why a statement would have the server route masked values by a partition key (or check them against a
     * partition's bound) computed from them: which partition a row lands in ({@code tableoid}), or whether it fits,
     * then tells the value. An attacker's pass (2026-12-05, with {@code protect_filters} on) partitioned a table by
     * {@code substr(ssn, k, 1)}, inserted one customer's SSN, and read the digit from the partition's name: nine
     * inserts gave the SSN. So, where a key or bound is judged sensitive (it computes over a masked column, or calls
     * a body that reads one): a write whose values come from a sensitive read (or, with a key that calls code a user
     * made, any write), into the table or straight into a partition (its bound; a lone default partition's is its
     * parent's key), and ATTACH PARTITION of a table whose rows may hold masked values. So no masked identity's write
     * puts masked values in a default partition whose rows a later CREATE TABLE ... PARTITION OF checks against the
     * new bound. A key over columns no rule masks (a date, an id) routes nothing sensitive. Null when none.
     */
    private String routedByMaskedValues(Analysis analysis, Exposure exposure, Masker current, List<String> path) {
        if (catalog == null) {
            return null;
        }
        for (StatementFacts top : analysis.statements()) {
            for (StatementFacts f : top.allStatements()) {
                boolean written = ROWS_WRITTEN.contains(f.kind())
                        || !f.innerKinds().isEmpty() && f.innerKinds().stream().anyMatch(ROWS_WRITTEN::contains);
                boolean attaches = dev.warden.proxy.guardrails.Guardrails.checksEveryRow(f)
                        && ATTACH.matcher(f.text()).find();
                if (!written && !attaches) {
                    continue;
                }
                java.util.Collection<dev.warden.sql.TableRef> keyed = written ? writtenThroughViews(f)
                        : f.tablesWritten();
                // A write of clear values is refused only by a key that calls user code: ask that first, and judge
                // no partition's key otherwise (each judgement of a table's many partitions on every INSERT, a
                // helper's review noted).
                boolean onlyUserCode = !attaches && !exposure.sensitive();
                for (dev.warden.sql.TableRef t : keyed) {
                    StatementFacts key = sensitiveKey(t, current, path, onlyUserCode);
                    if (key == null) {
                        continue;
                    }
                    if (written && (exposure.sensitive() || catalog.callsUserCode(key))) {
                        return "a masked identity may not write values read from sensitive columns into "
                                + t.qualified() + ", whose partition key or bound is computed from a masked column: "
                                + "which partition a row lands in, or whether it fits, tells the value";
                    }
                    if (attaches && f.tablesRead().stream().anyMatch(r -> catalog.mayMaskAColumn(r.name(), current))) {
                        return "a masked identity may not attach a table that may hold masked values as a partition of "
                                + t.qualified() + ", whose partition key is computed from a masked column: whether "
                                + "its rows fit the bound tells their values";
                    }
                }
            }
        }
        return null;
    }

    /** ALTER TABLE ... ATTACH PARTITION (a word anywhere in the text: more, never less). */
    private static final java.util.regex.Pattern ATTACH = java.util.regex.Pattern.compile("(?i)\\battach\\b");

    /**
     * The first partition key or bound of {@code t} (its partitions' too) judged sensitive, or null (also when they
     * cannot be read: then {@link #whatRowsEvaluate} refuses a masked identity's write to a table with a masked
     * column).
     */
    private StatementFacts sensitiveKey(dev.warden.sql.TableRef t, Masker current, List<String> path,
                                        boolean onlyUserCode) {
        List<StatementFacts> evaluated = catalog.evaluatedOver(t.name(), true);
        if (evaluated == null) {
            return null; // whatRowsEvaluate refuses a write to a table with a masked column it cannot read
        }
        for (StatementFacts expression : evaluated) {
            if (CatalogCache.routesRows(expression) && (!onlyUserCode || catalog.callsUserCode(expression))
                    && judgedAlone(List.of(expression), current, path).sensitive()) {
                return expression;
            }
        }
        return null;
    }

    /** {@code statements} judged together, with the bodies the open transaction gave the functions they call. */
    private Exposure judgedAlone(List<StatementFacts> statements, Masker current, List<String> path) {
        Analysis one = new Analysis(withBodiesWritten(statements, transactionDdl.apply(null)));
        return inTransaction(one, judge(one, current, path).exposure(), false);
    }

    /**
     * What an expression the server evaluates over the rows a statement writes does with a sensitive value:
     * {@code handsOn} is why the statement is refused, where it hands one on (null: nowhere masking cannot follow);
     * {@code exposure} is what a
     * function body it calls with one reads.
     */
    private record Evaluated(String handsOn, Exposure exposure) {
    }

    /**
     * The expressions the server evaluates over each row of the tables the statements write, with the row's values
     * as arguments (CHECK constraints, domains' checks, row security policies, triggers' WHEN conditions, stored
     * generated columns: see {@link CatalogCache#evaluatedOver}; an ALTER TABLE that validates or rewrites the rows
     * evaluates them too), and the row security policies' USING of the relations the statements read (a view's
     * too), each judged on its own, with the bodies it calls, so that a benign CHECK over a masked column does not
     * make an unrelated trigger's write a copy of it: one that reads a sensitive column and hands it to a write of a
     * clear table, to a handoff ({@link #HANDOFFS}, dynamic SQL), or computes it into a clear column, makes
     * {@code handsOn}. An ALTER DOMAIN that adds a check: see {@link #domainCheckHandingOn}. Otherwise, when one
     * passes a sensitive column to a call and calls a function body ({@link #passedToACall}), that judgement (the
     * body may RAISE the value); null when none does (a CHECK like {@code length(email) < 100} calls none).
     */
    private Evaluated whatRowsEvaluate(Analysis analysis, Masker current, List<String> path) {
        if (catalog == null) {
            return null;
        }
        Evaluated reading = null;
        Set<String> seen = new java.util.HashSet<>();
        // The tables the statements write, then those the triggers, rules and foreign keys' actions of written tables
        // write, a few levels deep: a helper's pass (a136 F5, F6) had a trigger of a clear table insert into another,
        // whose CHECK called a function reading a view made afterwards over customers; the CHECK's notices and its
        // setval() carried every customer's value, judged only when that table was written directly.
        // (Made for a statement that writes only: a read, the usual statement, allocates none.)
        List<dev.warden.sql.TableRef> written = List.of();
        List<Integer> depths = List.of();
        for (StatementFacts top : analysis.statements()) {
            for (StatementFacts f : top.allStatements()) {
                if (f.kind() == StatementKind.ALTER && "DOMAIN".equals(f.objectType())) {
                    Evaluated domain = domainCheckHandingOn(f, current);
                    if (domain != null && domain.handsOn() != null) {
                        return domain;
                    }
                    reading = reading == null ? domain : reading;
                    continue;
                }
                if (!fires(f) && !dev.warden.proxy.guardrails.Guardrails.checksEveryRow(f)) {
                    continue;
                }
                for (dev.warden.sql.TableRef t : writtenThroughViews(f)) {
                    if (seen.add("w " + t.name())) {
                        if (written.isEmpty()) {
                            written = new ArrayList<>();
                            depths = new ArrayList<>();
                        }
                        written.add(t);
                        depths.add(0);
                    }
                }
            }
        }
        for (int i = 0; i < written.size(); i++) {
            dev.warden.sql.TableRef t = written.get(i);
            int depth = depths.get(i);
            List<StatementFacts> run = catalog.runBy(t.name(), true);
            if (run == null && depth > 0 && catalog.looked(t.name())) {
                // A table a trigger or rule writes, whose own triggers, rules or defaults Warden could not read (the
                // open transaction holds it, a body runs SQL built at run time): what they evaluate is not known (a
                // helper's pass, a137 F11, ALTERed the table in the transaction, and its CHECK's notices came back).
                return new Evaluated("a masked identity may not write where a trigger or rule writes " + t.qualified()
                        + ", what writing which runs Warden cannot read (the open transaction holds it, or SQL built "
                        + "at run time)", null);
            }
            for (StatementFacts top : run == null ? List.<StatementFacts>of() : run) {
                for (StatementFacts f : top.allStatements()) {
                    if (!fires(f)) {
                        continue;
                    }
                    for (dev.warden.sql.TableRef u : writtenThroughViews(f)) {
                        if (!seen.add("w " + u.name())) {
                            continue;
                        }
                        if (depth + 1 >= MET_ROWS_DEPTH) {
                            // A chain longer than Warden follows: what the tables past it evaluate is not judged (a
                            // helper's pass, a137 F2, raised every value from a CHECK five tables along).
                            return new Evaluated("a masked identity may not write where triggers and rules write "
                                    + "on for more than " + MET_ROWS_DEPTH + " tables (" + u.qualified() + " is "
                                    + "further): what is evaluated over those rows is not judged", null);
                        }
                        written.add(u);
                        depths.add(depth + 1);
                    }
                }
            }
            List<StatementFacts> evaluated = catalog.evaluatedOver(t.name(), true);
            if (evaluated == null && depth > 0 && catalog.looked(t.name())) {
                return new Evaluated("a masked identity may not write where a trigger or rule writes " + t.qualified()
                        + ", what is evaluated over whose rows Warden cannot read (another transaction, perhaps this "
                        + "one, holds it, or its partitions go deeper than Warden reads)", null);
            }
            if (evaluated == null && catalog.looked(t.name()) && catalog.mayMaskAColumn(t.name(), current)) {
                // Deparsing them would wait for the transaction that holds the table (this session's,
                // after an ALTER TABLE in it): what they hand its masked values to is not known.
                return new Evaluated("a masked identity may not write to " + t.qualified() + " while "
                        + "Warden cannot read what is evaluated over each of its rows (CHECK constraints, "
                        + "policies, trigger conditions, generated columns): another transaction, perhaps "
                        + "this one, holds it exclusively, or its partitions go deeper than Warden reads",
                        null);
            }
            Evaluated e = judgeEvaluated(t, evaluated, "write", EVALUATED_OVER_ROWS, depths.get(i) > 0, current, path);
            if (e != null && e.handsOn() != null) {
                return e;
            }
            reading = reading == null ? e : reading;
        }
        for (String name : catalog.reachedNames(analysis)) {
            // What the functions a view's definition calls do with what their bodies read now: a helper's pass (a136
            // F7) made such a function while the view its body read did not exist, made that a view over customers,
            // and each read of the calling view copied every customer's value into a clear table or a setting.
            List<StatementFacts> calls = catalog.runBy(name, false); // (the names are a set: each asked once)
            if (calls != null && !calls.isEmpty()) {
                Evaluated e = judgeEvaluated(new dev.warden.sql.TableRef(null, name), calls, "read",
                        "(a function its definition, a default, a constraint or a policy calls) ", false, current,
                        path);
                if (e != null && e.handsOn() != null) {
                    return e;
                }
                // What such a body raises reaches the reader, who names nothing sensitive (a helper's pass, a137 F8:
                // a range type's subtype_diff, run by the planner's estimate of a plain SELECT, raised every SSN).
                reading = reading == null ? e : reading;
            }
        }
        if (!catalog.mayHaveRowSecurity()) {
            return reading; // no policy is evaluated over what a read reaches
        }
        for (String name : catalog.reachedNames(analysis)) {
            if (seen.add("r " + name)) {
                dev.warden.sql.TableRef t = new dev.warden.sql.TableRef(null, name);
                Evaluated e = judgeEvaluated(t, catalog.evaluatedOver(name, false), "read", EVALUATED_OVER_ROWS, false,
                        current, path);
                if (e != null && e.handsOn() != null) {
                    return e;
                }
                reading = reading == null ? e : reading;
            }
        }
        return reading;
    }

    /** What {@link #judgeEvaluated} names the expressions evaluated over each row of a relation. */
    private static final String EVALUATED_OVER_ROWS = "(a CHECK, a domain's check, a policy, a trigger's WHEN or a "
            + "generated column) ";

    /**
     * {@link #whatRowsEvaluate} for the expressions {@code evaluated} over each row of {@code t} (null: none), which
     * {@code what} describes. With {@code reached} (a table a trigger or rule of a written one writes), one that calls a
     * function body and reads sensitive values makes the statement read them: its notices and errors reach the
     * writer, who names nothing sensitive.
     */
    private Evaluated judgeEvaluated(dev.warden.sql.TableRef t, List<StatementFacts> evaluated, String access,
                                     String what, boolean reached, Masker current, List<String> path) {
        Evaluated reading = null;
        for (StatementFacts expression : evaluated == null ? List.<StatementFacts>of() : evaluated) {
            List<StatementFacts> run = withBodiesWritten(List.of(expression), transactionDdl.apply(null));
            if (run.size() == 1 && expression.allStatements().size() == 1 && expression.kind() == StatementKind.SELECT
                    && handoff(expression) == null) {
                continue; // built-in tests of the row (price > 0, email ~ '@'): nothing to hand a value to
            }
            Analysis one = new Analysis(run);
            Exposure e = inTransaction(one, judge(one, current, path).exposure(), false);
            if (!e.sensitive()) {
                continue;
            }
            String over = "a masked identity may not " + access + " where an expression evaluated over each row of "
                    + t.qualified() + " " + what;
            if (!e.launders().isEmpty()) {
                return new Evaluated(over + "copies sensitive values into " + e.launders() + " (" + e.reason() + ")",
                        e);
            }
            for (StatementFacts s : run) {
                for (StatementFacts g : s.allStatements()) {
                    String handoff = handoff(g);
                    if (handoff != null) {
                        return new Evaluated(over + "hands sensitive values to " + handoff + ", which masking cannot "
                                + "follow (" + e.reason() + ")", e);
                    }
                }
            }
            // A function converting a literal to a column's type runs (a domain's check) gets no value of the row,
            // but what its body reads may come back in the statement's error or notice: the statement is judged by it.
            boolean converts = expression.text().endsWith(" AS "
                    + dev.warden.proxy.guardrails.Guardrails.NamedRelations.CONVERTED_ON_READ);
            boolean callsABody = run.size() > 1 || expression.allStatements().size() > 1;
            // On a write, a body that one of the row's sensitive values reaches at all (by a call, a cast to a domain
            // whose check calls it, an operator: a helper's pass, a137 F10, raised every stored SSN from
            // CHECK (ssn::dt IS NOT NULL)), or that reads sensitive values itself.
            if (reading == null && (converts || callsABody && (reached
                    || "write".equals(access) && TextReferences.namesAnyOf(expression.text(), e.sensitiveNames())
                    || passedToACall(expression.text(), e.sensitiveNames())
                    || bodiesReadSensitive(expression, run, current, path)))) {
                reading = new Evaluated(null, e);
            }
        }
        return reading;
    }

    /**
     * Whether the bodies {@code expression} calls (nested, or {@code run} past the expression) read sensitive values
     * by themselves, whatever the row gives them: what they raise then carries those (a helper's pass, a137 F8: a range
     * type's subtype_diff, which the planner calls for a plain SELECT, read a view over customers and raised it).
     */
    private boolean bodiesReadSensitive(StatementFacts expression, List<StatementFacts> run, Masker current,
                                        List<String> path) {
        List<StatementFacts> bodies = new ArrayList<>(expression.nested());
        for (int k = 1; k < run.size(); k++) {
            bodies.add(run.get(k));
        }
        if (bodies.isEmpty()) {
            return false;
        }
        Analysis b = new Analysis(bodies);
        return inTransaction(b, judge(b, current, path).exposure(), false).sensitive();
    }

    /** Words a parenthesis follows that call nothing (what Warden's renderings and the deparser write). */
    private static final Set<String> NOT_CALLS = Set.of("select", "and", "or", "not", "in", "any", "all", "some",
            "exists", "case", "when", "then", "else", "is", "as", "from", "where", "on", "array", "row", "values",
            "between", "like", "ilike", "similar", "to", "escape", "distinct", "by");

    /**
     * Whether one of {@code names} stands inside the parentheses of a call in {@code text} (a word followed by
     * "(", but {@link #NOT_CALLS}): a function body may then RAISE it. Not where it is only compared with a call's result
     * ({@code owner_email = current_user_email()}, a common policy), which would make every read of the table
     * sensitive. Strings are skipped; a quoted identifier counts as its name.
     */
    private static boolean passedToACall(String text, Set<String> names) {
        java.util.ArrayDeque<Boolean> calls = new java.util.ArrayDeque<>();
        int inCall = 0;
        boolean afterWord = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\'') {
                int j = i + 1;
                while (j < text.length() && (text.charAt(j) != '\'' || text.startsWith("''", j))) {
                    j += text.charAt(j) == '\'' ? 2 : 1; // a doubled quote stays inside the string
                }
                i = j;
                afterWord = false;
            } else if (c == '"' || Character.isLetter(c) || c == '_') {
                int j = i + 1;
                String word;
                if (c == '"') {
                    int close = text.indexOf('"', j);
                    close = close < 0 ? text.length() : close;
                    word = text.substring(j, close);
                    j = close + 1;
                } else {
                    while (j < text.length() && (Character.isLetterOrDigit(text.charAt(j)) || text.charAt(j) == '_'
                            || text.charAt(j) == '$')) {
                        j++;
                    }
                    word = text.substring(i, j);
                }
                if (inCall > 0 && names.stream().anyMatch(word::equalsIgnoreCase)) {
                    return true;
                }
                i = j - 1;
                afterWord = c == '"' || !NOT_CALLS.contains(word.toLowerCase(java.util.Locale.ROOT));
            } else if (c == '(') {
                calls.push(afterWord);
                inCall += afterWord ? 1 : 0;
                afterWord = false;
            } else if (c == ')') {
                inCall -= !calls.isEmpty() && calls.pop() ? 1 : 0;
                afterWord = false;
            } else if (!Character.isWhitespace(c)) {
                afterWord = false;
            }
        }
        return false;
    }

    /**
     * An ALTER DOMAIN that adds a CHECK, or validates one ({@code VALIDATE CONSTRAINT}, whose check the analysis
     * reads from the catalog by name: its function may have been replaced since it was added {@code NOT VALID}),
     * judged: the server evaluates the check over the value of every column of the domain, in every table (which
     * ones, and whether a rule masks them, is not looked up: each counts as sensitive), so a function body it calls
     * that writes a table no rule masks, or a handoff it or that body calls, takes every stored value: then
     * {@code handsOn} says why it is refused. A check that calls a function body otherwise makes the statement
     * sensitive (the body may RAISE the value). Null when it adds or validates no check, or calls no body.
     */
    private Evaluated domainCheckHandingOn(StatementFacts alter, Masker current) {
        boolean validates = alter.implicitCalls().stream().anyMatch(k -> k.startsWith("domcheck:"))
                || DOMAIN_CHECK_VALIDATED.matcher(alter.text()).find();
        if (!validates && !DOMAIN_CHECK.matcher(alter.text()).find()) {
            return null;
        }
        String over = "a masked identity may not " + (validates ? "validate a domain's check" : "add a check to a "
                + "domain") + " that, evaluated over every value stored as the domain, ";
        String handoff = handoff(alter);
        if (handoff != null) {
            return new Evaluated(over + "hands them to " + handoff + ", which masking cannot follow", null);
        }
        List<StatementFacts> run = alter.nested();
        Set<String> named = new java.util.HashSet<>();
        alter.implicitCalls().stream().filter(k -> k.startsWith("domcheck:")).forEach(named::add);
        List<StatementFacts> namedRun = named.isEmpty() ? null : catalog.bodiesOf(named);
        if (namedRun != null) {
            // The named check's only: the analysis also counts the domain's other checks, as a cast to it runs them.
            run = namedRun;
        }
        if (run.isEmpty()) {
            return null;
        }
        Analysis bodies = new Analysis(run);
        Exposure e = catalog.exposureAssumingSensitive(bodies, current, "the domain may hold sensitive values");
        if (!e.launders().isEmpty()) {
            return new Evaluated(over + "copies them into " + e.launders(), e);
        }
        for (StatementFacts body : run) {
            for (StatementFacts g : body.allStatements()) {
                if ((handoff = handoff(g)) != null) {
                    return new Evaluated(over + "hands them to " + handoff + ", which masking cannot follow", e);
                }
            }
        }
        return e.sensitive() ? new Evaluated(null, e) : null;
    }

    /** ALTER DOMAIN ... ADD ... CHECK: found anywhere in the text, which only errs towards judging. */
    private static final java.util.regex.Pattern DOMAIN_CHECK = java.util.regex.Pattern.compile(
            "(?i)\\badd\\b[\\s\\S]*\\bcheck\\b");

    /**
     * ALTER DOMAIN ... VALIDATE CONSTRAINT, found as {@link #DOMAIN_CHECK} is (the analysis's {@code domcheck:} key
     * says it past comments, where it read the constraint's name).
     */
    private static final java.util.regex.Pattern DOMAIN_CHECK_VALIDATED = java.util.regex.Pattern.compile(
            "(?i)\\bvalidate\\s+constraint\\b");

    /**
     * {@code written} and why, when what computes the row a write stores into it (a BEFORE ROW or INSTEAD OF
     * trigger, a column default, as {@code fires} marks them; whatever DDL of the open transaction made run, whose
     * timing Warden does not read) may carry a sensitive value and a column of it is masked by no rule: such a
     * trigger sets NEW.v from what it reads (a view replaced after it was made, OLD.email) and writes no table of
     * its own, so the value lands in the written row under a clear name. Null when not.
     */
    private String settingTheRow(dev.warden.sql.TableRef written, List<StatementFacts> fires, Unreadable open,
                                 Masker current, List<String> path) {
        List<StatementFacts> sets = new ArrayList<>();
        if (fires != null) {
            for (StatementFacts top : fires) {
                if (CatalogCache.setsTheRow(top)) {
                    sets.add(top);
                }
            }
        }
        sets.addAll(open.deferred());
        if (sets.isEmpty()) {
            return null;
        }
        sets = withBodiesWritten(sets, open);
        rowRead(sets, written).ifPresent(sets::add);
        Analysis computing = new Analysis(sets);
        Exposure e = inTransaction(computing, judge(computing, current, path).exposure(), false);
        if (!e.sensitive() || catalog.masksEveryColumn(written.name(), current)) {
            return null;
        }
        return written.qualified() + ", whose row a trigger or default computes from what it reads (" + e.reason()
                + ")";
    }

    /**
     * {@code run}, with the statements of the bodies the open transaction gave the functions they name (a trigger
     * function it made, which a call in {@code run} does not nest: the catalog does not hold it yet).
     */
    private static List<StatementFacts> withBodiesWritten(List<StatementFacts> run, Unreadable open) {
        if (open.isEmpty() || run.isEmpty()) {
            return run;
        }
        List<StatementFacts> out = new ArrayList<>(run);
        for (StatementFacts top : run) {
            for (String name : open.namedBy(top)) {
                List<StatementFacts> made = open.definitions(name);
                if (made != null) {
                    made.forEach(definition -> out.addAll(definition.nested()));
                }
            }
        }
        return out;
    }

    /**
     * A read of the columns of {@code written} that {@code fires} take from the row being written (NEW.col, OLD.col;
     * every column where they take the whole row, NEW::text, row_to_json(NEW)): a trigger's or rule's body hands
     * them on without naming the table, and its judgement must see them read. Empty when they take none.
     */
    private static Optional<StatementFacts> rowRead(List<StatementFacts> fires, dev.warden.sql.TableRef written) {
        Set<dev.warden.sql.ColumnRef> columns = new LinkedHashSet<>();
        for (StatementFacts top : fires) {
            for (StatementFacts f : top.allStatements()) {
                for (String column : TextReferences.rowOfWriteColumns(f.text())) {
                    columns.add(new dev.warden.sql.ColumnRef(written.name(), column));
                }
            }
        }
        if (columns.isEmpty()) {
            return Optional.empty();
        }
        // Its text holds only names the trigger's statements and the write hold (so the catalog looked them up).
        List<String> names = new ArrayList<>();
        columns.forEach(c -> names.add(written.name() + "." + c.column()));
        String text = String.join(", ", names);
        return Optional.of(new StatementFacts(text, text, StatementKind.SELECT, "", false, Set.of(written), Set.of(),
                columns, Set.of(), false, Set.of(), false, Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.empty(), Set.of(), false, List.of(), Set.of(), false));
    }

    /**
     * What of a trigger's or rule's code a masked identity's statement would install that may carry values this
     * identity reads masked; null when none. Trigger and rule code runs inside other identities' writes, and writes
     * made outside Warden, with what they see in clear: a helper's pass (a115) put a trigger on {@code customers}
     * that copied {@code NEW::text} into a table of its own, and an exempt identity's {@code UPDATE customers SET
     * city = city} copied whole rows there. Masked writers' writes were already judged by what their triggers do;
     * others' were not, and cannot be (a write outside Warden). So, looking at the statement, its inner and nested
     * statements and the bodies of the functions it calls (nested in it):
     * <ul>
     *   <li>a trigger or rule made on a table: refused when its code (the function's body, nested in the statement
     *   by the function effects; the rule's actions) names the row other than by the table's clear columns
     *   ({@code NEW::text}, {@code NEW.email}, {@code row_to_json(NEW)}), reads any relation (its name may come to
     *   mean a view over a masked one later), runs SQL built at run time, hands values on (pg_notify...) or calls a
     *   function a user made; also when the table is a view (its rows come from elsewhere) or was not looked up;</li>
     *   <li>a trigger or rule switched on ({@code ENABLE}) on a table with a masked column, an event trigger, a
     *   trigger made in CREATE SCHEMA: refused (the code is not in the statement);</li>
     *   <li>a trigger function's body replaced ({@code CREATE OR REPLACE FUNCTION ... RETURNS trigger}), which
     *   triggers on any table run: judged as above with no column clear, so a body that names the row at all is
     *   refused. A new trigger function (no OR REPLACE) attaches to nothing.</li>
     * </ul>
     */
    /**
     * What of {@code analysis} makes, renames or moves a function, procedure, aggregate or operator under a name of
     * pg_catalog's, outside the temporary schema (which the server never searches for them unqualified); null when
     * nothing. A helper's pass (a118) made {@code public.concat(VARIADIC text[])}, which an exempt identity's own
     * {@code SELECT concat(name, email, ssn, ...) FROM customers} then ran (handing every value to the masked
     * identity's table), and a {@code public.concat_ws} that took over a trigger's call of the built-in. Likewise
     * under a name a routine of another role has outside pg_catalog (an extension's, a migration's, another
     * identity's with {@code provision: per_identity}): an overload with better-matching argument types takes over
     * their calls too. Fails closed: refused when the names could not be read.
     */
    private String shadowsABuiltIn(Analysis analysis) {
        for (StatementFacts top : analysis.statements()) {
            for (StatementFacts f : top.allStatements()) {
                if (f.kind() != StatementKind.CREATE && f.kind() != StatementKind.ALTER) {
                    continue;
                }
                Optional<TextReferences.RoutineName> named = TextReferences.routineNamed(f.text());
                if (named.isEmpty() || named.get().schema().startsWith("pg_temp")) {
                    continue;
                }
                Set<String> builtins = catalog == null ? null : catalog.builtinNames();
                String name = named.get().name();
                String shown = name.startsWith("op:") ? "an operator " + name.substring(3) : "a routine " + name;
                if (builtins == null) {
                    return shown + " while Warden could not read pg_catalog's names (it may be one of them)";
                }
                if (builtins.contains(name)) {
                    return shown + ", a name of pg_catalog's";
                }
                Set<String> others = others(catalog.routineOwners().getOrDefault(name, Set.of()));
                if (!others.isEmpty()) {
                    return shown + ", a name of a routine of " + (others.size() == 1 ? "the role " : "the roles ")
                            + String.join(", ", new java.util.TreeSet<>(others));
                }
            }
        }
        return null;
    }

    /** Of {@code owners}, the roles other than the session's login ({@link #ownRole}). */
    private Set<String> others(Set<String> owners) {
        if (ownRole == null || !owners.contains(ownRole)) {
            return owners;
        }
        Set<String> out = new java.util.HashSet<>(owners);
        out.remove(ownRole);
        return out;
    }

    private String installsTriggerCode(Analysis analysis, Masker current) {
        for (StatementFacts top : analysis.statements()) {
            for (StatementFacts f : top.allStatements()) {
                if (f.kind() != StatementKind.CREATE && f.kind() != StatementKind.ALTER) {
                    continue;
                }
                String planted = TextReferences.installsTriggerCode(f.text());
                if (planted == null) {
                    continue;
                }
                String type = f.objectType();
                if ("EVENT TRIGGER".equals(type) || "SCHEMA".equals(type)) {
                    return "SCHEMA".equals(type) ? "a trigger in CREATE SCHEMA" : "an event trigger";
                }
                if (f.kind() == StatementKind.ALTER) {
                    if (f.tablesWritten().size() != 1 || catalog == null
                            || catalog.mayMaskAColumn(f.tablesWritten().iterator().next().name(), current)) {
                        return planted + " on a table with a column this identity reads masked (or one Warden could "
                                + "not look up)";
                    }
                    continue;
                }
                boolean routine = "FUNCTION".equals(type) || "PROCEDURE".equals(type);
                Optional<String> relation = routine ? Optional.empty() : "RULE".equals(type)
                        ? TextReferences.ruleRelation(f.text()) : TextReferences.triggerRelation(f.text());
                if (!routine && relation.isEmpty()) {
                    return planted + " (on a relation Warden cannot read from the statement)";
                }
                Optional<Set<String>> clear = routine ? Optional.of(Set.of())
                        : catalog == null ? Optional.empty() : catalog.clearColumnsOfTables(relation.get(), current);
                if (clear.isEmpty()) {
                    return planted + " on " + relation.get() + ", a view or a relation Warden could not look up";
                }
                String carries = routine ? null : carriesByItself(f, relation.get(), clear.get(), current);
                if (carries == null) {
                    carries = carries(f, clear.get(), current);
                }
                if (carries != null) {
                    return planted + (routine ? "" : " on " + relation.get()) + " whose code " + carries;
                }
            }
        }
        return null;
    }

    /**
     * Why a CREATE TRIGGER's or CREATE RULE's own text may carry a value this identity reads masked: a trigger's WHEN
     * condition or a rule's WHERE condition run over the row with the writer's values, so they may not hand values on
     * or call a function a user made (other than the trigger's own function, judged by its body), nor, with {@code
     * masking.protect_filters}, name the row beyond its clear columns (a condition over {@code NEW.ssn} tells, write
     * by write, which rows match, as the identity's own WHERE would).
     */
    private String carriesByItself(StatementFacts installing, String relation, Set<String> clearColumns,
                                   Masker current) {
        if (handoff(installing) != null) {
            return "hands values on (" + handoff(installing) + ")";
        }
        boolean trigger = "TRIGGER".equals(installing.objectType());
        if (trigger && TextReferences.hasWord(installing.text(), "referencing")
                && (catalog == null || catalog.mayMaskAColumn(relation, current))) {
            // REFERENCING NEW TABLE AS n: every row the write touched, under a name the body reads (a helper's
            // pass replaced the body afterwards with INSERT ... SELECT * FROM n, n also naming a clear table).
            return "keeps the rows a write touches in a transition table (REFERENCING)";
        }
        Optional<String> runs = trigger ? TextReferences.triggerFunction(installing.text()) : Optional.empty();
        if (trigger && (runs.isEmpty() || catalog == null || catalog.functionBodyUnread(runs.get()))) {
            // Made in the same text or an open transaction (the catalog Warden reads does not have it yet), or in a
            // language Warden does not read: its body was judged by nothing (a helper's pass made both in one
            // transaction, the body copying NEW::text).
            return "runs a function whose body Warden has not read (made in a transaction not yet committed, or "
                    + "in a language Warden does not read)";
        }
        if (current.protectsFilters() && TextReferences.namesRowBeyond(installing.text(), clearColumns)) {
            // As the identity's own WHERE on a sensitive column (masking.protect_filters); a rule's actions are
            // judged as nested statements below, whatever the setting.
            return "takes the row beyond its clear columns in its condition (masking.protect_filters)";
        }
        Set<String> others = new LinkedHashSet<>();
        for (String fn : installing.functions()) {
            if (runs.isEmpty() || !TextReferences.keptName(fn.substring(fn.lastIndexOf('.') + 1))
                    .equals(runs.get())) {
                others.add(fn);
            }
        }
        if (!others.isEmpty() && TextReferences.namesRowBeyond(installing.text(), clearColumns)) {
            // A function over the row in the condition may keep what it is given: a helper's pass (a117) stored
            // digits of split_part(NEW::text, ...) with setval in a WHEN, and read them from its sequences after an
            // exempt identity's UPDATE. A condition that only compares (OLD.email IS DISTINCT FROM NEW.email) stays.
            return "calls a function over the row beyond its clear columns in its condition (setval keeps what it "
                    + "is given)";
        }
        if (catalog == null || catalog.callsUserCode(others, installing.implicitCalls(), installing.text())) {
            return "calls a function a user made in its condition";
        }
        return null;
    }

    /**
     * Why the code nested in {@code installing} (a trigger function's body, a rule's actions) may carry a value this
     * identity reads masked out of the row it is given or the relations it reads; null when it cannot.
     */
    private String carries(StatementFacts installing, Set<String> clearColumns, Masker current) {
        if (installing.dynamicSql()) {
            return "runs SQL Warden cannot read";
        }
        for (StatementFacts n : installing.allStatements()) {
            if (n == installing) {
                continue;
            }
            if (n.kind() == StatementKind.DO || n.dynamicSql() || handoff(n) != null) {
                return "runs SQL built at run time or hands values on";
            }
            if (catalog == null || catalog.callsUserCode(n)) {
                return "calls a function a user made";
            }
            for (dev.warden.sql.TableRef t : n.tablesRead()) {
                // Not only a relation with a masked column: a name this identity may later give to one (CREATE OR
                // REPLACE VIEW, a table renamed and a view made in its place) changes what the code copies, and
                // the writers' statements that run it are never judged for this identity.
                return "reads " + t.qualified() + " (a name that may come to mean a relation with masked values)";
            }
            if (TextReferences.namesRowBeyond(n.text(), clearColumns)) {
                return "takes the row beyond its clear columns (" + (clearColumns.isEmpty() ? "any of it"
                        : String.join(", ", new java.util.TreeSet<>(clearColumns))) + ")";
            }
        }
        return null;
    }

    private static String handoff(StatementFacts f) {
        if (f.kind() == StatementKind.DO) {
            return "a DO block";
        }
        if (f.dynamicSql()) {
            return "dynamic SQL (EXECUTE of a computed string)";
        }
        for (String fn : f.functions()) {
            String base = fn.substring(fn.lastIndexOf('.') + 1);
            if (HANDOFFS.contains(base)) {
                return base + "()";
            }
        }
        for (String call : f.implicitCalls()) {
            // (x).setseed calls setseed(x) (attribute notation; see FactsBuilder for the writers).
            if (call.startsWith("attr:") && HANDOFFS.contains(call.substring(5))) {
                return call.substring(5) + "()";
            }
        }
        return null;
    }

    private static SessionLexing.Reading refused(SessionLexing.Reading reading, String rule, String reason,
                                                 String hint) {
        return new SessionLexing.Reading(reading.sql(), reading.analysis(), Decision.block(rule, reason, hint),
                reading.read());
    }

    /**
     * The NoticeResponse that tells the client this result was masked (once per statement), or null when
     * nothing was masked or the policy turned notices off.
     */
    io.netty.buffer.ByteBuf notice(MaskPlan plan) {
        if (plan == null) {
            return null;
        }
        if (plan != noticePlan) {
            // Plans are reused across a session's repeated statements (see plan()): encode each notice once.
            noticeBytes = plan.notice().map(ResultMasking::encodedNotice).orElse(null);
            noticePlan = plan;
        }
        // The encoded bytes themselves, wrapped (nothing writes into a frame relayed to the client): allocating a
        // pooled buffer per masked result showed in the relay's CPU profile.
        return noticeBytes == null ? null : io.netty.buffer.Unpooled.wrappedBuffer(noticeBytes);
    }

    private static byte[] encodedNotice(String text) {
        io.netty.buffer.ByteBuf encoded = dev.warden.pg.message.BackendMessage.NoticeResponse.of("NOTICE", "01000",
                text).toByteBuf(io.netty.buffer.UnpooledByteBufAllocator.DEFAULT);
        try {
            return io.netty.buffer.ByteBufUtil.getBytes(encoded);
        } finally {
            encoded.release();
        }
    }

    /** The last plan {@link #notice} encoded a notice for, and the encoded message (null: none). */
    private MaskPlan noticePlan;
    private byte[] noticeBytes;
}
