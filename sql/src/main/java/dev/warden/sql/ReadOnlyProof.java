package dev.warden.sql;

import dev.warden.sql.Lexer.Token;
import dev.warden.sql.Lexer.Type;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * A proof, from tokens alone, that a query JSqlParser could not parse only reads (issue 11, item 4). A SELECT,
 * VALUES, TABLE or WITH statement is a read when both hold:
 *
 * <ol>
 *   <li><b>No data-modifying statement at any depth.</b> {@code INSERT}, {@code UPDATE}, {@code DELETE} and
 *       {@code MERGE} appear only where they cannot start a statement: as part of a qualified name
 *       ({@code t.update}), as an alias after {@code AS}, or, for {@code UPDATE}, in a locking clause
 *       ({@code FOR UPDATE}, {@code FOR NO KEY UPDATE}). Any other occurrence, in a CTE, a subquery or as a bare
 *       column name, defeats the proof (conservatively). {@code INTO} anywhere defeats it ({@code SELECT ...
 *       INTO t} creates a table).</li>
 *   <li><b>Every function it calls is non-volatile.</b> A call is every {@code name(} that the grammar does
 *       not make something else: reserved and column-name keywords ({@code IN (}, {@code EXISTS (},
 *       {@code COALESCE (}...), a type after {@code ::} or {@code AS}, a CTE's column list, an alias's column
 *       list after a closing parenthesis. Anything else followed by a parenthesis counts as a call (an alias
 *       with a column list after a table name does too, and then the proof fails: it errs towards unparsed).
 *       A call is known to be harmless when {@link #isBuiltInReadOnly} says so: the {@code pg_catalog}
 *       functions every overload of which is immutable or stable in PostgreSQL 15 and 17 (generated from
 *       {@code pg_proc.provolatile}, see {@code read-only-functions.txt}), less the stable ones that assign a
 *       transaction id or read whole tables by name ({@code txid_current}, {@code table_to_xml}...), plus a
 *       short reviewed list of volatile functions that only read ({@code pg_table_size},
 *       {@code pg_partition_ancestors}...). Any other function (a user function, an extension's, a
 *       {@code public.}-qualified one) leaves the statement {@code unparsed}: the proxy may resolve it through
 *       {@code pg_proc} ({@link #unknownFunctions}, {@link #proveWithCatalog}).</li>
 * </ol>
 *
 * <p>A proven statement is {@code SELECT}, not {@code unparsed}, and not a write. Its tables read are an
 * over-approximation: every name in a FROM-item position, at any depth. Its columns read are every name it
 * mentions; and unless every relation it reads is qualified with {@code pg_catalog} or {@code information_schema}
 * (psql's describe queries), a wildcard is added, so that masking treats every expression column as possibly
 * derived from anything it read, as it does for an unparsed statement.
 *
 * <p><b>Limits</b>, shared with statements JSqlParser does parse: the proof sees the calls written in the text.
 * Calls the server makes on its own (operators, casts and type I/O backed by user functions, the CHECK of a
 * domain a value is cast to, a function called in attribute notation {@code t.f}, the body of a view) are not in
 * the text; resolving them is the catalog's job, and the identity's own PostgreSQL role stays the floor. A
 * function name on the built-in list could, unqualified, resolve to a user overload with better-matching
 * argument types in another schema on the search path; the catalog resolver, which looks up every called name
 * in {@code pg_proc} (all schemas, all overloads), is what closes that.
 */
public final class ReadOnlyProof {

    /** Built-in functions that only read: resource {@code read-only-functions.txt}, one name a line. */
    private static final Set<String> READ_ONLY_FUNCTIONS = load("read-only-functions.txt");

    /** Statement-starting words that write. */
    private static final Set<String> DML = Set.of("insert", "update", "delete", "merge");

    /**
     * Reserved and column-name keywords (PostgreSQL's {@code kwlist.h}) that may be followed by a parenthesis:
     * an unqualified user function can never have these names, and the built-in constructs they start
     * ({@code COALESCE}, {@code EXTRACT}, {@code XMLELEMENT}...) only read. Only words that are keywords in every
     * version from 13 to 17: the SQL/JSON words of 16 and 17 ({@code JSON_ARRAY(}...) could name a user
     * function on an older server, so they count as calls.
     */
    private static final Set<String> GRAMMAR_WORDS = Set.of(
            // reserved
            "all", "and", "any", "array", "as", "asymmetric", "both", "case", "cast", "check", "collate", "column",
            "constraint", "default", "distinct", "do", "else", "end", "except", "fetch", "for", "foreign", "from",
            "group", "having", "in", "intersect", "lateral", "leading", "limit", "not", "offset", "on", "only",
            "or", "order", "placing", "primary", "references", "returning", "select", "some", "symmetric",
            "table", "then", "to", "trailing", "union", "unique", "using", "variadic", "when", "where", "window",
            "with", "into", "current_date", "current_time", "current_timestamp", "localtime", "localtimestamp",
            // column-name keywords
            "between", "bigint", "bit", "boolean", "char", "character", "coalesce", "dec", "decimal", "exists",
            "extract", "float", "greatest", "grouping", "inout", "int", "integer", "interval", "least",
            "national", "nchar", "none", "normalize", "nullif", "numeric", "out", "overlay", "position", "precision", "real",
            "row", "setof", "smallint", "substring", "time", "timestamp", "treat", "trim", "values", "varchar",
            "xmlattributes", "xmlconcat", "xmlelement", "xmlexists", "xmlforest", "xmlnamespaces", "xmlparse",
            "xmlpi", "xmlroot", "xmlserialize", "xmltable");

    /**
     * Type-and-function-name keywords ({@code kwlist.h}) that are also infix operators or join syntax: after an
     * operand ({@code a LIKE (...)}, {@code t JOIN (...)}) they are grammar; anywhere else they are calls.
     */
    private static final Set<String> INFIX_WORDS = Set.of("join", "is", "like", "ilike", "similar", "overlaps",
            "isnull", "notnull", "tablesample", "cross", "inner", "left", "right", "full", "natural", "outer");

    /** Words after which an operand (and so possibly a call) starts. */
    private static final Set<String> OPERAND_STARTS = Set.of("select", "where", "and", "or", "not", "on", "by",
            "having", "returning", "set", "then", "else", "when", "case", "from", "join", "lateral", "values",
            "in", "is", "distinct", "all", "any", "some", "exists", "using", "limit", "offset", "between",
            "symmetric", "asymmetric", "like", "ilike", "similar", "to", "escape", "union", "intersect", "except",
            "array", "row", "over", "default", "placing", "for", "both", "leading", "trailing", "at", "zone",
            "with", "only", "table", "end", "collate", "filter", "within", "partition", "order", "if");

    /** Words that end a FROM list at their depth. */
    private static final Set<String> FROM_LIST_ENDS = Set.of("where", "group", "having", "order", "limit",
            "offset", "window", "union", "intersect", "except", "for", "fetch", "returning", "into", "select",
            "values");

    private static final Set<String> CATALOG_SCHEMAS = Set.of("pg_catalog", "information_schema");

    private ReadOnlyProof() {}

    /** Whether a call of {@code function} (lower case unless quoted, as in {@code functions()}) only reads. */
    public static boolean isBuiltInReadOnly(String function) {
        int dot = function.lastIndexOf('.');
        if (dot < 0) {
            return READ_ONLY_FUNCTIONS.contains(function);
        }
        String schema = function.substring(0, dot);
        String name = function.substring(dot + 1);
        return schema.equals("pg_catalog") ? READ_ONLY_FUNCTIONS.contains(name)
                : READ_ONLY_FUNCTIONS.contains(function);
    }

    /**
     * Whether {@code name}, as recorded in {@code functions()}, is SQL syntax rather than a function: an
     * unqualified reserved or column-name keyword ({@code COALESCE}, {@code ARRAY}, {@code ANY}, {@code EXISTS},
     * type names with modifiers). The grammar does not let a user function have such a name unquoted, and the
     * constructs only read.
     */
    static boolean isSqlSyntax(String name) {
        return name.indexOf('.') < 0 && GRAMMAR_WORDS.contains(name);
    }

    /**
     * For a statement left {@code unparsed} only because it calls functions the built-in list does not know:
     * those functions, as written ({@code name} or {@code schema.name}; an operator named outside
     * {@code pg_catalog} with {@code OPERATOR(schema.op)} appears as {@code operator(schema.op)}, to be judged by
     * its {@code oprcode}). Empty when the statement is not {@code unparsed}, or when no answer about
     * functions could change that (it may write, it is not a query, or its text is unterminated). The proxy that resolves these through {@code pg_proc} passes its verdict to
     * {@link #proveWithCatalog}.
     *
     * @param standardConformingStrings the session's setting, under which the statement was analysed
     */
    public static Set<String> unknownFunctions(StatementFacts facts, boolean standardConformingStrings) {
        if (!facts.unparsed() || facts.kind() != StatementKind.SELECT) {
            return Set.of();
        }
        Examination e = examineText(facts.text(), standardConformingStrings);
        return e.isQuery && e.noWrite ? Collections.unmodifiableSet(e.unknownFunctions) : Set.of();
    }

    /**
     * {@code facts} no longer {@code unparsed} when the token proof holds and every function in
     * {@link #unknownFunctions} is one the catalog says is immutable or stable ({@code nonVolatile}); otherwise
     * {@code facts} unchanged. Resolve each name as the session's search path would (every overload of it):
     * a name that is volatile in any overload, or not found, must answer false.
     */
    public static StatementFacts proveWithCatalog(StatementFacts facts, boolean standardConformingStrings,
                                                  Predicate<String> nonVolatile) {
        if (!facts.unparsed() || facts.kind() != StatementKind.SELECT) {
            return facts;
        }
        Examination e = examineText(facts.text(), standardConformingStrings);
        if (!e.isQuery || !e.noWrite || !e.unknownFunctions.stream().allMatch(nonVolatile)) {
            return facts;
        }
        return facts.withUnparsed(false);
    }

    /** The examination of a statement's text; an unterminated text (the server refuses it) is no query. */
    private static Examination examineText(String text, boolean standardConformingStrings) {
        Lexer.Result lexed = Lexer.tokenize(text, standardConformingStrings);
        if (lexed.unterminated()) {
            return new Examination();
        }
        return examine(lexed.tokens());
    }

    /**
     * Applies the proof to a SELECT-kind statement the lexer analysed after JSqlParser failed: when its tokens
     * show no write, adds the conservative reads described above to the lexer's best-effort ones, and clears
     * {@code unparsed} when every call is known to only read.
     */
    static void apply(List<Token> tokens, FactsBuilder b) {
        if (b.kind != StatementKind.SELECT || tokens.isEmpty()) {
            return;
        }
        Examination e = examine(tokens);
        if (!e.isQuery || !e.noWrite) {
            return;
        }
        b.tablesRead.addAll(e.relations);
        b.tablesRead.removeAll(b.tablesWritten);
        b.columnsRead.addAll(e.names);
        if (!e.catalogOnly) {
            b.columnsRead.add(new ColumnRef(null, "*"));
        }
        b.functions.addAll(e.calls);
        if (e.unknownFunctions.isEmpty()) {
            b.unparsed = false;
        }
    }

    /** What the tokens of one statement show. */
    static final class Examination {
        boolean isQuery;
        boolean noWrite = true;
        final Set<String> calls = new LinkedHashSet<>();
        final Set<String> unknownFunctions = new LinkedHashSet<>();
        final Set<TableRef> relations = new LinkedHashSet<>();
        final Set<ColumnRef> names = new LinkedHashSet<>();
        boolean catalogOnly = true;
    }

    static Examination examine(List<Token> tokens) {
        Examination e = new Examination();
        e.isQuery = isQuery(tokens);
        if (!e.isQuery) {
            return e;
        }
        e.noWrite = noDataModifyingWords(tokens);
        if (!e.noWrite) {
            return e;
        }
        calls(tokens, e);
        relations(tokens, e);
        return e;
    }

    /** Starts (after any parentheses) with SELECT, VALUES, TABLE or WITH, and has such a keyword at depth 0. */
    private static boolean isQuery(List<Token> tokens) {
        int i = 0;
        while (i < tokens.size() && tokens.get(i).isOp("(")) {
            i++;
        }
        if (i >= tokens.size() || tokens.get(i).type() != Type.WORD) {
            return false;
        }
        String first = tokens.get(i).value();
        if (first.equals("select") || first.equals("values") || first.equals("table")) {
            return true;
        }
        if (!first.equals("with")) {
            return false;
        }
        int depth = 0;
        for (Token t : tokens) {
            if (t.isOp("(") || t.isOp("[")) {
                depth++;
            } else if (t.isOp(")") || t.isOp("]")) {
                depth--;
            } else if (depth == 0 && t.type() == Type.WORD
                    && (t.value().equals("select") || t.value().equals("values") || t.value().equals("table"))) {
                return true;
            } else if (depth == 0 && t.type() == Type.WORD && DML.contains(t.value())) {
                return false;
            }
        }
        return false;
    }

    private static boolean noDataModifyingWords(List<Token> tokens) {
        for (int i = 0; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (t.type() != Type.WORD) {
                continue;
            }
            if (t.value().equals("into")) {
                return false;
            }
            if (!DML.contains(t.value())) {
                continue;
            }
            Token prev = i > 0 ? tokens.get(i - 1) : null;
            Token next = i + 1 < tokens.size() ? tokens.get(i + 1) : null;
            boolean partOfName = (prev != null && prev.isOp(".")) || (next != null && next.isOp("."));
            boolean alias = prev != null && prev.isWord("as") && (next == null || !next.isOp("("));
            boolean locking = t.value().equals("update") && prev != null
                    && (prev.isWord("for") || (prev.isWord("key") && i >= 3 && tokens.get(i - 2).isWord("no")
                    && tokens.get(i - 3).isWord("for")));
            if (!partOfName && !alias && !locking) {
                return false;
            }
        }
        return true;
    }

    /** Every call, and those the built-in list does not know. */
    private static void calls(List<Token> tokens, Examination e) {
        for (int i = 0; i + 1 < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (!t.isIdentifier() || !tokens.get(i + 1).isOp("(")) {
                continue;
            }
            int first = i;
            while (first >= 2 && tokens.get(first - 1).isOp(".") && tokens.get(first - 2).isIdentifier()) {
                first -= 2;
            }
            boolean qualified = first < i;
            Token before = first > 0 ? tokens.get(first - 1) : null;
            if (!qualified && t.isWord("operator")) {
                String operator = operatorName(tokens, i + 1);
                if (operator != null) {
                    // OPERATOR(schema.op): pg_catalog's operators are built in; another schema's is user code.
                    if (!operator.startsWith("pg_catalog.") && operator.contains(".")) {
                        e.unknownFunctions.add("operator(" + operator + ")");
                    }
                    continue;
                }
            }
            if (before != null && (before.isOp("::") || before.isWord("as"))) {
                continue; // a type with modifiers, or an alias's column definitions
            }
            if (!qualified && t.type() == Type.WORD) {
                if (GRAMMAR_WORDS.contains(t.value())) {
                    continue;
                }
                if (t.value().equals("sets") && before != null && before.isWord("grouping")) {
                    continue;
                }
                if (INFIX_WORDS.contains(t.value()) && before != null && afterOperand(tokens, first - 1)) {
                    continue;
                }
            }
            if (before != null && before.isOp(")") && !closesOperatorName(tokens, first - 1)) {
                continue; // (subquery) alias(cols), f() OVER (...), FILTER (...), WITHIN GROUP (...)
            }
            if (isCteHeader(tokens, i + 1, before)) {
                continue;
            }
            List<String> parts = new java.util.ArrayList<>(3);
            for (int k = first; k <= i; k += 2) {
                parts.add(tokens.get(k).value());
            }
            String call = String.join(".", parts);
            e.calls.add(call);
            if (!isBuiltInReadOnly(call)) {
                e.unknownFunctions.add(call);
            }
        }
    }

    /** For {@code ( [schema .] op )} at {@code open}: {@code schema.op} or {@code op}; otherwise null. */
    private static String operatorName(List<Token> tokens, int open) {
        StringBuilder name = new StringBuilder();
        int k = open + 1;
        while (k + 1 < tokens.size() && tokens.get(k).isIdentifier() && tokens.get(k + 1).isOp(".")) {
            name.append(tokens.get(k).value()).append('.');
            k += 2;
        }
        if (k + 1 >= tokens.size() || tokens.get(k).type() != Type.OPERATOR || !tokens.get(k + 1).isOp(")")) {
            return null;
        }
        String op = tokens.get(k).value();
        if (op.equals("(") || op.equals(")") || op.equals(",") || op.equals("[") || op.equals("]")) {
            return null;
        }
        return name.append(op).toString();
    }

    /** Whether the token at {@code at} ends an operand (an identifier that is not an operand-starting word). */
    private static boolean afterOperand(List<Token> tokens, int at) {
        Token t = tokens.get(at);
        return switch (t.type()) {
            case WORD -> !OPERAND_STARTS.contains(t.value());
            case QUOTED_IDENT, STRING, NUMBER, PARAM -> true;
            case OPERATOR -> t.value().equals(")") || t.value().equals("]");
        };
    }

    /** Whether the {@code )} at {@code close} ends {@code OPERATOR(schema.op)}, after which an operand follows. */
    private static boolean closesOperatorName(List<Token> tokens, int close) {
        for (int k = close - 1; k >= 0 && k >= close - 5; k--) {
            Token t = tokens.get(k);
            if (t.isOp("(")) {
                return k > 0 && tokens.get(k - 1).isWord("operator");
            }
        }
        return false;
    }

    /** {@code WITH [RECURSIVE] name (cols) AS [NOT] [MATERIALIZED] (} or {@code , name (cols) AS (}. */
    private static boolean isCteHeader(List<Token> tokens, int open, Token before) {
        if (before == null || !(before.isWord("with") || before.isWord("recursive") || before.isOp(","))) {
            return false;
        }
        int depth = 0;
        int k = open;
        for (; k < tokens.size(); k++) {
            if (tokens.get(k).isOp("(")) {
                depth++;
            } else if (tokens.get(k).isOp(")") && --depth == 0) {
                break;
            }
        }
        k++;
        if (k >= tokens.size() || !tokens.get(k).isWord("as")) {
            return false;
        }
        k++;
        if (k < tokens.size() && tokens.get(k).isWord("not")) {
            k++;
        }
        if (k < tokens.size() && tokens.get(k).isWord("materialized")) {
            k++;
        }
        return k < tokens.size() && tokens.get(k).isOp("(");
    }

    /** One level of parentheses while looking for FROM items. */
    private static final class Level {
        boolean fromList;
        boolean expectItem;
    }

    /**
     * Names in FROM-item positions at every depth (over-approximated: a keyword there counts too), the CTE names
     * that are not relations, and every name the statement mentions as a column read.
     */
    private static void relations(List<Token> tokens, Examination e) {
        Set<String> cteNames = new HashSet<>();
        for (int i = 0; i + 2 < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (t.isIdentifier() && (i == 0 || !tokens.get(i - 1).isOp("."))
                    && isCteHeaderAt(tokens, i + 1) && i > 0
                    && (tokens.get(i - 1).isWord("with") || tokens.get(i - 1).isWord("recursive")
                    || tokens.get(i - 1).isOp(","))) {
                cteNames.add(t.value());
            }
        }
        Deque<Level> levels = new ArrayDeque<>();
        levels.push(new Level());
        Set<TableRef> found = new LinkedHashSet<>();
        int i = 0;
        while (i < tokens.size()) {
            Token t = tokens.get(i);
            Level level = levels.peek();
            if (t.isOp("(")) {
                Level inner = new Level();
                Token next = i + 1 < tokens.size() ? tokens.get(i + 1) : null;
                boolean subquery = next != null && next.type() == Type.WORD
                        && Set.of("select", "values", "with", "table").contains(next.value());
                inner.fromList = level.expectItem && !subquery;
                inner.expectItem = inner.fromList;
                levels.push(inner);
                i++;
                continue;
            }
            if (t.isOp(")")) {
                if (levels.size() > 1) {
                    levels.pop();
                }
                levels.peek().expectItem = false;
                i++;
                continue;
            }
            if (t.isOp(",")) {
                level.expectItem = level.fromList;
                i++;
                continue;
            }
            if (t.type() == Type.WORD) {
                String w = t.value();
                boolean qualifiedPart = (i > 0 && tokens.get(i - 1).isOp("."))
                        || (i + 1 < tokens.size() && tokens.get(i + 1).isOp("."));
                if (!qualifiedPart) {
                    if (w.equals("from") || w.equals("join")) {
                        level.fromList = true;
                        level.expectItem = true;
                        i++;
                        continue;
                    }
                    if (w.equals("table") && (i == 0 || tokens.get(i - 1).isOp("("))) {
                        level.fromList = false;
                        level.expectItem = true;
                        i++;
                        continue;
                    }
                    if (level.expectItem && (w.equals("only") || w.equals("lateral") || w.equals("rows"))) {
                        i++;
                        continue;
                    }
                    if (w.equals("on") || w.equals("using")) {
                        level.expectItem = false;
                        i++;
                        continue;
                    }
                    if (FROM_LIST_ENDS.contains(w)) {
                        level.fromList = false;
                        level.expectItem = false;
                        i++;
                        continue;
                    }
                }
            }
            if (t.isIdentifier()) {
                int end = i;
                List<String> parts = new java.util.ArrayList<>(3);
                parts.add(t.value());
                while (end + 2 < tokens.size() && tokens.get(end + 1).isOp(".")
                        && tokens.get(end + 2).isIdentifier()) {
                    end += 2;
                    parts.add(tokens.get(end).value());
                }
                boolean star = end + 2 < tokens.size() && tokens.get(end + 1).isOp(".")
                        && tokens.get(end + 2).isOp("*");
                boolean call = end + 1 < tokens.size() && tokens.get(end + 1).isOp("(");
                if (level.expectItem && !call) {
                    TableRef ref = LexicalAnalysis.ref(parts);
                    if (!(parts.size() == 1 && cteNames.contains(parts.get(0)))) {
                        found.add(ref);
                        if (parts.size() < 2 || !CATALOG_SCHEMAS.contains(parts.get(parts.size() - 2))) {
                            e.catalogOnly = false;
                        }
                    }
                    level.expectItem = false;
                } else if (!call && !notAName(tokens, i, parts)) {
                    if (star) {
                        e.names.add(new ColumnRef(String.join(".", parts), "*"));
                    } else if (parts.size() == 1) {
                        e.names.add(new ColumnRef(null, parts.get(0)));
                    } else {
                        e.names.add(new ColumnRef(String.join(".", parts.subList(0, parts.size() - 1)),
                                parts.get(parts.size() - 1)));
                    }
                }
                if (level.expectItem && call) {
                    level.expectItem = false; // a function in FROM; its alias follows
                }
                i = end + 1;
                continue;
            }
            if (t.isOp("*") && i > 0 && !tokens.get(i - 1).isOp(".")
                    && (tokens.get(i - 1).isWord("select") || tokens.get(i - 1).isOp(",")
                    || tokens.get(i - 1).isWord("distinct") || tokens.get(i - 1).isWord("all"))) {
                e.names.add(new ColumnRef(null, "*"));
            }
            i++;
        }
        e.relations.addAll(found);
    }

    /** Keywords, aliases after AS and types after {@code ::}: not names of columns read. */
    private static boolean notAName(List<Token> tokens, int at, List<String> parts) {
        Token before = at > 0 ? tokens.get(at - 1) : null;
        if (before != null && (before.isWord("as") || before.isOp("::"))) {
            return true;
        }
        if (parts.size() > 1 || tokens.get(at).type() != Type.WORD) {
            return false;
        }
        String w = parts.get(0);
        return GRAMMAR_WORDS.contains(w) || OPERAND_STARTS.contains(w) || FROM_LIST_ENDS.contains(w)
                || INFIX_WORDS.contains(w) || NOT_NAMES.contains(w);
    }

    private static final Set<String> NOT_NAMES = Set.of("asc", "desc", "nulls", "first", "last", "null", "true",
            "false", "operator", "recursive", "materialized", "ordinality", "key", "share", "nowait", "skip",
            "locked", "of", "no", "rows", "range", "groups", "preceding", "following", "unbounded", "current",
            "exclude", "ties", "others", "at", "zone", "day", "hour", "minute", "second", "month", "year",
            "without", "escape", "sets", "cube", "rollup", "search", "cycle", "breadth", "depth", "set");

    private static boolean isCteHeaderAt(List<Token> tokens, int at) {
        Token next = tokens.get(at);
        if (next.isWord("as")) {
            int k = at + 1;
            if (k < tokens.size() && tokens.get(k).isWord("not")) {
                k++;
            }
            if (k < tokens.size() && tokens.get(k).isWord("materialized")) {
                k++;
            }
            return k < tokens.size() && tokens.get(k).isOp("(");
        }
        return next.isOp("(") && isCteHeader(tokens, at, tokens.get(at - 2 >= 0 ? at - 2 : at));
    }

    private static Set<String> load(String resource) {
        Set<String> names = new HashSet<>();
        try (InputStream in = ReadOnlyProof.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + resource);
            }
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                String name = line.strip();
                if (!name.isEmpty() && !name.startsWith("#")) {
                    names.add(name);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Set.copyOf(names);
    }
}
