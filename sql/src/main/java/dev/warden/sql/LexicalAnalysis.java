package dev.warden.sql;

import dev.warden.sql.Lexer.Token;
import dev.warden.sql.Lexer.Type;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Facts from tokens alone. Classifies every statement by its leading keywords; analyses completely the
 * statements whose grammar is a keyword sequence plus names (transaction control, SET/SHOW/RESET, COPY, DROP,
 * TRUNCATE, LOCK, VACUUM, GRANT ...); and, for statements JSqlParser could not parse, recovers the facts that
 * guardrails need most (targets, FROM/JOIN tables, functions, top-level WHERE) on a best-effort basis.
 */
final class LexicalAnalysis {

    /** Kinds that JSqlParser analyses; the lexer only falls back for them. */
    static final Set<StatementKind> PARSER_KINDS = EnumSet.of(StatementKind.SELECT, StatementKind.INSERT,
            StatementKind.UPDATE, StatementKind.DELETE, StatementKind.MERGE, StatementKind.CREATE,
            StatementKind.ALTER);

    /** Analyses a statement nested in another one (PREPARE ... AS, EXPLAIN, DECLARE ... FOR, COPY (query)). */
    interface InnerStatements {
        StatementFacts analyse(List<Token> tokens);
    }

    private static final Set<String> RELATION_TYPES =
            Set.of("TABLE", "VIEW", "MATERIALIZED VIEW", "FOREIGN TABLE", "SEQUENCE");

    /** Words that take a parenthesis without being a function call. */
    private static final Set<String> NOT_FUNCTIONS = Set.of("in", "values", "exists", "any", "all", "some",
            "array", "row", "over", "filter", "within", "and", "or", "not", "when", "then", "else", "case",
            "select", "where", "from", "join", "on", "using", "as", "returning", "set", "by", "into", "table",
            "with", "lateral", "default", "check", "unique", "primary", "key", "foreign", "references",
            "partition", "window", "sets", "cube", "rollup", "distinct", "is", "like", "ilike", "between",
            "union", "intersect", "except", "limit", "offset", "do", "conflict", "include", "tablesample",
            "only", "ordinality", "of", "if", "elsif", "while", "return", "returns", "loop", "begin", "end",
            "for", "to", "options", "without", "materialized", "recursive", "cursor", "execute", "perform",
            "exclude", "nulls", "cast", "treat", "escape", "analyze", "analyse", "verbose",
            "vacuum", "explain", "copy", "grant", "revoke", "group", "order", "having", "lock", "declare",
            "notify", "listen", "raise", "assert", "call", "prepare", "also", "instead", "nothing");

    /**
     * Words of {@link #NOT_FUNCTIONS} the server lets name a user function called unqualified (unreserved or
     * type-and-function-name keywords, and PL/pgSQL's own words, which SQL does not reserve): checked one by one
     * against PostgreSQL 16, where {@code options(1)}, {@code key(1)} or {@code assert(1)} in a SELECT or a PL/pgSQL
     * expression runs {@code public.options(int)}. After a word that starts an expression such a word followed by
     * {@code (} is listed as a call (see {@link #syntaxBeforeParenthesis} for the few places the grammar reads it
     * otherwise); where no function of that name exists the call is judged as the syntax it then is.
     */
    static final Set<String> CALLABLE_SYNTAX_WORDS = Set.of("over", "filter", "within", "join", "set", "by", "key",
            "partition", "sets", "cube", "rollup", "is", "like", "ilike", "conflict", "include", "tablesample",
            "ordinality", "of", "if", "elsif", "while", "return", "returns", "loop", "begin", "options", "without",
            "materialized", "recursive", "cursor", "execute", "perform", "exclude", "nulls", "escape", "verbose",
            "vacuum", "explain", "copy", "revoke", "lock", "declare", "notify", "listen", "raise", "assert", "call",
            "prepare", "also", "instead", "nothing");

    /** Keywords after which {@code name(} is a call (after any other word it is a type, alias or table). */
    private static final Set<String> CALL_PREFIX = Set.of("select", "where", "and", "or", "not", "on", "by",
            "having", "returning", "set", "then", "else", "when", "case", "from", "join", "lateral", "values",
            "in", "is", "distinct", "all", "any", "some", "exists", "using", "perform", "call", "return",
            "limit", "offset", "do", "execute", "if", "elsif", "while", "until", "begin", "assert", "array",
            "row", "like", "ilike", "between", "union", "intersect", "except", "default", "over", "escape",
            "loop", "raise", "notice", "warning", "exception", "info", "log", "debug", "to", "for", "zone", "first",
            "next", "similar", "only", "rows", "with", "within", "filter", "asc", "desc", "nulls", "last",
            "symmetric", "both", "leading", "trailing", "placing", "overlay", "at", "time", "local");

    /** Words that end a FROM item instead of naming its alias. */
    private static final Set<String> CLAUSE_WORDS = Set.of("where", "join", "inner", "left", "right", "full",
            "cross", "natural", "on", "using", "group", "order", "having", "limit", "offset", "union",
            "intersect", "except", "window", "for", "fetch", "returning", "set", "when", "then", "lateral",
            "tablesample", "with", "into", "values", "select", "do", "as", "only", "and", "or", "not");

    /** Words before a DML keyword that make it a rule's or a trigger's event. */
    private static final Set<String> EVENT_BEFORE = Set.of("on", "before", "after", "or", "of");

    private static final Set<String> STATEMENT_STARTS =
            Set.of("select", "insert", "update", "delete", "merge", "values", "table");

    private LexicalAnalysis() {}

    /**
     * Analyses a statement from its tokens. The result's {@code unparsed} is false only when the statement's
     * whole grammar is known here; the caller decides whether to try JSqlParser ({@link #PARSER_KINDS}).
     */
    static FactsBuilder analyse(List<Token> tokens, InnerStatements inner) {
        Cursor c = new Cursor(tokens, 0);
        String first = c.peekWord();
        if (first == null) {
            FactsBuilder b = new FactsBuilder(startsLikeQuery(tokens) ? StatementKind.SELECT : StatementKind.OTHER);
            b.unparsed = true;
            fallback(tokens, b);
            return b;
        }
        FactsBuilder b = new FactsBuilder(StatementKind.OTHER);
        boolean understood = true;
        boolean scanFunctions = true;
        c.next();
        switch (first) {
            case "select", "values", "table", "with", "insert", "update", "delete", "merge" -> {
                b.kind = dmlKind(tokens);
                understood = false;
                scanFunctions = false;
                fallback(tokens, b);
            }
            case "create" -> {
                b.kind = StatementKind.CREATE;
                understood = false;
                scanFunctions = false;
                create(c, b);
                fallback(tokens, b);
                namedFunctions(tokens, b.functions);
            }
            case "alter" -> {
                if (c.word("system")) {
                    b.kind = StatementKind.ALTER_SYSTEM;
                } else {
                    b.kind = StatementKind.ALTER;
                    understood = false;
                    scanFunctions = false;
                    alter(c, b);
                    fallback(tokens, b);
                }
            }
            case "drop" -> {
                if (c.word("owned")) {
                    b.kind = StatementKind.DROP_OWNED;
                } else {
                    b.kind = StatementKind.DROP;
                    understood = drop(c, b);
                }
            }
            case "truncate" -> {
                b.kind = StatementKind.TRUNCATE;
                b.objectType = "TABLE";
                c.word("table");
                understood = nameList(c, b.tablesWritten) && (c.atEnd() || c.peekWordIn(
                        Set.of("restart", "continue", "cascade", "restrict")));
            }
            case "grant", "revoke" -> {
                b.kind = first.equals("grant") ? StatementKind.GRANT : StatementKind.REVOKE;
                grant(c, b);
            }
            case "comment" -> {
                b.kind = StatementKind.COMMENT;
                understood = c.word("on") && commentTarget(c, b);
            }
            case "security" -> {
                b.kind = StatementKind.SECURITY_LABEL;
                understood = c.word("label");
                if (c.word("for")) {
                    c.next();
                }
                understood &= c.word("on") && commentTarget(c, b);
            }
            case "import" -> {
                b.kind = StatementKind.IMPORT_FOREIGN_SCHEMA;
                understood = importForeignSchema(c, b);
            }
            case "reassign" -> b.kind = StatementKind.REASSIGN_OWNED;
            case "set" -> set(c, b);
            case "reset" -> b.kind = c.word("role") || c.words("session", "authorization") || roleSetting(c) != null
                    ? StatementKind.RESET_ROLE : StatementKind.RESET;
            case "show" -> b.kind = StatementKind.SHOW;
            case "copy" -> {
                b.kind = StatementKind.COPY;
                understood = copy(c, b, inner);
                scanFunctions = false;
            }
            case "do" -> {
                b.kind = StatementKind.DO;
                scanFunctions = false;
                for (Token t : tokens) {
                    if (t.type() == Type.STRING) {
                        functionsInCode(t.value(), b.functions, 3);
                    }
                }
            }
            case "call" -> b.kind = StatementKind.CALL;
            case "prepare" -> {
                // PREPARE TRANSACTION 'gid' takes a string; PREPARE transaction AS ... prepares a statement of that
                // name (TRANSACTION is an unreserved keyword), whose text must be read like any other.
                if (c.peekWord("transaction") && c.i + 1 < tokens.size() && tokens.get(c.i + 1).type() == Type.STRING) {
                    c.next();
                    b.kind = StatementKind.COMMIT;
                } else {
                    b.kind = StatementKind.PREPARE;
                    b.preparedName = c.identifier();
                    c.skipParens();
                    understood = b.preparedName != null && c.word("as") && !c.atEnd();
                    if (understood) {
                        b.mirror(inner.analyse(c.rest()), true);
                        scanFunctions = false;
                    }
                }
            }
            case "execute" -> {
                b.kind = StatementKind.EXECUTE;
                b.preparedName = c.identifier();
                understood = b.preparedName != null;
                functionCalls(c.rest(), b.functions);
                scanFunctions = false;
            }
            case "deallocate" -> {
                b.kind = StatementKind.DEALLOCATE;
                c.word("prepare");
                b.preparedName = c.word("all") ? "ALL" : c.identifier();
            }
            case "begin", "start" -> b.kind = StatementKind.BEGIN;
            case "commit", "end" -> b.kind = StatementKind.COMMIT;
            case "abort", "rollback" -> b.kind = StatementKind.ROLLBACK;
            case "savepoint" -> b.kind = StatementKind.SAVEPOINT;
            case "release" -> b.kind = StatementKind.RELEASE;
            case "vacuum", "analyze", "analyse" -> {
                b.kind = first.equals("vacuum") ? StatementKind.VACUUM : StatementKind.ANALYZE;
                c.skipParens();
                while (c.peekWordIn(Set.of("full", "freeze", "verbose", "analyze", "analyse"))) {
                    c.next();
                }
                nameListWithColumns(c, b.kind == StatementKind.VACUUM ? b.tablesWritten : b.tablesRead);
                understood = c.atEnd();
                if (b.kind == StatementKind.VACUUM && b.tablesWritten.isEmpty()) {
                    b.tablesWritten.add(TableRef.ANY_RELATION); // every table the login owns
                }
            }
            case "cluster" -> {
                b.kind = StatementKind.CLUSTER;
                c.skipParens();
                c.word("verbose");
                TableRef table = c.name();
                // Without one, CLUSTER rewrites every table of the login's that was clustered before.
                b.tablesWritten.add(table != null ? table : TableRef.ANY_RELATION);
            }
            case "reindex" -> {
                b.kind = StatementKind.REINDEX;
                c.skipParens();
                String type = c.peekWord();
                b.objectType = type == null ? "" : type.toUpperCase(Locale.ROOT);
                c.next();
                c.word("concurrently");
                TableRef name = c.name();
                // REINDEX INDEX rebuilds the index, REINDEX SCHEMA every index of the schema's relations.
                if (name != null && (b.objectType.equals("TABLE") || b.objectType.equals("INDEX"))) {
                    b.tablesWritten.add(name);
                } else if (name != null && name.schema() == null && b.objectType.equals("SCHEMA")) {
                    b.tablesWritten.add(new TableRef(name.name(), "*"));
                } else if (b.objectType.equals("DATABASE")) {
                    b.tablesWritten.add(TableRef.ANY_RELATION);
                } else if (b.objectType.equals("SYSTEM")) {
                    b.tablesWritten.add(new TableRef("pg_catalog", "*")); // the catalogs' indexes only
                }
            }
            case "refresh" -> {
                b.kind = StatementKind.REFRESH;
                understood = c.words("materialized", "view");
                b.objectType = "MATERIALIZED VIEW";
                c.word("concurrently");
                TableRef view = c.name();
                if (view != null) {
                    b.tablesWritten.add(view);
                }
            }
            case "listen" -> b.kind = StatementKind.LISTEN;
            case "notify" -> b.kind = StatementKind.NOTIFY;
            case "unlisten" -> b.kind = StatementKind.UNLISTEN;
            case "discard" -> b.kind = StatementKind.DISCARD;
            case "checkpoint" -> b.kind = StatementKind.CHECKPOINT;
            case "load" -> b.kind = StatementKind.LOAD;
            case "lock" -> {
                b.kind = StatementKind.LOCK;
                c.word("table");
                understood = nameList(c, b.tablesWritten) && (c.atEnd() || c.peekWordIn(Set.of("in", "nowait")));
            }
            case "declare" -> {
                b.kind = StatementKind.DECLARE;
                int forAt = c.indexOfWord("for");
                understood = forAt > 0 && forAt + 1 < tokens.size();
                if (understood) {
                    b.mirror(inner.analyse(tokens.subList(forAt + 1, tokens.size())), true);
                    scanFunctions = false;
                }
            }
            case "fetch" -> b.kind = StatementKind.FETCH;
            case "move" -> b.kind = StatementKind.MOVE;
            case "close" -> b.kind = StatementKind.CLOSE;
            case "explain" -> {
                b.kind = StatementKind.EXPLAIN;
                understood = explain(c, b, inner);
                scanFunctions = false;
            }
            default -> {
                understood = false;
                fallback(tokens, b);
                scanFunctions = false;
            }
        }
        if (scanFunctions) {
            functionCalls(tokens, b.functions);
        }
        b.unparsed |= !understood;
        return b;
    }

    /**
     * The SQL that runs as part of a statement, as texts to analyse like top-level statements: the actions of
     * {@code CREATE RULE} (they run with every later statement the rule fires on) and what a DO block runs.
     * Null for other statements.
     */
    static RoutineBodies.Found runsWithin(String source, List<Token> tokens) {
        Cursor c = new Cursor(tokens, 0);
        if (c.word("do")) {
            String language = "plpgsql";
            String body = null;
            while (!c.atEnd()) {
                if (c.word("language")) {
                    Token lang = c.atEnd() ? null : c.tokens.get(c.i);
                    if (lang != null && (lang.isIdentifier() || lang.type() == Type.STRING)) {
                        language = lang.value();
                    }
                    c.next();
                } else if (c.peekType(Type.STRING)) {
                    body = c.tokens.get(c.i).value();
                    c.next();
                } else {
                    c.next();
                }
            }
            return body == null ? new RoutineBodies.Found(List.of(), true) : RoutineBodies.of(language, body);
        }
        if (!c.word("create")) {
            return null;
        }
        c.words("or", "replace");
        if (c.peekWord("function") || c.peekWord("procedure")) {
            return routineDefinition(source, tokens);
        }
        if (!c.word("rule")) {
            return null;
        }
        // After a dot, "do" is a column label (new.do), not the start of the actions.
        int doAt = firstAtTopLevel(tokens, c.i, k -> tokens.get(k).isWord("do") && !tokens.get(k - 1).isOp("."));
        if (doAt < 0) {
            return new RoutineBodies.Found(List.of(), true);
        }
        Cursor a = new Cursor(tokens, doAt + 1);
        if (!a.word("also")) {
            a.word("instead");
        }
        if (a.word("nothing")) {
            return new RoutineBodies.Found(List.of(), false);
        }
        List<String> actions = new java.util.ArrayList<>();
        if (a.peekOp("(")) {
            int close = a.matchingParen();
            int end = close < 0 ? tokens.size() : close;
            int from = a.i + 1;
            int depth = 0;
            for (int k = from; k <= end; k++) {
                boolean boundary = k == end;
                if (!boundary) {
                    Token t = tokens.get(k);
                    if (t.isOp("(")) {
                        depth++;
                    } else if (t.isOp(")")) {
                        depth--;
                    } else if (depth == 0 && t.isOp(";")) {
                        boundary = true;
                    }
                }
                if (boundary) {
                    if (k > from) {
                        actions.add(source.substring(tokens.get(from).start(), tokens.get(k - 1).end()));
                    }
                    from = k + 1;
                }
            }
        } else if (!a.atEnd()) {
            actions.add(source.substring(tokens.get(a.i).start(), tokens.get(tokens.size() - 1).end()));
        }
        // A rule's actions name the row that fired it as NEW and OLD: one value for each action's run.
        return new RoutineBodies.Found(actions, false).withLocals(Set.of("new", "old"));
    }

    /**
     * The names a {@code CREATE FUNCTION | PROCEDURE name (params)} text gives its parameters, with the routine's
     * own name (which qualifies them, {@code f.p}); empty for another text. Over-approximates: the first word of a
     * type of two words ({@code double precision}) counts too, which only makes a WHERE on a column of that name
     * read as choosing every row or none.
     */
    static Set<String> routineLocals(List<Token> tokens) {
        Cursor c = new Cursor(tokens, 0);
        if (!c.word("create")) {
            return Set.of();
        }
        c.words("or", "replace");
        if (!c.word("function") && !c.word("procedure")) {
            return Set.of();
        }
        List<String> parts = c.nameParts();
        if (parts.isEmpty() || !c.peekOp("(")) {
            return Set.of();
        }
        Set<String> out = new HashSet<>();
        out.add(parts.get(parts.size() - 1));
        int close = c.matchingParen();
        int end = close < 0 ? tokens.size() : close;
        int from = c.i + 1;
        for (int k = from, depth = 0; k <= end; k++) {
            boolean boundary = k == end || depth == 0 && tokens.get(k).isOp(",");
            if (!boundary) {
                depth += tokens.get(k).isOp("(") ? 1 : tokens.get(k).isOp(")") ? -1 : 0;
                continue;
            }
            int a = from;
            while (a < k && (tokens.get(a).isWord("in") || tokens.get(a).isWord("out")
                    || tokens.get(a).isWord("inout") || tokens.get(a).isWord("variadic"))) {
                a++;
            }
            if (a + 1 < k && tokens.get(a).isIdentifier() && tokens.get(a + 1).isIdentifier()) {
                out.add(tokens.get(a).value());
            }
            from = k + 1;
        }
        return out;
    }

    /**
     * What the body of {@code CREATE FUNCTION/PROCEDURE ... AS 'body' LANGUAGE x} runs, judged when it is
     * created: a function can run without being named in a statement (a trigger, a column default, a view,
     * an operator, a cast, an aggregate), so a body Warden would refuse is refused here, where it is written.
     * A {@code BEGIN ATOMIC} body is read piece by piece by the splitter instead; a SQL-standard
     * {@code RETURN expr} body (the clause ends the definition) runs as {@code SELECT expr}.
     */
    private static RoutineBodies.Found routineDefinition(String source, List<Token> tokens) {
        String language = "sql";
        String body = null;
        int depth = 0;
        for (int k = 0; k < tokens.size(); k++) {
            Token t = tokens.get(k);
            if (t.isOp("(")) {
                depth++;
            } else if (t.isOp(")")) {
                depth--;
            } else if (depth == 0 && t.isWord("language") && k + 1 < tokens.size()) {
                language = tokens.get(k + 1).value();
            } else if (depth == 0 && t.isWord("as") && k + 1 < tokens.size()
                    && tokens.get(k + 1).type() == Type.STRING && body == null) {
                body = tokens.get(k + 1).value();
            } else if (depth == 0 && t.isWord("begin") && k + 1 < tokens.size()
                    && tokens.get(k + 1).isWord("atomic")) {
                break;
            } else if (depth == 0 && t.isWord("return") && k + 1 < tokens.size() && body == null) {
                return new RoutineBodies.Found(List.of("SELECT " + source.substring(tokens.get(k + 1).start(),
                        tokens.get(tokens.size() - 1).end())), false).withLocals(routineLocals(tokens));
            }
        }
        return body == null ? null : RoutineBodies.of(language, body).withLocals(routineLocals(tokens));
    }

    /**
     * Functions a definition names without calling them, which later statements call implicitly: an
     * aggregate's support functions, an operator's function, a cast's or a type's I/O functions.
     */
    static void namedFunctions(List<Token> tokens, Set<String> out) {
        if (tokens.isEmpty() || !tokens.get(0).isWord("create")) {
            return;
        }
        for (int k = 1; k + 2 < tokens.size(); k++) {
            Token t = tokens.get(k);
            if (t.type() != Type.WORD) {
                continue;
            }
            boolean assigned = FUNCTION_OPTIONS.contains(t.value()) && tokens.get(k + 1).isOp("=");
            boolean withFunction = t.value().equals("function") && tokens.get(k - 1).isWord("with");
            int at = assigned ? k + 2 : withFunction ? k + 1 : -1;
            if (at < 0 || !tokens.get(at).isIdentifier()) {
                continue;
            }
            Cursor c = new Cursor(tokens, at);
            List<String> parts = c.nameParts();
            if (!parts.isEmpty()) {
                out.add(String.join(".", parts));
            }
        }
    }

    private static final Set<String> FUNCTION_OPTIONS = Set.of("sfunc", "finalfunc", "combinefunc", "serialfunc",
            "deserialfunc", "msfunc", "minvfunc", "mfinalfunc", "function", "procedure", "input", "output",
            "receive", "send", "typmod_in", "typmod_out", "analyze", "subscript", "restrict", "join", "handler",
            "validator", "inline");

    /**
     * Whether a MERGE's join condition chooses target rows, as a WHERE would: only when it names a column of the
     * target table, qualified by the table's name or alias ({@code ON c.id = s.id}), other than by comparing
     * it with itself. A condition without one ({@code ON true}, {@code ON 'yes'::boolean},
     * {@code ON EXISTS (SELECT ...)}, an unqualified column that may belong to the source) is treated as
     * choosing every row.
     */
    static boolean mergeRestrictsRows(List<Token> tokens) {
        Cursor head = new Cursor(tokens, 0);
        int merge = head.indexOfWord("merge");
        if (merge < 0) {
            return false;
        }
        Cursor t = new Cursor(tokens, merge + 1);
        t.word("into");
        t.word("only");
        List<String> parts = t.nameParts();
        if (parts.isEmpty()) {
            return false;
        }
        Set<String> targetNames = new HashSet<>();
        targetNames.add(parts.get(parts.size() - 1));
        t.op("*");
        t.word("as");
        String alias = t.identifier();
        if (alias != null && !alias.equals("using")) {
            targetNames.clear(); // with an alias, the table's own name no longer qualifies its columns
            targetNames.add(alias);
        }
        int when = new Cursor(tokens, merge).indexOfWord("when");
        int end = when < 0 ? tokens.size() : when;
        int on = -1;
        int depth = 0;
        for (int k = merge; k < end; k++) {
            Token x = tokens.get(k);
            if (x.isOp("(")) {
                depth++;
            } else if (x.isOp(")")) {
                depth--;
            } else if (depth == 0 && x.isWord("on")) {
                on = k; // the last ON before WHEN: an earlier one may belong to a join in USING
            }
        }
        if (on < 0) {
            return false;
        }
        List<Token> condition = tokens.subList(on + 1, end);
        if (choosesEveryRowOrNone(condition)) {
            // ON true, ON t.id = t.id (true for every row where it is not null), in parentheses too (a142 F1), and
            // ON t.id > 0 OR true. An operand with a literal is no self-comparison (see constantOrSelfComparison):
            // t.id + 1 = t.id + 1 passes, as t.id + 1 = t.id + 2 must.
            return false;
        }
        // Without an alias, the table's name qualifies its columns, after its schema's too: ON public.t.id = s.id
        // (a149 F2: refused as without WHERE).
        String schema = parts.size() > 1 && targetNames.contains(parts.get(parts.size() - 1))
                ? parts.get(parts.size() - 2) : null;
        // Every operand of the top-level OR chooses target rows: one of its AND operands names a target column and
        // is no self-comparison. ON t.id = s.x OR s.y = 1 and ON s.x = 1 AND t.id = t.id chose every target row
        // (a151 F4).
        for (List<Token> branch : splitAtTopLevel(withoutOuterParentheses(condition), "or")) {
            boolean chooses = false;
            for (List<Token> operand : splitAtTopLevel(withoutOuterParentheses(branch), "and")) {
                List<Token> o = withoutOuterParentheses(operand);
                chooses |= namesTargetColumn(o, targetNames, schema) && !constantOrSelfComparison(o);
            }
            if (!chooses) {
                return false;
            }
        }
        return true;
    }

    /** Whether {@code c} names a column qualified by one of {@code targetNames} (by {@code schema} too, if set). */
    private static boolean namesTargetColumn(List<Token> c, Set<String> targetNames, String schema) {
        for (int k = 0; k + 2 < c.size(); k++) {
            Token q = c.get(k);
            boolean qualified = k > 0 && c.get(k - 1).isOp(".");
            boolean bySchema = qualified && schema != null && k > 1 && c.get(k - 2).isIdentifier()
                    && c.get(k - 2).value().equals(schema) && (k == 2 || !c.get(k - 3).isOp("."));
            if (q.isIdentifier() && targetNames.contains(q.value()) && c.get(k + 1).isOp(".")
                    && c.get(k + 2).isIdentifier() && (!qualified || bySchema)) {
                return true;
            }
        }
        return false;
    }

    /** Words after which {@code s.t} names a relation, never an expression (see {@link #implicitCalls}). */
    private static final Set<String> RELATION_ONLY_BEFORE = Set.of("from", "join", "into", "update", "table",
            "only", "view", "index", "sequence", "truncate");

    /** Words before a parenthesis that holds a subquery, never a call's arguments. */
    private static final Set<String> SUBQUERY_BEFORE = Set.of("from", "join", "lateral", "exists", "in", "any",
            "all", "some", "as", "union", "intersect", "except", "select");

    /**
     * Whether the word at {@code k} is one after which {@code s.t} names a relation ({@link #RELATION_ONLY_BEFORE}).
     * A FROM is a clause's only outside the parentheses of a call and not after DISTINCT: {@code IS DISTINCT FROM
     * x.f}, {@code substring(s FROM x.f)} and {@code extract(y FROM x.f)} take an expression.
     */
    private static boolean namesOnlyRelations(List<Token> tokens, int k) {
        Token t = tokens.get(k);
        if (t.type() != Type.WORD || !RELATION_ONLY_BEFORE.contains(t.value())) {
            return false;
        }
        if (!t.value().equals("from")) {
            return true;
        }
        if (k > 0 && tokens.get(k - 1).isWord("distinct")) {
            return false;
        }
        int depth = 0;
        for (int i = k - 1; i >= 0; i--) {
            if (tokens.get(i).isOp(")")) {
                depth++;
            } else if (tokens.get(i).isOp("(") && depth-- == 0) {
                // The innermost parenthesis around the FROM: a subquery's ((SELECT ...), IN (SELECT ...)) or a
                // call's (substring(...), another word before it), which takes expressions.
                Token before = i == 0 ? null : tokens.get(i - 1);
                return before == null || !before.isIdentifier()
                        || before.type() == Type.WORD && SUBQUERY_BEFORE.contains(before.value());
            }
        }
        return true;
    }

    /** Punctuation the lexer reports as operators; no user-defined operator can have these names. */
    private static final Set<String> PUNCTUATION = Set.of("(", ")", "[", "]", ",", ";", ".", "::", ":");

    /**
     * The operators a word makes the server look up by name, as a written operator would be: NULLIF, IN, a simple
     * CASE, IS [NOT] DISTINCT FROM and a join's USING or NATURAL compare with {@code =}, NOT IN with {@code <>},
     * [NOT] LIKE, ILIKE and SIMILAR TO match with {@code ~~}, {@code ~~*}, {@code ~} (and their {@code !}
     * forms), [NOT] BETWEEN compares with {@code >=} and {@code <=} ({@code <} and {@code >}). A user-defined
     * operator of that name over the operands' types runs its function (key {@code "not w"}: after NOT).
     */
    private static final Map<String, List<String>> IMPLIED_OPERATORS = Map.ofEntries(
            Map.entry("nullif", List.of("=")), Map.entry("in", List.of("=")), Map.entry("not in", List.of("<>", "=")),
            Map.entry("case", List.of("=")), Map.entry("distinct", List.of("=")), Map.entry("not distinct", List.of("=")),
            Map.entry("using", List.of("=")), Map.entry("natural", List.of("=")),
            Map.entry("like", List.of("~~")), Map.entry("not like", List.of("!~~")),
            Map.entry("ilike", List.of("~~*")), Map.entry("not ilike", List.of("!~~*")),
            Map.entry("similar", List.of("~")), Map.entry("not similar", List.of("!~")),
            Map.entry("between", List.of(">=", "<=")), Map.entry("not between", List.of("<", ">")));

    /**
     * What a statement calls without naming a function: every operator ({@code op:###}; a user-defined one
     * runs its function), every explicit cast's target type ({@code cast:mt}; a cast WITH FUNCTION runs it, a domain its checks), and
     * every name after a dot not followed by a parenthesis ({@code attr:f}): PostgreSQL reads {@code x.f} as the
     * call {@code f(x)} when {@code x} has no field {@code f} (attribute notation). Most of those are columns; the
     * proxy counts one as a call only when a function has that name. A schema-qualified name where only a relation
     * can stand ({@code FROM s.t}, {@code INSERT INTO s.t}) is not one. Also {@code domcheck:} for the check an
     * {@code ALTER DOMAIN ... VALIDATE CONSTRAINT} names ({@link #domainCheck}), {@code evt:w} for DDL whose first
     * word is w (it fires event triggers), {@code opclass:n} for each name that may be an index column's operator
     * class, {@code typmod:n} for each {@code n(constants)} (a type named with
     * modifiers runs its typmod_in function; most are calls, which have no such type), and {@code typeof:n} for each
     * name and operator of a statement that fills a value of a type no cast names ({@link #fillsAValueOfAnUnnamedType}):
     * the types of the relations, functions and operators of that name, each of which the value may have.
     */
    static void implicitCalls(List<Token> tokens, Set<String> out) {
        if (!tokens.isEmpty() && tokens.get(0).type() == Type.WORD
                && FIRES_EVENT_TRIGGERS.contains(tokens.get(0).value())) {
            // DDL fires the event triggers an owner made (ddl_command_start, ddl_command_end, sql_drop,
            // table_rewrite), whose functions run as the session's user: by the command tag's first word.
            out.add("evt:" + tokens.get(0).value());
        } else if (!tokens.isEmpty() && tokens.get(0).isWord("select")
                && tokens.stream().anyMatch(t -> t.isWord("into"))) {
            out.add("evt:select"); // SELECT ... INTO t makes a table (tag SELECT INTO)
        }
        if (tokens.stream().anyMatch(t -> t.isWord("index") || t.isWord("exclude"))) {
            // CREATE INDEX ... (c opclass), EXCLUDE USING gist (c s.opclass WITH &&): a name after a name, a
            // parenthesis or a dot may be an operator class, whose support functions place every row.
            for (int k = 1; k < tokens.size(); k++) {
                Token before = tokens.get(k - 1);
                if (tokens.get(k).isIdentifier() && (before.isIdentifier() || before.isOp(")") || before.isOp("."))) {
                    out.add("opclass:" + tokens.get(k).value());
                }
            }
        }
        if (tokens.size() > 2 && tokens.get(0).isWord("alter") && tokens.get(1).isWord("domain")
                && tokens.get(2).isIdentifier()) {
            for (int k = 3; k + 1 < tokens.size(); k++) {
                if (tokens.get(k).isWord("validate") && tokens.get(k + 1).isWord("constraint")) {
                    // Validating a domain's constraint checks every value of the domain stored anywhere with that
                    // constraint's expression (not the domain's other checks). Without a name to read, as a cast
                    // to the domain checks one: with all of them.
                    List<String> parts = new Cursor(tokens, 2).nameParts();
                    String domain = parts.get(parts.size() - 1);
                    out.add(k + 2 < tokens.size() && tokens.get(k + 2).isIdentifier()
                            ? domainCheck(domain, tokens.get(k + 2).value()) : "cast:" + domain);
                    break;
                }
            }
        }
        for (int k = 0; k < tokens.size(); k++) {
            Token t = tokens.get(k);
            if (k > 0 && tokens.get(k - 1).isOp(".") && t.isIdentifier()
                    && (k + 1 == tokens.size() || !tokens.get(k + 1).isOp("("))
                    && !(k > 2 && tokens.get(k - 2).isIdentifier() && namesOnlyRelations(tokens, k - 3))) {
                out.add("attr:" + t.value());
            }
            if (t.isIdentifier() && typeModifiers(tokens, k)) {
                // name(5), name('x'): a call, or a type with modifiers, whose typmod_in function the server runs
                // wherever the type is named so (a cast, a column, a variable).
                out.add("typmod:" + t.value());
            }
            if (t.type() == Type.WORD) {
                boolean negated = k > 0 && tokens.get(k - 1).isWord("not");
                for (String op : IMPLIED_OPERATORS.getOrDefault(negated ? "not " + t.value() : t.value(),
                        List.of())) {
                    out.add("op:" + op);
                }
                continue;
            }
            if (t.type() != Type.OPERATOR) {
                continue;
            }
            if (t.value().equals("%") && k >= 3 && k + 1 < tokens.size() && tokens.get(k + 1).isWord("type")
                    && tokens.get(k - 1).isIdentifier() && tokens.get(k - 2).isOp(".")
                    && tokens.get(k - 3).isIdentifier()) {
                // t.c%TYPE: the type of a column, which a value declared so is stored as (a domain's checks run)
                out.add("coltype:" + tokens.get(k - 3).value() + "." + tokens.get(k - 1).value());
            }
            if (!PUNCTUATION.contains(t.value())) {
                out.add("op:" + t.value());
            } else if (t.value().equals("::") && k + 1 < tokens.size() && tokens.get(k + 1).isIdentifier()) {
                Cursor c = new Cursor(tokens, k + 1);
                List<String> parts = c.nameParts();
                out.add("cast:" + parts.get(parts.size() - 1));
            }
        }
        for (int k = 2; k < tokens.size(); k++) {
            // A name then a type inside parentheses or a list: a column definition list (AS x(a t), ROWS FROM (...
            // AS (a t))), a table's column, a PREPARE's parameter types (PREPARE p(t, u)): a value is checked against
            // the type's domain there (an attacker's pass ran a domain CHECK so). Over-approximates: a name that is
            // no type runs nothing. XMLTABLE's first column follows COLUMNS, with no parenthesis.
            Token before = tokens.get(k - 1);
            Token opener = tokens.get(k - 2);
            boolean listed = opener.isOp("(") || opener.isOp(",") || opener.isWord("columns");
            if (listed && before.isIdentifier() && tokens.get(k).isIdentifier()) {
                List<String> parts = new Cursor(tokens, k).nameParts();
                out.add("cast:" + parts.get(parts.size() - 1));
            }
            if (k > 2 && tokens.get(k - 3).isWord("prepare") && before.isOp("(")) {
                // PREPARE p(t, u): each parameter's type
                for (int i = k; i < tokens.size() && !tokens.get(i).isOp(")"); i++) {
                    if (tokens.get(i).isIdentifier() && (tokens.get(i - 1).isOp("(") || tokens.get(i - 1).isOp(","))) {
                        List<String> parts = new Cursor(tokens, i).nameParts();
                        out.add("cast:" + parts.get(parts.size() - 1));
                    }
                }
            }
        }
        typesNamedByArgument(tokens, out);
        typesReturnedByJson(tokens, out);
        typesByOid(tokens, out);
        if (fillsAValueOfAnUnnamedType(tokens)) {
            // jsonb_populate_record(c, ...) and its kin build a value of their first argument's type, checked
            // against each domain that type reaches; no cast names it here. Every value a statement handles comes
            // from a relation, a function or an operator the text names (or a cast, a column definition list, a
            // parameter's type, judged as such): the types of those are what the argument can be.
            for (Token t : tokens) {
                if (t.isIdentifier() || t.type() == Type.OPERATOR && !PUNCTUATION.contains(t.value())) {
                    out.add("typeof:" + t.value());
                }
            }
        }
        for (int k = 0; k + 1 < tokens.size(); k++) {
            // CAST(x AS type), and typed literals (type 'text') where an expression starts
            Token t = tokens.get(k);
            if (t.isWord("as") && tokens.get(k + 1).isIdentifier()) {
                List<String> parts = new Cursor(tokens, k + 1).nameParts();
                out.add("cast:" + parts.get(parts.size() - 1));
            } else if (storedAs(tokens, k) > 0) {
                List<String> parts = new Cursor(tokens, storedAs(tokens, k)).nameParts();
                out.add("cast:" + parts.get(parts.size() - 1));
            } else if (k > 0 && t.type() == Type.WORD && tokens.get(k + 1).type() == Type.STRING
                    && !NOT_FUNCTIONS.contains(t.value()) && (tokens.get(k - 1).type() == Type.OPERATOR
                    || (tokens.get(k - 1).type() == Type.WORD && CALL_PREFIX.contains(tokens.get(k - 1).value())))) {
                out.add("cast:" + t.value());
            }
        }
    }

    /**
     * The key {@code domcheck:} of the check {@code constraint} of the domains named {@code domain} (any schema): the
     * domain's name after its length in characters, so that no two pairs of names make one key (a quoted name may
     * hold any character).
     */
    static String domainCheck(String domain, String constraint) {
        return "domcheck:" + domain.codePointCount(0, domain.length()) + ":" + domain + constraint;
    }

    /**
     * Functions that fill a value of the type of their first argument from another value, checking each field
     * against its domain: the json ones, PostgreSQL 17's jsonb_populate_record_valid (which runs the checks to
     * answer) and hstore's populate_record (also the operator {@code #=}).
     */
    private static final Set<String> FILLS_ITS_FIRST_ARGUMENT = Set.of("json_populate_record", "json_populate_recordset",
            "jsonb_populate_record", "jsonb_populate_recordset", "jsonb_populate_record_valid", "populate_record");

    /**
     * Any type, checked as a cast to it is: what a statement that fills a value of a type no cast names
     * ({@link #fillsAValueOfAnUnnamedType}) is judged with where the names of its text are not all there is (in a
     * routine body or a DO block, a name may be a parameter or a variable, whose type the text does not name), and
     * what an input function given a type's OID computed at run time makes ({@link #TYPE_BY_OID}).
     */
    static final String TYPEOF_ANY = "typeof:*";

    /** Whether {@code function} (a name as called, perhaps qualified) fills a value of its first argument's type. */
    static boolean fillsItsFirstArgument(String function) {
        int dot = function.lastIndexOf('.');
        return FILLS_ITS_FIRST_ARGUMENT.contains((dot < 0 ? function : function.substring(dot + 1))
                .toLowerCase(java.util.Locale.ROOT));
    }

    /**
     * Whether the statement fills a value of a type no cast in it names: a call of {@link #FILLS_ITS_FIRST_ARGUMENT}
     * whose first argument is not a cast ({@code NULL::t}, {@code CAST(x AS t)}, {@code t 'literal'}), which the
     * cast's key already judges; or hstore's {@code v #= h}, whatever {@code v} is.
     */
    private static boolean fillsAValueOfAnUnnamedType(List<Token> tokens) {
        for (int k = 0; k + 1 < tokens.size(); k++) {
            Token t = tokens.get(k);
            if (t.isOp("#=")) {
                return true;
            }
            if (!t.isIdentifier() || !FILLS_ITS_FIRST_ARGUMENT.contains(t.value()) || !tokens.get(k + 1).isOp("(")) {
                continue;
            }
            if (!typedByCast(tokens, k + 2, argumentEnd(tokens, k + 2))) {
                return true;
            }
        }
        return false;
    }

    /** The index of the {@code ,} or the closing bracket that ends the call's argument starting at {@code from}. */
    private static int argumentEnd(List<Token> tokens, int from) {
        int end = from;
        for (int depth = 0; end < tokens.size(); end++) {
            Token a = tokens.get(end);
            if (a.isOp("(") || a.isOp("[")) {
                depth++;
            } else if ((a.isOp(")") || a.isOp("]")) && depth-- == 0 || a.isOp(",") && depth == 0) {
                break;
            }
        }
        return end;
    }

    /**
     * Input functions that take the type to make by OID, as their second argument ({@code record_in('(2)',
     * 'wc'::regtype, -1)}): called by hand, they run the input of that type's fields, elements or subtype and its
     * domains' checks. Those whose type can be a user's (not numeric_in, enum_in...).
     */
    private static final Set<String> TYPE_BY_OID = Set.of("record_in", "array_in", "domain_in", "range_in",
            "multirange_in", "anyrange_in", "anymultirange_in", "anycompatiblerange_in", "anycompatiblemultirange_in");

    /**
     * The type each call of {@link #TYPE_BY_OID} makes: {@code cast:t} for {@code 't'::regtype} (perhaps then
     * {@code ::oid}), else {@link #TYPEOF_ANY}: an OID computed at run time may be any type's.
     */
    private static void typesByOid(List<Token> tokens, Set<String> out) {
        for (int k = 0; k + 1 < tokens.size(); k++) {
            Token t = tokens.get(k);
            if (!t.isIdentifier() || !TYPE_BY_OID.contains(t.value()) || !tokens.get(k + 1).isOp("(")) {
                continue;
            }
            int second = argumentEnd(tokens, k + 2);
            if (second >= tokens.size() || !tokens.get(second).isOp(",")) {
                continue; // one argument: not the input function
            }
            int from = second + 1;
            int to = argumentEnd(tokens, from);
            boolean named = to - from >= 3 && tokens.get(from).type() == Type.STRING
                    && tokens.get(from + 1).isOp("::") && tokens.get(from + 2).isWord("regtype")
                    && (to - from == 3 || to - from == 5 && tokens.get(from + 3).isOp("::")
                        && tokens.get(from + 4).isWord("oid"));
            if (named) {
                out.add("cast:" + typeNamedInString(tokens.get(from).value()));
            } else {
                out.add(TYPEOF_ANY);
            }
        }
    }

    /** The last part of the type a string names ({@code 'public.wc[]'}), as the catalog spells an unquoted name. */
    private static String typeNamedInString(String type) {
        String name = type.replace("[]", "").replace("\"", "").trim();
        int dot = name.lastIndexOf('.');
        return (dot < 0 ? name : name.substring(dot + 1)).toLowerCase(java.util.Locale.ROOT);
    }

    /**
     * Whether {@code tokens[from, to)} is an expression whose type a cast names: {@code x::t} (x a literal, a
     * parameter, a name, a call or a bracketed group, so that the cast applies to all of it), {@code CAST(x AS t)},
     * a typed literal {@code t 'x'}, or one of those in parentheses.
     */
    private static boolean typedByCast(List<Token> tokens, int from, int to) {
        if (to - from < 2) {
            return false;
        }
        Token first = tokens.get(from);
        if ((first.isOp("(") || first.isWord("cast") && tokens.get(from + 1).isOp("("))
                && closing(tokens, first.isOp("(") ? from : from + 1) == to - 1) {
            return first.isWord("cast") || typedByCast(tokens, from + 1, to - 1);
        }
        if (to - from == 2 && first.isIdentifier() && tokens.get(from + 1).type() == Type.STRING) {
            return true;
        }
        int i = from;
        if (first.isOp("(")) {
            i = closing(tokens, from) + 1;
        } else if (first.isIdentifier()) {
            i++;
            while (i + 1 < to && tokens.get(i).isOp(".") && tokens.get(i + 1).isIdentifier()) {
                i += 2;
            }
            if (i < to && (tokens.get(i).isOp("(") || tokens.get(i).isOp("["))) {
                i = closing(tokens, i) + 1; // a call, ROW(...), ARRAY[...]
            }
        } else if (first.type() == Type.STRING || first.type() == Type.NUMBER || first.type() == Type.PARAM) {
            i++;
        }
        if (i == from || i <= 0 || i >= to || !tokens.get(i).isOp("::")) {
            return false;
        }
        while (i + 1 < to && tokens.get(i).isOp("::") && tokens.get(i + 1).isIdentifier()) {
            i += 2;
            while (i + 1 < to && tokens.get(i).isOp(".") && tokens.get(i + 1).isIdentifier()) {
                i += 2;
            }
        }
        return i == to;
    }

    /** The index of the bracket that closes the {@code (} or {@code [} at {@code open}; -1 when there is none. */
    private static int closing(List<Token> tokens, int open) {
        int depth = 0;
        for (int i = open; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (t.isOp("(") || t.isOp("[")) {
                depth++;
            } else if ((t.isOp(")") || t.isOp("]")) && --depth == 0) {
                return i;
            }
        }
        return -1;
    }

    /**
     * JSON_OBJECT(... RETURNING t), JSON_ARRAY, JSON_ARRAYAGG, JSON_OBJECTAGG, JSON_VALUE, JSON_QUERY,
     * JSON_SERIALIZE: the result is converted to t, whose domain checks and casts run ({@code cast:t}); an attacker's
     * pass ran a domain check that wrote through {@code JSON_OBJECT('a': 1 RETURNING d)}, which names no cast. One
     * pass, a stack of whether each open parenthesis is a JSON function's (a DML statement's RETURNING is not).
     */
    private static void typesReturnedByJson(List<Token> tokens, Set<String> out) {
        java.util.ArrayDeque<Boolean> open = null;
        for (int k = 0; k < tokens.size(); k++) {
            Token t = tokens.get(k);
            if (t.isOp("(")) {
                boolean json = k > 0 && tokens.get(k - 1).type() == Type.WORD
                        && tokens.get(k - 1).value().startsWith("json");
                if (open == null) {
                    if (!json) {
                        continue; // nothing to find outside a JSON function's parentheses
                    }
                    open = new java.util.ArrayDeque<>();
                }
                open.push(json);
            } else if (open != null && t.isOp(")") && !open.isEmpty()) {
                open.pop();
            } else if (open != null && !open.isEmpty() && open.peek() && t.isWord("returning")
                    && k + 1 < tokens.size() && tokens.get(k + 1).isIdentifier()) {
                List<String> parts = new Cursor(tokens, k + 1).nameParts();
                out.add("cast:" + parts.get(parts.size() - 1));
            }
        }
    }

    /** Functions that run the input function and domain checks of a type named by a string argument. */
    private static final Set<String> TYPE_BY_NAME = Set.of("pg_input_is_valid", "pg_input_error_info");

    /**
     * pg_input_is_valid('2', 'type'), pg_input_error_info(...): the input function and domain checks of the type
     * their second argument names run. A string there names it ({@code cast:type}); anything else (a parameter, a
     * concatenation, a subquery) names a type only at run time, so every domain's checks may run
     * ({@code typeof:*}): an attacker's pass wrote {@code 'canary.' || 'd2'} and ran a domain check that wrote, with
     * no approval, and the old reading also missed a first argument of more than one token.
     */
    private static void typesNamedByArgument(List<Token> tokens, Set<String> out) {
        for (int k = 0; k + 1 < tokens.size(); k++) {
            if (!tokens.get(k).isIdentifier() || !TYPE_BY_NAME.contains(tokens.get(k).value())
                    || !tokens.get(k + 1).isOp("(")) {
                continue;
            }
            int close = ParenMatches.closingParen(tokens, k + 1);
            int end = close < 0 ? tokens.size() : close;
            int comma = -1;
            for (int i = k + 2; i < end; i++) {
                Token t = tokens.get(i);
                if (t.isOp("(") || t.isOp("[")) {
                    int inner = t.isOp("(") ? ParenMatches.closingParen(tokens, i) : -1;
                    if (inner < 0 || inner >= end) {
                        // A bracket, or what the count cannot place: the argument is no plain string.
                        comma = -2;
                        break;
                    }
                    i = inner;
                } else if (t.isOp(",")) {
                    comma = i;
                    break;
                }
            }
            if (comma == -1) {
                continue; // one argument: no such call runs
            }
            if (comma >= 0 && end == comma + 2 && tokens.get(comma + 1).type() == Type.STRING) {
                out.add("cast:" + typeNamedInString(tokens.get(comma + 1).value()));
            } else {
                out.add(TYPEOF_ANY);
            }
        }
    }

    /** First words of the commands that fire event triggers (their command tags' first words). */
    private static final Set<String> FIRES_EVENT_TRIGGERS = Set.of("create", "alter", "drop", "comment", "grant",
            "revoke", "security", "refresh", "import", "reindex");

    /**
     * Whether the name at {@code k} is followed by what a type's modifiers can be: a parenthesised list of
     * constants and simple names ({@code (5)}, {@code (10, 2)}, {@code ('x')}, {@code (-1)}).
     */
    private static boolean typeModifiers(List<Token> tokens, int k) {
        if (k + 2 >= tokens.size() || !tokens.get(k + 1).isOp("(")) {
            return false;
        }
        for (int i = k + 2; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            boolean item = t.type() == Type.NUMBER || t.type() == Type.STRING || t.isIdentifier() || t.isOp("-")
                    || t.isOp("+");
            if (!item) {
                return t.isOp(")") && i > k + 2;
            }
            if (i + 1 < tokens.size() && tokens.get(i + 1).isOp(",")) {
                i++;
            }
        }
        return false;
    }

    /** Words after ADD that start a table constraint, not a column. */
    private static final Set<String> CONSTRAINT_WORDS = Set.of("constraint", "primary", "unique", "foreign", "check",
            "exclude", "column");

    /**
     * Where a type begins whose values the rows already there are stored as, or checked as, by the words at
     * {@code k} (0 when none): {@code ALTER [COLUMN] c [SET DATA] TYPE t} and {@code ADD [COLUMN] [IF NOT EXISTS]
     * c t} of ALTER TABLE (a domain's checks, a cast into t, run over every row), and the domain of {@code ALTER
     * DOMAIN d} (VALIDATE CONSTRAINT and ADD CONSTRAINT check every column of it).
     */
    private static int storedAs(List<Token> tokens, int k) {
        Token t = tokens.get(k);
        int at = 0;
        if (t.isWord("type") && k >= 2 && (tokens.get(k - 1).isWord("data") || tokens.get(k - 2).isWord("column")
                || tokens.get(k - 2).isWord("alter"))) {
            at = k + 1;
        } else if (t.isWord("domain") && k >= 1 && tokens.get(k - 1).isWord("alter")) {
            at = k + 1;
        } else if (t.isWord("add") && k >= 1) {
            int j = k + 1;
            if (j < tokens.size() && tokens.get(j).isWord("column")) {
                j++;
            }
            if (j + 2 < tokens.size() && tokens.get(j).isWord("if") && tokens.get(j + 1).isWord("not")
                    && tokens.get(j + 2).isWord("exists")) {
                j += 3;
            }
            boolean column = j < tokens.size() && tokens.get(j).isIdentifier()
                    && !(tokens.get(j).type() == Type.WORD && CONSTRAINT_WORDS.contains(tokens.get(j).value()));
            at = column ? j + 1 : 0;
        }
        return at > 0 && at < tokens.size() && tokens.get(at).isIdentifier() ? at : 0;
    }

    /**
     * Whether the UPDATE or DELETE at {@code statement} names another relation before its WHERE at {@code where}: an
     * UPDATE's FROM or a DELETE's USING at its depth (a DELETE's own FROM names its target).
     */
    private static boolean joins(List<Token> tokens, int statement, int where) {
        int depth = 0;
        for (int k = statement + 1; k < where; k++) {
            Token t = tokens.get(k);
            depth += t.isOp("(") ? 1 : t.isOp(")") ? -1 : 0;
            if (depth == 0 && (t.isWord("using") || t.isWord("from") && !tokens.get(k - 1).isWord("delete"))) {
                return true;
            }
        }
        return false;
    }

    /**
     * The names the target of the UPDATE or DELETE at {@code statement} is known by in its WHERE: the relation's
     * name without its schema, and its alias.
     */
    private static Set<String> targetNames(List<Token> tokens, int statement) {
        int k = statement + 1;
        if (tokens.get(statement).isWord("delete") && k < tokens.size() && tokens.get(k).isWord("from")) {
            k++;
        }
        if (k < tokens.size() && tokens.get(k).isWord("only")) {
            k++;
        }
        Set<String> names = new java.util.HashSet<>();
        while (k < tokens.size() && tokens.get(k).isIdentifier()) {
            if (k + 1 < tokens.size() && tokens.get(k + 1).isOp(".")) {
                k += 2;
                continue;
            }
            names.add(tokens.get(k).value());
            k++;
            break;
        }
        if (k < tokens.size() && tokens.get(k).isOp("*")) {
            k++;
        }
        if (k < tokens.size() && tokens.get(k).isWord("as")) {
            k++;
        }
        if (k < tokens.size() && tokens.get(k).isIdentifier() && !tokens.get(k).isWord("set")
                && !tokens.get(k).isWord("where") && !tokens.get(k).isWord("using")) {
            names.add(tokens.get(k).value());
        }
        return names;
    }

    /**
     * {@code c} without the qualifiers of its names that name the target ({@code t.id} and {@code s.t.id} become
     * {@code id} where the target is {@code t}), for a condition where no other relation is in scope. A function's
     * schema ({@code s.f()}), a field of a parenthesised value ({@code (x).f}) and any other qualifier stay.
     */
    private static List<Token> withoutQualifiers(List<Token> c, Set<String> target) {
        List<Token> out = null;
        for (int k = 0; k < c.size(); k++) {
            // (t).id and (t.*).id: a field of the target's whole row is its column (a149 F1)
            int field = -1;
            if (k + 4 < c.size() && c.get(k).isOp("(") && c.get(k + 1).isIdentifier()
                    && target.contains(c.get(k + 1).value()) && c.get(k + 2).isOp(")") && c.get(k + 3).isOp(".")
                    && c.get(k + 4).isIdentifier()) {
                field = k + 4;
            } else if (k + 6 < c.size() && c.get(k).isOp("(") && c.get(k + 1).isIdentifier()
                    && target.contains(c.get(k + 1).value()) && c.get(k + 2).isOp(".") && c.get(k + 3).isOp("*")
                    && c.get(k + 4).isOp(")") && c.get(k + 5).isOp(".") && c.get(k + 6).isIdentifier()) {
                field = k + 6;
            }
            if (field > 0 && (k == 0 || !c.get(k - 1).isIdentifier())) {
                if (out == null) {
                    out = new java.util.ArrayList<>(c.subList(0, k));
                }
                out.add(c.get(field));
                k = field;
                continue;
            }
            boolean qualifier = k + 2 < c.size() && c.get(k).isIdentifier() && c.get(k + 1).isOp(".")
                    && c.get(k + 2).isIdentifier() && (k == 0 || !c.get(k - 1).isOp("."));
            if (qualifier) {
                int last = k;
                while (last + 2 < c.size() && c.get(last).isIdentifier() && c.get(last + 1).isOp(".")
                        && c.get(last + 2).isIdentifier()) {
                    last += 2;
                }
                if ((last + 1 >= c.size() || !c.get(last + 1).isOp("(")) // s.now() is a function of schema s
                        && target.contains(c.get(last - 2).value())) {
                    if (out == null) {
                        out = new java.util.ArrayList<>(c.subList(0, k));
                    }
                    k = last;
                }
            }
            if (out != null) {
                out.add(c.get(k));
            }
        }
        return out == null ? c : out;
    }

    /**
     * {@code tokens} with each of {@code locals} that is not a field or a function's name (not after a dot, not
     * before a parenthesis), with the fields after it ({@code r.k}), as one parameter token.
     */
    private static List<Token> withLocalsAsParameters(List<Token> tokens, Set<String> locals) {
        List<Token> out = null;
        for (int k = 0; k < tokens.size(); k++) {
            Token t = tokens.get(k);
            boolean local = t.isIdentifier() && locals.contains(t.value()) && (k == 0 || !tokens.get(k - 1).isOp("."))
                    && !(k + 1 < tokens.size() && tokens.get(k + 1).isOp("("));
            if (!local) {
                if (out != null) {
                    out.add(t);
                }
                continue;
            }
            if (out == null) {
                out = new java.util.ArrayList<>(tokens.subList(0, k));
            }
            int last = k;
            while (last + 2 < tokens.size() && tokens.get(last + 1).isOp(".") && tokens.get(last + 2).isIdentifier()) {
                last += 2;
            }
            out.add(new Token(Type.PARAM, t.start(), tokens.get(last).end(), "$0"));
            k = last;
        }
        return out == null ? tokens : out;
    }

    /** Words a condition may hold and still name nothing that differs from row to row. */
    private static final Set<String> CONSTANT_WORDS = Set.of("true", "false", "not", "and", "or", "null", "is",
            "unknown", "select", "exists", "in", "between", "symmetric", "asymmetric", "case", "when", "then", "else",
            "end", "like", "ilike", "similar", "to", "escape", "any", "all", "some", "array", "current_date",
            "current_time", "current_timestamp", "localtime", "localtimestamp", "current_user", "session_user",
            "current_role", "user", "current_catalog", "current_schema", "distinct", "from", "cast", "as",
            // a149 F1: (VALUES (true)), EXISTS (SELECT WHERE false); both reserved, so never a column's name unquoted
            "values", "where");

    /**
     * Words of {@link #CONSTANT_WORDS} PostgreSQL also takes for a column's name, unquoted (unreserved or column-name
     * keywords): {@code DELETE FROM t WHERE exists} and {@code WHERE escape = 'x'} name columns, and were refused as
     * without WHERE. Each is the keyword only where {@link #keywordAt} finds it so.
     */
    private static final Set<String> COLUMN_OR_KEYWORD = Set.of("escape", "unknown", "between", "exists");

    /** Words after which no operand has ended: an operator's or a clause's (what comes next starts an operand). */
    private static final Set<String> OPERAND_STARTS = Set.of("and", "or", "not", "is", "in", "like", "ilike",
            "similar", "to", "between", "symmetric", "asymmetric", "escape", "case", "when", "then", "else",
            "select", "exists", "any", "all", "some", "array", "distinct", "from", "cast", "as", "where", "on");

    /**
     * Whether the word at {@code k} of {@code c}, one of {@link #COLUMN_OR_KEYWORD}, is there the keyword: {@code
     * EXISTS (}, {@code IS [NOT] UNKNOWN}, and {@code BETWEEN} or {@code ESCAPE} right after an operand (after
     * {@code NOT} for the first). Anywhere else it is a column's name.
     */
    private static boolean keywordAt(List<Token> c, int k) {
        switch (c.get(k).value()) {
            case "exists":
                return k + 1 < c.size() && c.get(k + 1).isOp("(");
            case "unknown":
                return k > 0 && c.get(k - 1).isWord("is")
                        || k > 1 && c.get(k - 1).isWord("not") && c.get(k - 2).isWord("is");
            default: // between, escape
                int before = k > 0 && c.get(k - 1).isWord("not") && c.get(k).isWord("between") ? k - 2 : k - 1;
                if (before < 0) {
                    return false;
                }
                Token t = c.get(before);
                boolean afterOperand = t.type() == Type.NUMBER || t.type() == Type.STRING
                        || t.type() == Type.QUOTED_IDENT || t.isOp(")") || t.isOp("]")
                        || t.type() == Type.WORD && !OPERAND_STARTS.contains(t.value())
                        || t.type() == Type.WORD && COLUMN_OR_KEYWORD.contains(t.value()) && !keywordAt(c, before);
                if (!afterOperand || c.get(k).isWord("between")) {
                    return afterOperand;
                }
                for (int j = before, depth = 0; j >= 0; j--) { // ESCAPE ends a LIKE, ILIKE or SIMILAR TO pattern
                    depth += c.get(j).isOp(")") ? 1 : c.get(j).isOp("(") ? -1 : 0;
                    if (depth == 0 && (c.get(j).isWord("like") || c.get(j).isWord("ilike")
                            || c.get(j).isWord("similar"))) {
                        return true;
                    }
                    if (depth < 0) {
                        return false;
                    }
                }
                return false;
        }
    }

    /**
     * Where the opening parenthesis of the call whose name starts at {@code k} is ({@code f(}, {@code s.f(}, {@code
     * "F"(}), or -1: not a call, or one of {@link #PER_ROW_CALLS}. A word of {@link #CONSTANT_WORDS} before a
     * parenthesis (IN, EXISTS, ANY, ARRAY, ROW, VALUES) is read as a word, and a name part after a dot is not a start.
     */
    private static int callParenthesis(List<Token> c, int k) {
        if (!c.get(k).isIdentifier() || k > 0 && c.get(k - 1).isOp(".")
                || c.get(k).type() == Type.WORD && CONSTANT_WORDS.contains(c.get(k).value())) {
            return -1;
        }
        int last = k;
        while (last + 2 < c.size() && c.get(last + 1).isOp(".") && c.get(last + 2).isIdentifier()) {
            last += 2;
        }
        if (last + 1 >= c.size() || !c.get(last + 1).isOp("(") || PER_ROW_CALLS.contains(c.get(last).value())) {
            return -1;
        }
        return last + 1;
    }

    /** Built-ins whose value changes from row to row by itself: a WHERE of them alone chooses rows. */
    private static final Set<String> PER_ROW_CALLS = Set.of("random", "random_normal", "clock_timestamp",
            "timeofday", "nextval", "gen_random_uuid", "uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v4",
            "setseed");

    /** Words that continue a type's name: double precision, character varying, timestamp with time zone. */
    private static final Set<String> TYPE_NAME_WORDS = Set.of("precision", "varying", "with", "without", "time",
            "zone");

    /**
     * Where the type (or collation) name that starts at {@code k} ends: its words and dotted parts, a modifier in
     * parentheses, array brackets.
     */
    private static int typeNameEnd(List<Token> c, int k) {
        int j = k;
        if (j < c.size() && c.get(j).isIdentifier()) {
            j++;
        }
        while (j < c.size()) {
            Token t = c.get(j);
            if (t.isOp(".") && j + 1 < c.size() && c.get(j + 1).isIdentifier()) {
                j += 2;
            } else if (t.type() == Type.WORD && TYPE_NAME_WORDS.contains(t.value())) {
                j++;
            } else if (t.isOp("(") || t.isOp("[")) {
                int depth = 0;
                int close = j;
                for (; close < c.size(); close++) {
                    depth += c.get(close).isOp("(") || c.get(close).isOp("[") ? 1
                            : c.get(close).isOp(")") || c.get(close).isOp("]") ? -1 : 0;
                    if (depth == 0) {
                        break;
                    }
                }
                j = close + 1;
            } else {
                break;
            }
        }
        return j;
    }

    /** Words that end a WHERE condition at its depth. */
    private static final Set<String> WHERE_ENDS = Set.of("returning", "group", "order", "limit", "offset", "window",
            "union", "intersect", "except", "for", "fetch", "having");

    /**
     * Whether an UPDATE or DELETE of the text (at any depth: in a WITH query too) has a WHERE whose condition names
     * nothing that differs from row to row (no column, no function, no relation: {@code 1 = 1}, {@code 'a' = 'a'},
     * {@code NOT false}, {@code (SELECT true)}, {@code CURRENT_DATE = CURRENT_DATE}), so that it changes every row or
     * none: as without a WHERE (attacker pass a142, F1; a query builder's {@code WHERE 1=1} with no condition
     * appended is the accident the baseline rules are for). Exactly {@code WHERE true} is not: it is how a statement
     * says it means every row, as the rules' hint tells.
     */
    static boolean constantWhere(List<Token> tokens) {
        return constantWhere(tokens, Set.of());
    }

    /**
     * {@link #constantWhere(List)} for a statement of a routine body, a DO block or a rule's action, where {@code
     * locals} (folded names) hold one value for the whole statement: the body's variables and parameters, its loop
     * variables and labels, a trigger's or rule's NEW and OLD. Each is a parameter there ({@code WHERE k = 1} with
     * {@code k} a variable is {@code WHERE $1 = 1}), and so is a field of one ({@code r.k}, {@code new.x}). An
     * attacker's pass (a149 F3) emptied tables so, each WHERE read as naming a column.
     */
    static boolean constantWhere(List<Token> tokens, Set<String> locals) {
        if (!locals.isEmpty()) {
            tokens = withLocalsAsParameters(tokens, locals);
        }
        for (int w = 0; w < tokens.size(); w++) {
            int statement = tokens.get(w).isWord("where") ? updateOrDeleteOf(tokens, w) : -1;
            if (statement < 0) {
                continue;
            }
            int depth = 0;
            int end = w + 1;
            for (; end < tokens.size(); end++) {
                Token t = tokens.get(end);
                if (t.isOp("(")) {
                    depth++;
                } else if (t.isOp(")")) {
                    if (--depth < 0) {
                        break;
                    }
                } else if (t.isOp(";") && depth == 0) {
                    break;
                } else if (depth == 0 && t.type() == Type.WORD && WHERE_ENDS.contains(t.value())
                        && !tokens.get(end - 1).isOp(".")) {
                    break; // (not a field's name: (x).limit OR true ended the condition before, a151 F7)
                }
            }
            boolean explicitTrue = end == w + 2 && tokens.get(w + 1).isWord("true");
            List<Token> condition = tokens.subList(w + 1, end);
            boolean joins = joins(tokens, statement, w);
            if (!explicitTrue && joins && !namesTargetOrUnqualified(condition, targetNames(tokens, statement))) {
                // DELETE FROM t USING u WHERE u.id = 1: the condition chooses rows of u only, and every row of t
                // joins them (a151 F6)
                return true;
            }
            if (!explicitTrue && !joins) {
                // t.id = id compares the target's id with itself (no other relation is in scope but a rule's NEW and
                // OLD, a routine's parameters and variables: those qualifiers stay)
                condition = withoutQualifiers(condition, targetNames(tokens, statement));
            }
            if (!explicitTrue && choosesEveryRowOrNone(condition)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether a condition holds for every row or for none, by its form: it names nothing that differs from row to row
     * ({@link #CONSTANT_WORDS} only), or compares an expression with itself ({@code t.id = t.id}, true for every row
     * where it is not null), inside any parentheses; or an operand of its top-level OR is such ({@code id = 1 OR
     * 1 = 1}), or every operand of its top-level AND is. A condition of literals only counts whatever their values
     * ({@code 1 = 0 OR id = 5} too: facts are cached by a statement's shape, which keeps no literal); a comparison
     * whose operands hold a literal is no self-comparison ({@code j->>'a' = j->>'b'} is a WHERE).
     */
    static boolean choosesEveryRowOrNone(List<Token> condition) {
        List<Token> c = withoutOuterParentheses(condition);
        if (c.isEmpty()) {
            return false;
        }
        int n = c.size();
        // x IS TRUE and x IS NOT FALSE hold wherever x does (IS binds after the comparisons, before NOT, AND and OR):
        // (id = id) IS TRUE is id = id (a145 F4)
        if (n > 2 && c.get(n - 2).isWord("is") && c.get(n - 1).isWord("true")) {
            return choosesEveryRowOrNone(c.subList(0, n - 2));
        }
        if (n > 3 && c.get(n - 3).isWord("is") && c.get(n - 2).isWord("not") && c.get(n - 1).isWord("false")) {
            return choosesEveryRowOrNone(c.subList(0, n - 3));
        }
        if (constantOrSelfComparison(c)) {
            return true;
        }
        for (List<Token> operand : splitAtTopLevel(c, "or")) {
            List<Token> o = withoutOuterParentheses(operand);
            // FALSE OR ...: the query builder's start of an OR list, which adds no row (1 = 0 reads as 1 = 1 does:
            // literals are not kept in the shape these facts are cached by, so it is refused).
            if (!(o.size() == 1 && o.get(0).isWord("false")) && constantOrSelfComparison(o)) {
                return true;
            }
        }
        List<List<Token>> all = splitAtTopLevel(c, "and");
        if (all.size() < 2) {
            return false;
        }
        for (List<Token> operand : all) {
            if (!constantOrSelfComparison(withoutOuterParentheses(operand))) {
                return false;
            }
        }
        return true;
    }

    private static boolean constantOrSelfComparison(List<Token> c) {
        if (c.isEmpty()) {
            return false;
        }
        boolean constant = true;
        for (int k = 0; k < c.size(); k++) {
            Token t = c.get(k);
            // A type's name, however spelled: 1::int = 1, 1::double precision, 1::pg_catalog.int4, CAST(1 AS
            // varchar(10)); a collation's (COLLATE "C"); OPERATOR(pg_catalog.=) (a151 F3)
            if (k > 0 && (c.get(k - 1).isOp("::") || c.get(k - 1).isWord("as"))) {
                k = typeNameEnd(c, k) - 1;
                continue;
            }
            if (t.isWord("collate") && k + 1 < c.size()) {
                k = typeNameEnd(c, k + 1) - 1;
                continue;
            }
            if (t.isWord("operator") && k + 1 < c.size() && c.get(k + 1).isOp("(")) {
                int close = closingParen(c, k + 1);
                k = close < 0 ? c.size() : close;
                continue;
            }
            // A typed literal (bool 't', interval '1 day'); a field of a parenthesised value, (x).f, which is as
            // constant as x is (a151 F2)
            if (t.type() == Type.WORD && k + 1 < c.size() && c.get(k + 1).type() == Type.STRING
                    || k > 1 && c.get(k - 1).isOp(".") && c.get(k - 2).isOp(")")) {
                continue;
            }
            // A call, schema-qualified too: one value for the statement when its arguments are (they are read as the
            // condition's tokens), unless its value changes from row to row by itself (random())
            int open = callParenthesis(c, k);
            if (open > 0) {
                k = open - 1;
                continue;
            }
            if (t.type() == Type.QUOTED_IDENT
                    || t.type() == Type.WORD && !CONSTANT_WORDS.contains(t.value())
                    || t.type() == Type.WORD && COLUMN_OR_KEYWORD.contains(t.value()) && !keywordAt(c, k)) {
                constant = false;
                break;
            }
        }
        if (constant) {
            return true;
        }
        // A comparison of an expression with itself: =, >=, <=, IS NOT DISTINCT FROM (the last for every row), and
        // x IN (x).
        int eq = -1;
        int width = 0;
        int depth = 0;
        for (int k = 0; k < c.size(); k++) {
            Token t = c.get(k);
            depth += t.isOp("(") ? 1 : t.isOp(")") ? -1 : 0;
            int w = depth != 0 ? 0 : t.isOp("=") || t.isOp(">=") || t.isOp("<=") || t.isWord("in") ? 1
                    : k + 3 < c.size() && t.isWord("is") && c.get(k + 1).isWord("not")
                            && c.get(k + 2).isWord("distinct") && c.get(k + 3).isWord("from") ? 4 : 0;
            if (w > 0) {
                eq = eq < 0 ? k : -2;
                width = w;
                k += w - 1;
            }
        }
        if (eq <= 0) {
            return false;
        }
        List<Token> left = operand(c.subList(0, eq));
        List<Token> right = c.subList(eq + width, c.size());
        if (!c.get(eq).isWord("in")) {
            return sameOperand(left, operand(right));
        }
        // x IN (list): one parenthesised list, each of whose members is x (x IN (x, x) too, a145 F4)
        if (right.size() < 3 || !right.get(0).isOp("(") || !right.get(right.size() - 1).isOp(")")
                || withoutOuterParentheses(right).size() == right.size() || right.get(1).isWord("select")) {
            return false; // no list, or a subquery
        }
        right = right.subList(1, right.size() - 1);
        int from = 0;
        for (int k = 0, d = 0; k <= right.size(); k++) {
            if (k == right.size() || d == 0 && right.get(k).isOp(",")) {
                if (!sameOperand(left, operand(right.subList(from, k)))) {
                    return false;
                }
                from = k + 1;
            } else {
                d += right.get(k).isOp("(") ? 1 : right.get(k).isOp(")") ? -1 : 0;
            }
        }
        return true;
    }

    /** Whether two operands, as {@link #operand} gives them, are the same expression with no literal in it. */
    private static boolean sameOperand(List<Token> left, List<Token> right) {
        if (left.isEmpty() || left.size() != right.size()) {
            return false;
        }
        for (int k = 0; k < left.size(); k++) {
            Token l = left.get(k);
            Token r = right.get(k);
            if (l.type() == Type.STRING || l.type() == Type.NUMBER || r.type() == Type.STRING
                    || r.type() == Type.NUMBER) {
                // Literals are not kept in the shape these facts are cached by, so j->>'a' = j->>'b' cannot be told
                // from j->>'a' = j->>'a': an operand with a literal is taken for another (a145 F3: the first, and
                // a[1] = a[2], were refused as every row).
                return false;
            }
            boolean same = l.isIdentifier() && r.isIdentifier() || l.type() == r.type(); // "id" is id
            if (!same || !l.value().equals(r.value())) {
                return false;
            }
        }
        return true;
    }

    /**
     * An operand of a comparison as compared: without the parentheses around all of it and without the casts it
     * ends with ({@code (id)}, {@code id::int} and {@code (id)::int} are {@code id}; a cast of a value compares as
     * the value does, for the rows where it is not null).
     */
    private static List<Token> operand(List<Token> o) {
        while (true) {
            o = withoutOuterParentheses(o);
            int n = o.size();
            if (n >= 3 && o.get(n - 2).isOp("::") && o.get(n - 1).isIdentifier()) {
                o = o.subList(0, n - 2);
            } else if (n >= 3 && o.get(n - 2).isWord("collate") && o.get(n - 1).isIdentifier()) {
                o = o.subList(0, n - 2); // v COLLATE "C" (a149 F1)
            } else if (n >= 2 && o.get(0).isOp("+")) {
                o = o.subList(1, n); // +id, the identity (a149 F1)
            } else if (n >= 6 && o.get(0).isWord("cast") && o.get(1).isOp("(") && o.get(n - 1).isOp(")")
                    && closingParen(o, 1) == n - 1) {
                // CAST(id AS int) is id::int (a149 F1): the operand before the AS at the parenthesis's own depth
                int as = -1;
                for (int k = 2, depth = 0; k < n - 1; k++) {
                    depth += o.get(k).isOp("(") ? 1 : o.get(k).isOp(")") ? -1 : 0;
                    if (depth == 0 && o.get(k).isWord("as")) {
                        as = k;
                    }
                }
                if (as < 3) {
                    return o;
                }
                o = o.subList(2, as);
            } else {
                return o;
            }
        }
    }

    /** {@code c} without the parentheses that enclose all of it, however many. */
    private static List<Token> withoutOuterParentheses(List<Token> c) {
        while (c.size() >= 2 && c.get(0).isOp("(") && c.get(c.size() - 1).isOp(")")) {
            int depth = 0;
            boolean whole = true;
            for (int k = 0; k < c.size() - 1; k++) {
                depth += c.get(k).isOp("(") ? 1 : c.get(k).isOp(")") ? -1 : 0;
                if (depth == 0) {
                    whole = false; // (a) = (b): the first parenthesis closes before the end
                    break;
                }
            }
            if (!whole) {
                break;
            }
            c = c.subList(1, c.size() - 1);
        }
        return c;
    }

    /** The operands of {@code c} between the {@code word}s at its top level (one, the whole, when there is none). */
    private static List<List<Token>> splitAtTopLevel(List<Token> c, String word) {
        List<List<Token>> out = new java.util.ArrayList<>();
        int depth = 0;
        int from = 0;
        boolean between = false; // BETWEEN a AND b: that AND is the BETWEEN's
        for (int k = 0; k < c.size(); k++) {
            Token t = c.get(k);
            depth += t.isOp("(") ? 1 : t.isOp(")") ? -1 : 0;
            if (depth != 0) {
                continue;
            }
            if (t.isWord("between") && keywordAt(c, k)) {
                between = true;
            } else if (t.isWord(word)) {
                if (word.equals("and") && between) {
                    between = false;
                    continue;
                }
                out.add(c.subList(from, k));
                from = k + 1;
            }
        }
        out.add(c.subList(from, c.size()));
        return out;
    }

    /**
     * Where the UPDATE or DELETE whose WHERE is at {@code where} starts (its statement word before it at its depth), or
     * -1 when the WHERE is another statement's.
     */
    private static int updateOrDeleteOf(List<Token> tokens, int where) {
        int depth = 0;
        for (int k = where - 1; k >= 0; k--) {
            Token t = tokens.get(k);
            if (t.isOp(")")) {
                depth++;
            } else if (t.isOp("(")) {
                if (--depth < 0) {
                    return -1;
                }
            } else if (depth == 0 && t.type() == Type.WORD && !namePart(tokens, k)) {
                // Not an alias or a field named like a statement's word: USING (SELECT 1) AS insert WHERE 1 = 1 had
                // its WHERE taken for an INSERT's (a151 F8). INSERT and MERGE start a statement only before INTO,
                // VALUES only before a parenthesis.
                Token next = k + 1 < tokens.size() ? tokens.get(k + 1) : null;
                switch (t.value()) {
                    case "update", "delete" -> {
                        return k == 0 || !tokens.get(k - 1).isWord("for") && !tokens.get(k - 1).isWord("on") ? k : -1;
                    }
                    case "select" -> {
                        return -1;
                    }
                    case "insert", "merge" -> {
                        if (next != null && next.isWord("into")) {
                            return -1;
                        }
                    }
                    case "values" -> {
                        if (next != null && next.isOp("(")) {
                            return -1;
                        }
                    }
                    default -> {
                    }
                }
            } else if (depth == 0 && t.isOp(";")) {
                return -1;
            }
        }
        return -1;
    }

    /**
     * Whether {@code c} names a column that may be the target's: qualified by one of {@code targetNames}, or
     * unqualified (not a keyword, a call's or a type's name).
     */
    private static boolean namesTargetOrUnqualified(List<Token> c, Set<String> targetNames) {
        for (int k = 0; k < c.size(); k++) {
            Token t = c.get(k);
            if (k > 0 && (c.get(k - 1).isOp("::") || c.get(k - 1).isWord("as") || c.get(k - 1).isWord("collate"))) {
                k = typeNameEnd(c, k) - 1;
                continue;
            }
            if (!t.isIdentifier() || k > 0 && c.get(k - 1).isOp(".")) {
                continue;
            }
            if (k + 1 < c.size() && c.get(k + 1).isOp(".")) {
                if (targetNames.contains(t.value())) {
                    return true;
                }
                continue; // another relation's column, or a schema's function
            }
            boolean keyword = t.type() == Type.WORD && CONSTANT_WORDS.contains(t.value())
                    && !(COLUMN_OR_KEYWORD.contains(t.value()) && !keywordAt(c, k));
            boolean typedLiteral = t.type() == Type.WORD && k + 1 < c.size() && c.get(k + 1).type() == Type.STRING;
            boolean call = k + 1 < c.size() && c.get(k + 1).isOp("(");
            if (!keyword && !typedLiteral && !call) {
                return true;
            }
        }
        return false;
    }

    /** Whether the word at {@code k} is a name's part or an alias: after a dot or AS, or before a dot. */
    private static boolean namePart(List<Token> tokens, int k) {
        return k > 0 && (tokens.get(k - 1).isOp(".") || tokens.get(k - 1).isWord("as"))
                || k + 1 < tokens.size() && tokens.get(k + 1).isOp(".");
    }

    /**
     * {@code WHEN NOT MATCHED BY SOURCE THEN DELETE|UPDATE} without its own AND condition acts on every target
     * row the ON condition does not choose: however narrow ON is, that is as good as no WHERE.
     */
    static boolean mergeActsOnUnmatchedTargetRows(List<Token> tokens) {
        for (int k = 0; k + 5 < tokens.size(); k++) {
            if (tokens.get(k).isWord("when") && tokens.get(k + 1).isWord("not") && tokens.get(k + 2).isWord("matched")
                    && tokens.get(k + 3).isWord("by") && tokens.get(k + 4).isWord("source")
                    && tokens.get(k + 5).isWord("then")) {
                return true;
            }
        }
        return false;
    }

    /**
     * {@code INSERT ... ON CONFLICT ... DO UPDATE}: an UPDATE of the conflicting rows, with a WHERE only when
     * the DO UPDATE has its own. Returns null when the statement has no DO UPDATE.
     */
    static Boolean upsertUpdateHasWhere(List<Token> tokens) {
        int update = firstAtTopLevel(tokens, 1, k -> tokens.get(k).isWord("update") && tokens.get(k - 1).isWord("do"));
        if (update < 0) {
            return null;
        }
        int where = firstAtTopLevel(tokens, update + 1, k -> clauseWord(tokens, k, "where")
                || clauseWord(tokens, k, "returning"));
        return where >= 0 && tokens.get(where).isWord("where");
    }

    /**
     * The first index from {@code from} whose token is outside any parentheses opened after {@code from} and
     * matches, or -1 (the scan stops where an enclosing parenthesis closes).
     */
    static int firstAtTopLevel(List<Token> tokens, int from, java.util.function.IntPredicate match) {
        int depth = 0;
        for (int k = from; k < tokens.size(); k++) {
            Token t = tokens.get(k);
            if (t.isOp("(")) {
                depth++;
            } else if (t.isOp(")")) {
                if (--depth < 0) {
                    return -1;
                }
            } else if (depth == 0 && match.test(k)) {
                return k;
            }
        }
        return -1;
    }

    /**
     * What a statement's {@code set_config('role', x, ...)} and {@code set_config('session_authorization', x, ...)}
     * calls do: they are SET ROLE and SET SESSION AUTHORIZATION.
     *
     * @param kinds SET_ROLE and/or SET_SESSION_AUTHORIZATION
     * @param target the role, when every such call names the same constant one; {@code ?} otherwise
     */
    record RoleBySetConfig(Set<StatementKind> kinds, String target) {
    }

    /**
     * The role changes of a statement's set_config calls and SET clauses of routines and role or database
     * defaults, or null when it makes none. Read from the statement's
     * own tokens (the setting and the role are string literals, which a statement's shape does not keep), and
     * from every call: one naming the session's own role does not vouch for the next.
     */
    static RoleBySetConfig roleBySetConfig(List<Token> tokens) {
        Set<StatementKind> kinds = EnumSet.noneOf(StatementKind.class);
        String role = null;
        for (int k = 0; k + 2 < tokens.size(); k++) {
            Token t = tokens.get(k);
            if (!t.isIdentifier() || !t.value().equals("set_config") || !tokens.get(k + 1).isOp("(")) {
                continue;
            }
            Token name = tokens.get(k + 2);
            // A constant name only when the literal is the whole argument: 'ro' || 'le' is role (a helper's pass
            // switched to the shared group role so, unseen).
            boolean whole = k + 3 < tokens.size() && tokens.get(k + 3).isOp(",");
            String setting = name.type() == Type.STRING && whole ? name.value().toLowerCase(Locale.ROOT).strip() : null;
            if (setting != null && !setting.equals("role") && !setting.equals("session_authorization")) {
                continue;
            }
            // A setting name that is not a constant could be role: count it as one, with an unknown target.
            kinds.add(setting != null && setting.equals("session_authorization")
                    ? StatementKind.SET_SESSION_AUTHORIZATION : StatementKind.SET_ROLE);
            Token target = k + 4 < tokens.size() && tokens.get(k + 3).isOp(",") ? tokens.get(k + 4) : null;
            boolean constant = target != null && target.type() == Type.STRING && k + 5 < tokens.size()
                    && tokens.get(k + 5).isOp(",");
            String named = constant ? target.value() : "?";
            role = role == null || role.equals(named) ? named : "?";
        }
        if (namesSetConfigAsSupport(tokens)) {
            // CREATE AGGREGATE ... (sfunc = set_config ...), CREATE OPERATOR ... (function = set_config): each call
            // of it is set_config with arguments its text does not show, which may be role.
            kinds.add(StatementKind.SET_ROLE);
            role = "?";
        }
        // CREATE/ALTER FUNCTION ... SET role = x runs the body as x; ALTER ROLE/DATABASE ... SET role = x starts
        // later sessions as x. Those SET clauses stand outside parentheses, before a routine's SQL-standard body
        // (BEGIN ATOMIC ..., RETURN ...), whose UPDATE ... SET role = may set a column named role; a rule's actions
        // set no setting either. (Stopping at the first word update instead let a parameter or type named update
        // hide the clause: CREATE FUNCTION f(update int) ... SET role = x.)
        boolean createOrAlter = !tokens.isEmpty() && (tokens.get(0).isWord("create") || tokens.get(0).isWord("alter"))
                && !isRule(tokens);
        int depth = 0;
        for (int k = 0; createOrAlter && k + 1 < tokens.size(); k++) {
            Token t = tokens.get(k);
            if (t.isOp("(")) {
                depth++;
            } else if (t.isOp(")")) {
                depth = Math.max(0, depth - 1);
            }
            if (depth > 0) {
                continue;
            }
            if ((t.isWord("begin") && tokens.get(k + 1).isWord("atomic")) || t.isWord("return")) {
                break;
            }
            String setting = t.isWord("set") ? settingName(tokens.get(k + 1)) : null;
            if (setting == null) {
                continue;
            }
            kinds.add(setting.equals("session_authorization")
                    ? StatementKind.SET_SESSION_AUTHORIZATION : StatementKind.SET_ROLE);
            boolean assigns = k + 3 < tokens.size() && (tokens.get(k + 2).isWord("to") || tokens.get(k + 2).isOp("="));
            Token target = assigns ? tokens.get(k + 3) : null;
            boolean single = target != null && (target.isIdentifier() || target.type() == Type.STRING)
                    && (k + 4 >= tokens.size() || !tokens.get(k + 4).isOp(","));
            String named = single ? target.value() : "?";
            role = role == null || role.equals(named) ? named : "?";
        }
        return kinds.isEmpty() ? null : new RoleBySetConfig(kinds, role);
    }

    /** The options of CREATE AGGREGATE and CREATE OPERATOR that name a function the object runs when used. */
    private static final Set<String> SUPPORT_OPTIONS = Set.of("sfunc", "finalfunc", "combinefunc", "serialfunc",
            "deserialfunc", "msfunc", "minvfunc", "mfinalfunc", "function", "procedure", "sfunc1", "finalfunc1");

    /**
     * Whether a CREATE names set_config as the function an aggregate or an operator runs ({@code sfunc =
     * [pg_catalog.]set_config}).
     */
    /** Whether the token at {@code k} is the value of a support-function option ({@code SFUNC = ...}). */
    private static boolean option(List<Token> tokens, int k) {
        return k >= 2 && tokens.get(k - 1).isOp("=") && tokens.get(k - 2).isIdentifier()
                && SUPPORT_OPTIONS.contains(tokens.get(k - 2).value());
    }

    private static boolean namesSetConfigAsSupport(List<Token> tokens) {
        if (tokens.isEmpty() || !tokens.get(0).isWord("create")) {
            return false;
        }
        for (int k = 2; k < tokens.size(); k++) {
            Token name = tokens.get(k);
            if (name.type() == Lexer.Type.STRING && option(tokens, k) && (name.value().equals("set_config")
                    || name.value().equals("pg_catalog.set_config"))) {
                return true; // SFUNC = 'set_config': PostgreSQL takes a string there too (defGetQualifiedName)
            }
            if (!name.isIdentifier() || !name.value().equals("set_config")) {
                continue;
            }
            int eq = k - 1;
            if (eq >= 2 && tokens.get(eq).isOp(".") && tokens.get(eq - 1).isIdentifier()) {
                eq -= 2;
            }
            Token option = eq >= 1 ? tokens.get(eq - 1) : null;
            if (tokens.get(eq).isOp("=") && option != null && option.isIdentifier()
                    && SUPPORT_OPTIONS.contains(option.value())) {
                return true;
            }
        }
        return false;
    }

    /** {@code CREATE [OR REPLACE] RULE}. */
    private static boolean isRule(List<Token> tokens) {
        int k = tokens.size() > 3 && tokens.get(1).isWord("or") && tokens.get(2).isWord("replace") ? 3 : 1;
        return k < tokens.size() && tokens.get(0).isWord("create") && tokens.get(k).isWord("rule");
    }

    /**
     * {@code role} or {@code session_authorization} when {@code t} names that setting (unquoted or quoted, in
     * any ASCII case: the server compares setting names so, {@code guc_name_compare}), else null.
     */
    static String settingName(Token t) {
        if (!t.isIdentifier()) {
            return null;
        }
        String name = Lexer.foldName(t.value());
        return name.equals("role") || name.equals("session_authorization") ? name : null;
    }

    /** The actions a MERGE may take ({@code THEN UPDATE}, {@code THEN DELETE}, {@code THEN INSERT}). */
    static void mergeActions(List<Token> tokens, FactsBuilder b) {
        for (int k = 1; k < tokens.size(); k++) {
            if (!tokens.get(k - 1).isWord("then")) {
                continue;
            }
            Token t = tokens.get(k);
            if (t.isWord("update")) {
                b.innerKinds.add(StatementKind.UPDATE);
            } else if (t.isWord("delete")) {
                b.innerKinds.add(StatementKind.DELETE);
            } else if (t.isWord("insert")) {
                b.innerKinds.add(StatementKind.INSERT);
            }
        }
    }

    /** Whether JSqlParser should analyse the statement (queries, DML, CREATE, ALTER other than SYSTEM). */
    static boolean usesParser(List<Token> tokens) {
        Cursor c = new Cursor(tokens, 0);
        String first = c.peekWord();
        if (first == null) {
            return startsLikeQuery(tokens);
        }
        return switch (first) {
            case "select", "values", "table", "with", "insert", "update", "delete", "merge", "create" -> true;
            case "alter" -> !c.peekWord(1, "system");
            default -> false;
        };
    }

    /** Kind and object type of a statement for which {@link #usesParser} holds. */
    static FactsBuilder header(List<Token> tokens) {
        Cursor c = new Cursor(tokens, 0);
        if (c.word("create")) {
            FactsBuilder b = new FactsBuilder(StatementKind.CREATE);
            b.objectType = objectType(c);
            return b;
        }
        if (c.word("alter")) {
            FactsBuilder b = new FactsBuilder(StatementKind.ALTER);
            b.objectType = objectType(c);
            return b;
        }
        return new FactsBuilder(dmlKind(tokens));
    }

    /**
     * Object types whose CREATE/ALTER runs no query and no function at the time it is executed, and cannot
     * hold another statement: their leading keywords say all a guardrail can know. Excluded are tables, indexes
     * and materialized views (expressions are evaluated over existing rows), domains (ALTER DOMAIN validates
     * data), and rules, triggers and policies (they change what later statements do).
     */
    private static final Set<String> DECLARATIVE_TYPES = Set.of("FUNCTION", "PROCEDURE", "ROUTINE", "AGGREGATE",
            "OPERATOR", "OPERATOR CLASS", "OPERATOR FAMILY", "TYPE", "CAST", "COLLATION", "CONVERSION",
            "TEXT SEARCH PARSER", "TEXT SEARCH DICTIONARY", "TEXT SEARCH TEMPLATE", "TEXT SEARCH CONFIGURATION",
            "LANGUAGE", "ACCESS METHOD", "FOREIGN DATA WRAPPER", "SERVER", "USER MAPPING", "EXTENSION", "SCHEMA",
            "ROLE", "DATABASE", "TABLESPACE", "EVENT TRIGGER", "PUBLICATION", "SUBSCRIPTION", "STATISTICS",
            "DEFAULT PRIVILEGES", "SEQUENCE", "VIEW", "LARGE OBJECT");

    /** Whether a CREATE/ALTER that JSqlParser could not parse is nonetheless fully described by the lexer. */
    static boolean isDeclarativeDdl(FactsBuilder b) {
        return (b.kind == StatementKind.CREATE || b.kind == StatementKind.ALTER)
                && DECLARATIVE_TYPES.contains(b.objectType)
                || (b.kind == StatementKind.ALTER && ALTER_RENAMES.contains(b.objectType));
    }

    /**
     * ALTER of these renames them, moves them or sets options; none evaluates an expression over rows (an
     * index's expressions are evaluated by CREATE INDEX and REINDEX, not by ALTER INDEX).
     */
    private static final Set<String> ALTER_RENAMES = Set.of("INDEX", "TRIGGER", "RULE", "EVENT TRIGGER",
            "FOREIGN TABLE");

    /**
     * {@code CREATE [TEMP|UNLOGGED] TABLE name (...)} without AS: a new, empty table, so its defaults and
     * checks are evaluated over no row (functions it names are resolved like any call). CREATE TABLE AS and
     * PARTITION OF stay with the parser.
     */
    static boolean isPlainCreateTable(List<Token> tokens, FactsBuilder b) {
        if (b.kind != StatementKind.CREATE || !b.objectType.equals("TABLE")) {
            return false;
        }
        return firstAtTopLevel(tokens, 0, k -> tokens.get(k).isWord("as") || tokens.get(k).isWord("partition")
                || tokens.get(k).isWord("of")) < 0;
    }

    /**
     * A CREATE RULE is understood when every action it holds is: the actions are analysed as statements of
     * their own, and judged where the rule is created.
     */
    static boolean ruleUnderstood(List<Token> tokens, List<StatementFacts> actions) {
        Cursor c = new Cursor(tokens, 0);
        if (!c.word("create")) {
            return false;
        }
        c.words("or", "replace");
        if (!c.word("rule")) {
            return false;
        }
        return actions.stream().noneMatch(StatementFacts::unparsed);
    }

    /** The kind of a query or DML statement, looking past a WITH clause at the statement it introduces. */
    static StatementKind dmlKind(List<Token> tokens) {
        int main = mainKeyword(tokens);
        String word = main < 0 ? "select" : tokens.get(main).value();
        return switch (word) {
            case "insert" -> StatementKind.INSERT;
            case "update" -> StatementKind.UPDATE;
            case "delete" -> StatementKind.DELETE;
            case "merge" -> StatementKind.MERGE;
            default -> StatementKind.SELECT;
        };
    }

    /**
     * Index of the first top-level statement keyword (after any WITH list), or -1. A WITH list is read as the grammar
     * reads it, one {@code name [(columns)] AS [[NOT] MATERIALIZED] (query) [SEARCH ...] [CYCLE ...]} after another:
     * a CTE may be named like a statement keyword ({@code WITH values AS (SELECT 1) DELETE FROM t}: an attacker's
     * pass had that DELETE read as a SELECT). A list not read so counts its first write keyword, if any.
     */
    private static int mainKeyword(List<Token> tokens) {
        if (!tokens.isEmpty() && tokens.get(0).isWord("with")) {
            int after = afterWithList(tokens);
            if (after >= 0) {
                return after < tokens.size() && tokens.get(after).type() == Type.WORD
                        && STATEMENT_STARTS.contains(tokens.get(after).value()) ? after : -1;
            }
            return topLevelStart(tokens, 1, true);
        }
        return topLevelStart(tokens, 0, false);
    }

    /**
     * The index of the first statement keyword outside brackets from {@code from}, or -1; with {@code writeFirst}, the
     * first write keyword (INSERT, UPDATE, DELETE, MERGE) when there is one.
     */
    private static int topLevelStart(List<Token> tokens, int from, boolean writeFirst) {
        int depth = 0;
        int first = -1;
        for (int i = from; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (t.isOp("(") || t.isOp("[")) {
                depth++;
            } else if (t.isOp(")") || t.isOp("]")) {
                depth = Math.max(0, depth - 1);
            } else if (depth == 0 && t.type() == Type.WORD && STATEMENT_STARTS.contains(t.value())) {
                if (!writeFirst || WRITE_STARTS.contains(t.value())) {
                    return i;
                }
                first = first < 0 ? i : first;
            }
        }
        return first;
    }

    private static final Set<String> WRITE_STARTS = Set.of("insert", "update", "delete", "merge");

    /** The index after a WITH list starting at 0, or -1 when it is not one the grammar would read. */
    private static int afterWithList(List<Token> tokens) {
        int i = 1;
        if (i < tokens.size() && tokens.get(i).isWord("recursive")) {
            i++;
        }
        while (true) {
            if (i >= tokens.size() || !tokens.get(i).isIdentifier()) {
                return -1;
            }
            i++;
            if (i < tokens.size() && tokens.get(i).isOp("(")) {
                i = afterParens(tokens, i);
            }
            if (i < 0 || i >= tokens.size() || !tokens.get(i).isWord("as")) {
                return -1;
            }
            i++;
            if (i < tokens.size() && tokens.get(i).isWord("not")) {
                i++;
            }
            if (i < tokens.size() && tokens.get(i).isWord("materialized")) {
                i++;
            }
            if (i >= tokens.size() || !tokens.get(i).isOp("(")) {
                return -1;
            }
            i = afterParens(tokens, i);
            if (i < 0) {
                return -1;
            }
            // SEARCH {DEPTH | BREADTH} FIRST BY c [, ...] SET c; CYCLE c [, ...] SET c [TO v DEFAULT v] USING c
            if (i < tokens.size() && tokens.get(i).isWord("search")) {
                while (i < tokens.size() && !tokens.get(i).isWord("set")) {
                    i++;
                }
                i += 2;
            }
            if (i < tokens.size() && tokens.get(i).isWord("cycle")) {
                while (i < tokens.size() && !tokens.get(i).isWord("using")) {
                    i++;
                }
                i += 2;
            }
            if (i < tokens.size() && tokens.get(i).isOp(",")) {
                i++;
                continue;
            }
            return i;
        }
    }

    /** The index after the parenthesis that closes the one at {@code open} ({@link #closingParen}), or -1. */
    private static int afterParens(List<Token> tokens, int open) {
        int close = closingParen(tokens, open);
        return close < 0 ? -1 : close + 1;
    }

    private static boolean startsLikeQuery(List<Token> tokens) {
        for (Token t : tokens) {
            if (t.type() == Type.WORD) {
                return STATEMENT_STARTS.contains(t.value()) || t.value().equals("with");
            }
            if (!t.isOp("(")) {
                return false;
            }
        }
        return false;
    }

    // ---------------------------------------------------------------- DDL and utility statements

    /** Reads the object type after CREATE/ALTER/DROP/COMMENT ON, skipping modifiers; upper case. */
    private static String objectType(Cursor c) {
        while (c.peekWordIn(Set.of("or", "replace", "temp", "temporary", "unlogged", "global", "local", "unique",
                "trusted", "procedural", "recursive", "constraint"))
                || (c.peekWord("default") && c.peekWord(1, "conversion"))) {
            c.next();
        }
        String w = c.peekWord();
        if (w == null) {
            return "";
        }
        String[][] multi = {
            {"materialized", "view"}, {"foreign", "data", "wrapper"}, {"foreign", "table"}, {"event", "trigger"},
            {"text", "search", "parser"}, {"text", "search", "dictionary"}, {"text", "search", "template"},
            {"text", "search", "configuration"}, {"user", "mapping"}, {"operator", "class"},
            {"operator", "family"}, {"access", "method"}, {"default", "privileges"}, {"large", "object"},
        };
        for (String[] m : multi) {
            if (c.words(m)) {
                return String.join(" ", m).toUpperCase(Locale.ROOT);
            }
        }
        c.next();
        return switch (w) {
            case "user", "group" -> "ROLE";
            default -> w.toUpperCase(Locale.ROOT);
        };
    }

    /** The functions that change the sequence their first argument names: nextval advances it, setval sets it. */
    static final Set<String> SEQUENCE_CHANGERS = Set.of("nextval", "setval");

    /**
     * The sequences {@code tokens}' nextval and setval calls change: each call's first argument, a string literal
     * (cast or not) read as the server reads a regclass; {@link TableRef#ANY_RELATION} when it is computed at run
     * time, an OID, or a text the server would read otherwise under the other string setting; in attribute
     * notation ({@code ('s'::regclass).nextval}) what the parentheses before the dot hold. Null when the
     * statement calls neither. (A call in a column DEFAULT counts too, where the statement only stores it.)
     */
    static Set<TableRef> sequencesChanged(List<Token> tokens) {
        Set<TableRef> out = null;
        for (int k = 0; k < tokens.size(); k++) {
            Token t = tokens.get(k);
            if (!t.isIdentifier() || !SEQUENCE_CHANGERS.contains(t.value())) {
                continue;
            }
            TableRef changed;
            if (k + 1 < tokens.size() && tokens.get(k + 1).isOp("(")) {
                changed = sequenceArgument(tokens, k + 2);
            } else if (k > 0 && tokens.get(k - 1).isOp(".")) {
                // (x).nextval is nextval(x) (attribute notation): x is what the parentheses before the dot hold.
                int open = k >= 2 && tokens.get(k - 2).isOp(")") ? matchingOpen(tokens, k - 2) : -1;
                changed = open < 0 ? TableRef.ANY_RELATION : sequenceArgument(tokens, open + 1);
            } else {
                continue;
            }
            if (out == null) {
                out = new java.util.LinkedHashSet<>();
            }
            out.add(changed);
        }
        return out;
    }

    /** The index of the {@code (} that the {@code )} at {@code close} ends; -1 when there is none. */
    private static int matchingOpen(List<Token> tokens, int close) {
        return ParenMatches.openingParen(tokens, close);
    }

    /** The sequence the argument at {@code k} names (see {@link #sequencesChanged}). */
    private static TableRef sequenceArgument(List<Token> tokens, int k) {
        if (k >= tokens.size() || tokens.get(k).type() != Type.STRING) {
            return TableRef.ANY_RELATION;
        }
        int i = k + 1;
        while (i + 1 < tokens.size() && tokens.get(i).isOp("::") && tokens.get(i + 1).isIdentifier()) {
            i += 2;
            while (i + 1 < tokens.size() && tokens.get(i).isOp(".") && tokens.get(i + 1).isIdentifier()) {
                i += 2;
            }
        }
        if (i >= tokens.size() || !(tokens.get(i).isOp(",") || tokens.get(i).isOp(")"))) {
            return TableRef.ANY_RELATION; // 'a' || 'b', 'a'::text || x ...
        }
        String value = tokens.get(k).value();
        List<String> parts = value.indexOf('\\') >= 0 ? null : regclassName(value);
        if (parts == null || parts.isEmpty() || parts.size() > 3) {
            return TableRef.ANY_RELATION;
        }
        int n = parts.size();
        return n == 1 ? new TableRef(null, parts.get(0)) : new TableRef(parts.get(n - 2), parts.get(n - 1));
    }

    /**
     * A regclass text's name parts as the server splits them ({@code SplitIdentifierString} on dots): quoted
     * parts keep their case ({@code ""} is a quote), others are folded and cut; blanks around a part are skipped.
     * Null when the text is an OID (all digits) or not a name.
     */
    static List<String> regclassName(String text) {
        List<String> parts = new java.util.ArrayList<>();
        int i = 0;
        int n = text.length();
        if (!text.isBlank() && text.strip().chars().allMatch(ch -> ch >= '0' && ch <= '9')) {
            return null;
        }
        while (true) {
            while (i < n && Character.isWhitespace(text.charAt(i))) {
                i++;
            }
            if (i >= n) {
                return null;
            }
            StringBuilder part = new StringBuilder();
            if (text.charAt(i) == '"') {
                i++;
                while (true) {
                    if (i >= n) {
                        return null;
                    }
                    char c = text.charAt(i++);
                    if (c == '"') {
                        if (i < n && text.charAt(i) == '"') {
                            part.append('"');
                            i++;
                            continue;
                        }
                        break;
                    }
                    part.append(c);
                }
                if (part.length() == 0) {
                    return null;
                }
                parts.add(Lexer.truncateName(part.toString()));
            } else {
                int start = i;
                while (i < n && text.charAt(i) != '.' && !Character.isWhitespace(text.charAt(i))) {
                    i++;
                }
                if (i == start) {
                    return null;
                }
                parts.add(Lexer.truncateName(Lexer.foldName(text.substring(start, i))));
            }
            while (i < n && Character.isWhitespace(text.charAt(i))) {
                i++;
            }
            if (i >= n) {
                return parts;
            }
            if (text.charAt(i) != '.') {
                return null;
            }
            i++;
        }
    }

    /**
     * {@code IMPORT FOREIGN SCHEMA remote [LIMIT TO (t, ...) | EXCEPT (t, ...)] FROM SERVER s INTO local}: it makes
     * foreign tables in {@code local}, those LIMIT TO lists by name, else under any name ({@code local.*}, which
     * every rule on the schema's tables matches).
     */
    private static boolean importForeignSchema(Cursor c, FactsBuilder b) {
        if (!c.words("foreign", "schema") || c.identifier() == null) {
            return false;
        }
        List<String> listed = null;
        if (c.words("limit", "to")) {
            listed = c.identifierList();
        } else if (c.word("except")) {
            c.identifierList();
        }
        int into = c.indexOfWord("into");
        if (into < 0) {
            return false;
        }
        Cursor at = new Cursor(c.tokens, into + 1);
        String schema = at.identifier();
        if (schema == null || at.peekOp(".")) {
            return false;
        }
        if (listed == null) {
            b.tablesWritten.add(new TableRef(schema, "*"));
        } else {
            listed.forEach(t -> b.tablesWritten.add(new TableRef(schema, t)));
        }
        return true;
    }

    /**
     * The relation a CREATE or ALTER statement defines or changes, as its leading words name it, added to what
     * JSqlParser's tree gave: some trees carry none ({@code CREATE SEQUENCE s.q}, {@code ALTER SEQUENCE s.q}).
     */
    /**
     * The catalog's views (and catalogs) whose rows carry values of other relations: the most common values and
     * histograms of their columns, the sequences' last values. Which relation a row is of is known only when it
     * runs.
     */
    private static final Set<String> VALUE_VIEWS = Set.of("pg_stats", "pg_stats_ext", "pg_stats_ext_exprs",
            "pg_statistic", "pg_statistic_ext_data", "pg_sequences");

    /**
     * Adds {@link TableRef#ANY_RELATION} to the reads of a statement that reads a {@link #VALUE_VIEWS} view or calls
     * {@code pg_sequence_last_value}: a rule that closes a table to reads closes those values too. A helper's pass
     * (a124) read a blocked table's SSNs from {@code pg_stats.most_common_vals}, and a blocked sequence's value from
     * {@code pg_sequences}.
     */
    static void valueViews(Set<TableRef> read, Set<String> functions) {
        boolean any = false;
        for (TableRef t : read) {
            any |= (t.schema() == null || t.schema().equals("pg_catalog")) && VALUE_VIEWS.contains(t.name());
        }
        for (String f : functions) {
            any |= f.equals("pg_sequence_last_value") || f.equals("pg_catalog.pg_sequence_last_value");
        }
        if (any) {
            read.add(TableRef.ANY_RELATION);
        }
    }

    /**
     * The words before {@code TABLE} that make it part of a definition, a privilege or a trigger's transition table,
     * not the query {@code TABLE name}.
     */
    private static final Set<String> TABLE_NOT_A_QUERY = Set.of("create", "alter", "drop", "truncate", "lock", "on",
            "returns", "foreign", "temp", "temporary", "unlogged", "global", "local", "into", "add", "set", "old",
            "new", "reindex");

    /**
     * Adds the relation of every {@code TABLE name} query in the statement to {@code read}, wherever it stands:
     * PostgreSQL reserves TABLE, so an unquoted TABLE followed by a name (not after a word of {@link
     * #TABLE_NOT_A_QUERY}) is always that query. JSqlParser did not read it everywhere: a helper's pass (a124) read a
     * blocked table through {@code FROM (TABLE t) x} (parsed as a table named "table"), {@code ARRAY(TABLE t)} and
     * {@code INSERT INTO k TABLE t} (not parsed, and no table read).
     */
    static void tableQueries(List<Token> tokens, Set<TableRef> read) {
        for (int k = 0; k < tokens.size(); k++) {
            Token t = tokens.get(k);
            if (t.type() != Type.WORD || !t.value().equals("table")) {
                continue;
            }
            // (Only where that word is a keyword: after INTO, AS or a dot it is a name, INSERT INTO new TABLE t,
            // and a helper's pass, a125, read a blocked table so.)
            Token before = k > 1 ? tokens.get(k - 2) : null;
            boolean named = before != null && (before.isWord("into") || before.isWord("as") || before.isOp("."));
            if (k > 0 && tokens.get(k - 1).type() == Type.WORD && !named
                    && TABLE_NOT_A_QUERY.contains(tokens.get(k - 1).value())) {
                continue;
            }
            Cursor c = new Cursor(tokens, k + 1);
            c.word("only");
            TableRef name = c.name();
            if (name != null) {
                read.add(name);
            }
        }
    }

    static void definedRelation(List<Token> tokens, FactsBuilder b) {
        FactsBuilder named = new FactsBuilder(b.kind);
        Cursor c = new Cursor(tokens, 0);
        if (c.word("create")) {
            create(c, named);
        } else if (c.word("alter")) {
            alter(c, named);
        }
        b.tablesWritten.addAll(named.tablesWritten);
        b.tablesRead.addAll(named.tablesRead);
    }

    private static void create(Cursor c, FactsBuilder b) {
        b.objectType = objectType(c);
        if (b.objectType.equals("PUBLICATION")) {
            publishedSchemas(c, b);
        } else if (b.objectType.equals("RULE")) {
            // CREATE [OR REPLACE] RULE name AS ON event TO table: it changes what a statement on the table does.
            int on = c.indexOfWord("on");
            if (on > 0 && on + 2 < c.tokens.size() && c.tokens.get(on + 2).isWord("to")) {
                TableRef table = new Cursor(c.tokens, on + 3).name();
                if (table != null) {
                    b.tablesWritten.add(table);
                }
            }
        } else if (b.objectType.equals("INDEX")) {
            int on = c.indexOfWord("on");
            if (on > 0) {
                Cursor at = new Cursor(c.tokens, on + 1);
                at.word("only");
                TableRef table = at.name();
                if (table != null) {
                    b.tablesWritten.add(table);
                }
            }
        } else if (RELATION_TYPES.contains(b.objectType)) {
            c.words("if", "not", "exists");
            TableRef name = c.name();
            if (name != null) {
                b.tablesWritten.add(name);
            }
            // A child or a partition adds its rows to its parents': their reads return them, their deletes reach
            // them. The parents are named as read (they exist; only the new relation is created), which a rule on
            // them matches for this writing statement.
            int inherits = c.indexOfWord("inherits");
            if (inherits > 0 && inherits + 1 < c.tokens.size() && c.tokens.get(inherits + 1).isOp("(")) {
                nameList(new Cursor(c.tokens, inherits + 2), b.tablesRead);
            }
            int partition = c.indexOfWord("partition");
            if (partition > 0 && partition + 1 < c.tokens.size() && c.tokens.get(partition + 1).isWord("of")) {
                TableRef parent = new Cursor(c.tokens, partition + 2).name();
                if (parent != null) {
                    b.tablesRead.add(parent);
                }
            }
        }
    }

    private static void alter(Cursor c, FactsBuilder b) {
        b.objectType = objectType(c);
        if (b.objectType.equals("DEFAULT PRIVILEGES")) {
            defaultPrivileges(c, b);
        } else if (b.objectType.equals("PUBLICATION")) {
            publishedSchemas(c, b);
        } else if ((RELATION_TYPES.contains(b.objectType) || b.objectType.equals("INDEX"))
                && c.peekWord("all") && c.peekWord(1, "in") && c.peekWord(2, "tablespace")) {
            // ALTER TABLE|INDEX|MATERIALIZED VIEW ALL IN TABLESPACE a SET TABLESPACE b: every such relation there
            // (ALL is reserved: no relation is named so unquoted).
            b.tablesWritten.add(TableRef.ANY_RELATION);
        } else if (RELATION_TYPES.contains(b.objectType) || b.objectType.equals("INDEX")) {
            c.words("if", "exists");
            c.word("only");
            TableRef name = c.name();
            if (name != null) {
                b.tablesWritten.add(name);
            }
            // [NO] INHERIT parent: the parent's reads and deletes gain (or lose) this table's rows.
            int inherit = c.indexOfWord("inherit");
            Token before = inherit > 0 ? c.tokens.get(inherit - 1) : null;
            if (before != null && (inherit == c.i || before.isWord("no") || before.isOp(","))) {
                TableRef parent = new Cursor(c.tokens, inherit + 1).name();
                if (parent != null) {
                    b.tablesRead.add(parent);
                }
            }
        } else if (Set.of("TRIGGER", "POLICY", "RULE").contains(b.objectType)) {
            // ALTER TRIGGER|POLICY|RULE name ON table: what the table's statements run, or which rows they see.
            int on = c.indexOfWord("on");
            TableRef table = on < 0 ? null : new Cursor(c.tokens, on + 1).name();
            if (table != null) {
                b.tablesWritten.add(table);
            }
        }
    }

    private static boolean drop(Cursor c, FactsBuilder b) {
        b.objectType = objectType(c);
        if (b.objectType.isEmpty()) {
            return false;
        }
        c.word("concurrently");
        c.words("if", "exists");
        Set<TableRef> names = new java.util.LinkedHashSet<>();
        boolean listed = nameList(c, names);
        if (RELATION_TYPES.contains(b.objectType) || b.objectType.equals("INDEX")) {
            b.tablesWritten.addAll(names);
        }
        if (c.word("on")) {
            // DROP TRIGGER / RULE / POLICY name ON table
            TableRef table = c.name();
            if (table != null) {
                b.tablesWritten.add(table);
            }
        }
        if (!RELATION_TYPES.contains(b.objectType) && !Set.of("INDEX", "TRIGGER", "RULE", "POLICY", "TYPE",
                "DOMAIN", "EXTENSION", "SERVER").contains(b.objectType)) {
            // An operator, cast, family, class, mapping, function...: no table among its names (and CASCADE,
            // which could reach one, is judged by the baseline on the text), whatever its signature looks like.
            return true;
        }
        return listed && (c.atEnd() || c.peekWordIn(Set.of("cascade", "restrict")));
    }

    private static void grant(Cursor c, FactsBuilder b) {
        int on = c.indexOfWord("on");
        if (on < 0) {
            b.objectType = "ROLE";
            return;
        }
        Cursor at = new Cursor(c.tokens, on + 1);
        if (at.words("all", "tables", "in", "schema")) {
            b.objectType = "TABLE";
            everyRelationOf(at, b.tablesWritten);
            return;
        }
        if (at.peekWord("all") && at.peekWord(1) != null) {
            String plural = at.peekWord(1).toUpperCase(Locale.ROOT);
            b.objectType = plural.endsWith("S") ? plural.substring(0, plural.length() - 1) : plural;
            if (at.words("all", "sequences", "in", "schema")) {
                everyRelationOf(at, b.tablesWritten);
            }
            return;
        }
        if (at.peekWordIn(Set.of("sequence", "database", "domain", "function", "procedure", "routine", "language",
                "schema", "tablespace", "type", "parameter", "foreign", "large"))) {
            b.objectType = objectType(at);
            if (b.objectType.equals("SEQUENCE")) {
                nameList(at, b.tablesWritten);
            } else if (b.objectType.equals("SCHEMA")) {
                // USAGE and CREATE on a schema decide who reaches and adds to every relation in it.
                everyRelationOf(at, b.tablesWritten);
            }
            return;
        }
        b.objectType = "TABLE";
        at.word("table");
        nameList(at, b.tablesWritten);
    }

    /**
     * A publication's {@code TABLES IN SCHEMA s, ...} reads every table of those schemas ({@code s.*});
     * {@code CURRENT_SCHEMA}, the first of the search_path, and {@code ALL TABLES} any.
     */
    private static void publishedSchemas(Cursor c, FactsBuilder b) {
        List<Token> tokens = c.tokens;
        for (int i = c.i; i + 1 < tokens.size(); i++) {
            if (tokens.get(i).isWord("all") && tokens.get(i + 1).isWord("tables")) {
                b.tablesRead.add(TableRef.ANY_RELATION);
            }
            if (i + 2 < tokens.size() && tokens.get(i).isWord("tables") && tokens.get(i + 1).isWord("in")
                    && tokens.get(i + 2).isWord("schema")) {
                everyRelationOf(new Cursor(tokens, i + 3), b.tablesRead);
            }
        }
    }

    /**
     * {@code s1, s2, ...} (schema names, consumed, up to a publication's next TABLE or TABLES): every relation of
     * each, {@code s.*}; {@code CURRENT_SCHEMA}, the first of the search_path, any relation.
     */
    private static void everyRelationOf(Cursor c, Set<TableRef> into) {
        do {
            if (c.peekWordIn(Set.of("table", "tables"))) {
                return;
            }
            if (c.word("current_schema")) {
                into.add(TableRef.ANY_RELATION);
                continue;
            }
            String schema = c.identifier();
            if (schema == null) {
                return;
            }
            into.add(new TableRef(schema, "*"));
        } while (c.op(","));
    }

    /**
     * {@code ALTER DEFAULT PRIVILEGES [FOR ROLE r, ...] [IN SCHEMA s, ...] GRANT|REVOKE ...}: the privileges of the
     * relations created later in those schemas ({@code s.*}), or in any schema without IN SCHEMA.
     */
    private static void defaultPrivileges(Cursor c, FactsBuilder b) {
        int in = c.indexOfWord("in");
        Cursor at = in < 0 ? null : new Cursor(c.tokens, in + 1);
        if (at != null && at.word("schema")) {
            everyRelationOf(at, b.tablesWritten);
        } else {
            b.tablesWritten.add(TableRef.ANY_RELATION);
        }
    }

    private static boolean commentTarget(Cursor c, FactsBuilder b) {
        // (CONSTRAINT is the object here, not the modifier of CREATE CONSTRAINT TRIGGER.)
        b.objectType = c.word("constraint") ? "CONSTRAINT" : objectType(c);
        if (b.objectType.isEmpty()) {
            return false;
        }
        List<String> parts = c.nameParts();
        if (parts.isEmpty()) {
            return false;
        }
        if (RELATION_TYPES.contains(b.objectType) || b.objectType.equals("INDEX")) {
            b.tablesWritten.add(ref(parts));
        } else if (parts.size() == 1 && c.word("on")) {
            // TRIGGER, RULE, POLICY or CONSTRAINT name ON table: the table's, as ALTER TRIGGER ... ON t writes t
            // (a domain's constraint is no table's).
            TableRef table = c.peekWord("domain") ? null : c.name();
            if (table != null) {
                b.tablesWritten.add(table);
            }
        } else if (b.objectType.equals("COLUMN") && parts.size() >= 2) {
            b.tablesWritten.add(ref(parts.subList(0, parts.size() - 1)));
            b.columnsWritten.add(new ColumnRef(String.join(".", parts.subList(0, parts.size() - 1)),
                    parts.get(parts.size() - 1)));
        }
        return true;
    }

    private static void set(Cursor c, FactsBuilder b) {
        if ((c.peekWord("session") && !c.peekWord(1, "authorization")) || c.peekWord("local")) {
            c.next();
        }
        String setting = roleSetting(c);
        if (setting != null) {
            // SET "role" TO x, SET session_authorization = x: the settings behind SET ROLE and SET SESSION
            // AUTHORIZATION, reached by name (the server's generic SET, which then runs their checks alike).
            c.next();
            b.kind = setting.equals("role") ? StatementKind.SET_ROLE : StatementKind.SET_SESSION_AUTHORIZATION;
            String target = c.word("to") || c.op("=") ? c.roleName() : null;
            b.roleTarget = target == null || !c.atEnd() ? "?" : target;
        } else if (c.word("role")) {
            b.kind = StatementKind.SET_ROLE;
            b.roleTarget = c.peekWord("none") ? "none" : c.roleName();
        } else if (c.words("session", "authorization")) {
            b.kind = StatementKind.SET_SESSION_AUTHORIZATION;
            b.roleTarget = c.peekWord("default") ? "default" : c.roleName();
        } else {
            b.kind = StatementKind.SET;
        }
    }

    /**
     * {@code role} or {@code session_authorization} when the cursor is at that setting's name written as a
     * plain setting name: quoted (where {@code role} is no keyword) or, for session_authorization, unquoted. The
     * server compares setting names folding ASCII letters only ({@code guc_name_compare}), quoted ones too.
     */
    private static String roleSetting(Cursor c) {
        if (c.atEnd() || (c.tokens.get(c.i).type() == Type.WORD && !c.peekWord("session_authorization"))) {
            return null;
        }
        return settingName(c.tokens.get(c.i));
    }

    private static boolean copy(Cursor c, FactsBuilder b, InnerStatements inner) {
        boolean binary = c.word("binary");
        TableRef table = null;
        StatementFacts query = null;
        List<String> columns = List.of();
        if (c.peekOp("(")) {
            int close = c.matchingParen();
            if (close < 0) {
                fallback(c.tokens, b);
                return false;
            }
            query = inner.analyse(c.tokens.subList(c.i + 1, close));
            c.i = close + 1;
        } else {
            table = c.name();
            if (table == null) {
                return false;
            }
            if (c.peekOp("(")) {
                columns = c.identifierList();
            }
        }
        CopySpec.Direction direction;
        if (c.word("from")) {
            direction = CopySpec.Direction.FROM;
        } else if (c.word("to")) {
            direction = CopySpec.Direction.TO;
        } else {
            return false;
        }
        CopySpec.Target target;
        if (c.word("stdin")) {
            target = CopySpec.Target.STDIN;
        } else if (c.word("stdout")) {
            target = CopySpec.Target.STDOUT;
        } else if (c.word("program")) {
            target = CopySpec.Target.PROGRAM;
            c.next();
        } else if (c.peekType(Type.STRING)) {
            target = CopySpec.Target.FILE;
            c.next();
        } else {
            return false;
        }
        String format = binary ? "binary" : "text";
        // (An option name of the parenthesised list may be quoted: ("format" csv) is FORMAT csv.)
        java.util.Map<String, Token> options = TextReferences.copyOptions(c.tokens, c.i);
        if (options == null) {
            format = "unread"; // masking refuses to split what it cannot tell the format of
        } else if (options.containsKey("format")) {
            Token f = options.get("format");
            String value = f == null ? "" : f.value().toLowerCase(Locale.ROOT);
            format = f != null && (f.type() == Type.WORD || f.type() == Type.STRING || f.type() == Type.QUOTED_IDENT)
                    && Set.of("text", "csv", "binary").contains(value) ? value : "unread";
        }
        b.copy = new CopySpec(direction, target, java.util.Optional.ofNullable(table), query != null, format,
                TextReferences.copyOptionValues(options));
        functionCalls(c.rest(), b.functions);
        if (query != null) {
            b.mirror(query, true);
        } else if (direction == CopySpec.Direction.FROM) {
            b.writes = true;
            b.tablesWritten.add(table);
            for (String col : columns) {
                b.columnsWritten.add(new ColumnRef(table.qualified(), col));
            }
        } else {
            b.tablesRead.add(table);
            if (columns.isEmpty()) {
                b.columnsRead.add(new ColumnRef(table.qualified(), "*"));
            }
            for (String col : columns) {
                b.columnsRead.add(new ColumnRef(table.qualified(), col));
            }
        }
        return !b.unparsed;
    }

    private static boolean explain(Cursor c, FactsBuilder b, InnerStatements inner) {
        Boolean analyze = explainOptions(c);
        if (analyze == null || c.atEnd()) {
            return false;
        }
        StatementFacts in = inner.analyse(c.rest());
        b.mirror(in, analyze);
        return true;
    }

    /**
     * Whether the EXPLAIN at {@code tokens} runs its statement (ANALYZE): the plan then reports what the rows did
     * (how many each node returned, removed or looped over), numbers a table's values decide.
     */
    static boolean explainRuns(List<Token> tokens) {
        Cursor c = new Cursor(tokens, 0);
        if (!c.word("explain")) {
            return false;
        }
        Boolean analyze = explainOptions(c);
        return analyze == null || analyze;
    }

    /** Reads EXPLAIN's options after the keyword: whether it analyses, or null when the options do not close. */
    private static Boolean explainOptions(Cursor c) {
        boolean analyze = false;
        if (c.peekOp("(")) {
            int close = c.matchingParen();
            if (close < 0) {
                return null;
            }
            for (int i = c.i + 1; i < close; i++) {
                Token t = c.tokens.get(i);
                // An option's name is any word, quoted or Unicode-escaped too ("analyze" is ANALYZE); its value a
                // word, a quoted name or a string, each read as a boolean regardless of case.
                if (t.isLabel("analyze") || t.isLabel("analyse")) {
                    Token value = c.tokens.get(i + 1);
                    if (value.type() == Type.OPERATOR && (value.value().equals("-") || value.value().equals("+"))) {
                        value = c.tokens.get(i + 2); // a signed integer: -0 is 0
                    }
                    analyze = !((value.type() == Type.NUMBER && value.value().matches("0+"))
                            || ((value.type() == Type.WORD || value.type() == Type.QUOTED_IDENT
                            || value.type() == Type.STRING) && isFalse(value.value())));
                }
            }
            c.i = close + 1;
        } else {
            while (c.peekWordIn(Set.of("analyze", "analyse", "verbose"))) {
                analyze |= !c.peekWord("verbose");
                c.next();
            }
        }
        return analyze;
    }

    private static boolean isFalse(String v) {
        String s = v.toLowerCase(Locale.ROOT);
        return s.equals("false") || s.equals("off") || s.equals("0") || s.equals("no");
    }

    /** {@code [ONLY] name [*] [, ...]}; true when at least one name was read. */
    private static boolean nameList(Cursor c, Set<TableRef> out) {
        boolean any = false;
        do {
            c.word("only");
            TableRef name = c.name();
            if (name == null) {
                return any;
            }
            any = true;
            out.add(name);
            c.op("*");
            c.skipParens();
        } while (c.op(","));
        return true;
    }

    private static void nameListWithColumns(Cursor c, Set<TableRef> out) {
        while (!c.atEnd()) {
            TableRef name = c.name();
            if (name == null) {
                return;
            }
            out.add(name);
            c.skipParens();
            if (!c.op(",")) {
                return;
            }
        }
    }

    // ---------------------------------------------------------------- fallback for queries and DML

    /**
     * Best-effort facts for a query, DML or DDL statement that JSqlParser could not parse: DML targets (also
     * inside CTEs), FROM/JOIN tables, SELECT INTO, function calls, and WHERE clauses.
     */
    static void fallback(List<Token> tokens, FactsBuilder b) {
        functionCalls(tokens, b.functions);
        Set<TableRef> reads = new java.util.LinkedHashSet<>();
        int main = mainKeyword(tokens);
        boolean sawUpdateOrDelete = false;
        boolean allHaveWhere = true;
        Deque<Boolean> callParens = new ArrayDeque<>();
        // Per parenthesis level, whether a SELECT (or VALUES, TABLE) began a query in it: a FROM there is a query's,
        // even inside what reads like a call (INSERT INTO t (SELECT ... FROM x), xmlserialize(content (SELECT ...)):
        // a helper's pass, a124, read a blocked table so).
        Deque<Boolean> queryAtLevel = new ArrayDeque<>();
        for (int i = 0; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            Token prev = i > 0 ? tokens.get(i - 1) : null;
            if (t.isOp("(")) {
                callParens.push(prev != null && prev.isIdentifier() && !NOT_FUNCTIONS.contains(prev.value()));
                queryAtLevel.push(false);
                continue;
            }
            if (t.isOp(")")) {
                callParens.poll();
                queryAtLevel.poll();
                continue;
            }
            if (t.type() != Type.WORD) {
                continue;
            }
            if ((t.value().equals("select") || t.value().equals("values")) && !queryAtLevel.isEmpty()) {
                queryAtLevel.pop();
                queryAtLevel.push(true);
            }
            // (ON INSERT TO t, BEFORE INSERT OR UPDATE OF c: a rule's or trigger's event, no statement.) After a WITH
            // list, too: WITH x AS (...) UPDATE t ..., inside a WITH query (a helper's pass, a125, wrote through
            // WITH w AS (WITH x AS (SELECT 1) UPDATE t ...) unseen).
            boolean statementStart = (i == main || (prev != null && prev.isOp("("))
                    || (prev != null && prev.isOp(")") && afterWithQuery(tokens, i - 1)))
                    && !(prev != null && prev.type() == Type.WORD && EVENT_BEFORE.contains(prev.value()));
            switch (t.value()) {
                case "for" -> {
                    // FOR UPDATE, NO KEY UPDATE, SHARE, KEY SHARE: the rows read are locked, as LOCK locks a table.
                    Token n1 = i + 1 < tokens.size() ? tokens.get(i + 1) : null;
                    Token n2 = i + 2 < tokens.size() ? tokens.get(i + 2) : null;
                    if (b.kind == StatementKind.SELECT && n1 != null && (n1.isWord("update") || n1.isWord("share")
                            || n2 != null && (n1.isWord("no") && n2.isWord("key")
                            || n1.isWord("key") && n2.isWord("share")))) {
                        b.writes = true;
                    }
                }
                case "using" -> {
                    // DELETE ... USING a, b and MERGE ... USING src read those relations (JOIN ... USING (col)
                    // names columns, skipped as a parenthesis).
                    if (deletesOrMerges(tokens)) {
                        fromList(new Cursor(tokens, i + 1), reads);
                    }
                }
                case "from", "join" -> {
                    boolean insideCall = !callParens.isEmpty() && callParens.peek() && !queryAtLevel.peek();
                    if (!insideCall && !(prev != null && (prev.isWord("delete") || prev.isWord("distinct")))) {
                        fromList(new Cursor(tokens, i + 1), reads);
                    }
                }
                case "insert", "update", "delete", "merge" -> {
                    if (!statementStart) {
                        break;
                    }
                    StatementKind kind = dmlKind(List.of(t));
                    if (i != main) {
                        b.innerKinds.add(kind);
                        b.dataModifyingCte = true;
                    }
                    Cursor c = new Cursor(tokens, i + 1);
                    c.word("into");
                    c.word("from");
                    c.word("only");
                    TableRef target = c.name();
                    if (target != null) {
                        b.tablesWritten.add(target);
                        if (kind == StatementKind.INSERT && c.peekOp("(")) {
                            for (String col : c.identifierList()) {
                                b.columnsWritten.add(new ColumnRef(target.qualified(), col));
                            }
                        }
                    }
                    if (kind == StatementKind.UPDATE || kind == StatementKind.DELETE) {
                        sawUpdateOrDelete = true;
                        allHaveWhere &= hasWhereAtDepthOf(tokens, i);
                    }
                }
                case "into" -> {
                    if (b.kind == StatementKind.SELECT && main >= 0 && i > main
                            && tokens.get(main).isWord("select") && depthAt(tokens, main, i) == 0) {
                        Cursor c = new Cursor(tokens, i + 1);
                        while (c.peekWordIn(Set.of("temp", "temporary", "unlogged", "table"))) {
                            c.next();
                        }
                        TableRef target = c.name();
                        if (target != null) {
                            b.tablesWritten.add(target);
                            b.writes = true;
                        }
                    }
                }
                default -> { }
            }
        }
        if (b.kind == StatementKind.SELECT && main >= 0 && tokens.get(main).isWord("table")) {
            TableRef t = new Cursor(tokens, main + 1).name();
            if (t != null) {
                reads.add(t);
            }
        }
        // A WITH query's name is read as a table's too: the tokens do not tell its scope, and a name a WITH list
        // defines in one subquery said nothing of the same name elsewhere (a helper's pass, a124, hid a blocked table
        // behind one). Reading a WITH query as a relation of its name fails closed.
        for (TableRef r : reads) {
            if (!b.tablesWritten.contains(r)) {
                b.tablesRead.add(r);
            }
        }
        b.hasWhere = sawUpdateOrDelete ? allHaveWhere : main >= 0 && hasWhereAtDepthOf(tokens, main);
    }

    /**
     * Whether the parenthesis closing at {@code close} ends a WITH query ({@code name AS [NOT] [MATERIALIZED] (...)}),
     * so that what follows it may begin the statement the WITH list belongs to.
     */
    private static boolean afterWithQuery(List<Token> tokens, int close) {
        int open = matchingOpen(tokens, close);
        if (open < 1) {
            return false;
        }
        Token before = tokens.get(open - 1);
        return before.isWord("as") || before.isWord("materialized");
    }

    private static int depthAt(List<Token> tokens, int from, int to) {
        int depth = 0;
        for (int i = from; i < to; i++) {
            if (tokens.get(i).isOp("(")) {
                depth++;
            } else if (tokens.get(i).isOp(")")) {
                depth--;
            }
        }
        return depth;
    }

    /** Whether a WHERE follows token {@code at} at the same parenthesis depth, before that depth closes. */
    private static boolean hasWhereAtDepthOf(List<Token> tokens, int at) {
        int depth = 0;
        for (int i = at + 1; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (t.isOp("(")) {
                depth++;
            } else if (t.isOp(")")) {
                if (--depth < 0) {
                    return false;
                }
            } else if (depth == 0 && clauseWord(tokens, i, "returning")) {
                return false; // a WHERE comes before RETURNING
            } else if (depth == 0 && clauseWord(tokens, i, "where")) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether the token at {@code k} is {@code word} starting a clause, not a column's label: after AS any keyword
     * labels one ({@code RETURNING id AS where}, PostgreSQL's ColLabel), and WHERE and RETURNING label one only there.
     */
    private static boolean clauseWord(List<Token> tokens, int k, String word) {
        // After a dot too: pg_temp.where names a relation (attr_name is a ColLabel), and DELETE FROM t USING
        // pg_temp.where, with no WHERE, read as filtered (a helper's review of the AS fix).
        return tokens.get(k).isWord(word) && !(k > 0 && (tokens.get(k - 1).isWord("as") || tokens.get(k - 1).isOp(".")));
    }

    /** Whether a DELETE or MERGE keyword starts a statement or a parenthesised statement of {@code tokens}. */
    private static boolean deletesOrMerges(List<Token> tokens) {
        for (int i = 0; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            if ((t.isWord("delete") || t.isWord("merge")) && (i == 0 || tokens.get(i - 1).isOp("(")
                    || tokens.get(i - 1).isWord("as"))) {
                return true;
            }
        }
        return false;
    }

    private static void fromList(Cursor c, Set<TableRef> out) {
        do {
            c.word("only");
            c.word("lateral");
            if (c.peekOp("(")) {
                c.skipParens();
            } else {
                int before = c.i;
                TableRef name = c.name();
                if (name == null) {
                    return;
                }
                if (c.peekOp("(")) {
                    c.skipParens(); // a function in FROM; functionCalls() records it
                } else {
                    out.add(name);
                    c.op("*");
                }
                if (c.i == before) {
                    return;
                }
            }
            c.word("as");
            String alias = c.peekWord();
            if ((alias != null && !CLAUSE_WORDS.contains(alias)) || c.peekType(Type.QUOTED_IDENT)) {
                c.next();
                c.skipParens();
            }
        } while (c.op(","));
    }

    // ---------------------------------------------------------------- functions

    /** Records every {@code name(} and {@code schema.name(} that is a call rather than a type, table or alias. */
    static void functionCalls(List<Token> tokens, Set<String> out) {
        for (int i = 0; i + 1 < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (!t.isIdentifier() || !tokens.get(i + 1).isOp("(")) {
                continue;
            }
            if (t.type() == Type.WORD && NOT_FUNCTIONS.contains(t.value())
                    && (!CALLABLE_SYNTAX_WORDS.contains(t.value()) || syntaxBeforeParenthesis(tokens, i))) {
                continue;
            }
            int first = i;
            while (first >= 2 && tokens.get(first - 1).isOp(".") && tokens.get(first - 2).isIdentifier()) {
                first -= 2;
            }
            if (first == i && t.isWord("operator")) {
                // OPERATOR(s.###) names an operator (its op: key judges what it runs, see implicitCalls): the grammar
                // reads an unquoted, unqualified operator( as nothing else, so a function of that name is called only
                // as "operator"(...) or s.operator(...).
                continue;
            }
            Token before = first > 0 ? tokens.get(first - 1) : null;
            if (isCteHeader(tokens, i + 1) || first == i && indexAccessMethod(tokens, first)
                    || namedRelation(tokens, first)) {
                continue;
            }
            if (before != null) {
                boolean call = switch (before.type()) {
                    case WORD -> CALL_PREFIX.contains(before.value());
                    case QUOTED_IDENT -> false;
                    case OPERATOR -> !before.value().equals("::") && !before.value().equals(")")
                            && !before.value().equals("]") && !before.value().equals(".");
                    default -> true;
                };
                if (!call) {
                    continue;
                }
            }
            StringBuilder name = new StringBuilder();
            for (int k = first; k <= i; k += 2) {
                if (name.length() > 0) {
                    name.append('.');
                }
                name.append(tokens.get(k).value());
            }
            out.add(name.toString());
        }
    }

    /**
     * Whether the word at {@code at} (one of {@link #CALLABLE_SYNTAX_WORDS}, before {@code (}) is the grammar's rather
     * than a call: a command at a statement's start ({@code COPY (query)}, {@code EXPLAIN (options)}), {@code DO ALSO
     * (} and {@code DO INSTEAD (} of a rule, the arbiter of {@code ON CONFLICT (a) ... DO}, {@code GROUP BY CUBE (}
     * and {@code ROLLUP (}, a CTE's {@code AS NOT MATERIALIZED (}, a table's {@code EXCLUDE (a WITH =)}. Elsewhere
     * (a PL/pgSQL {@code IF (a) THEN} after THEN or ELSE too, which a CASE's THEN f(x) cannot be told from here) it
     * is listed: when no function has that name, it is judged as nothing.
     */
    private static boolean syntaxBeforeParenthesis(List<Token> tokens, int at) {
        Token before = at > 0 ? tokens.get(at - 1) : null;
        if (before == null || before.isOp(";") || before.isWord("begin") || before.isWord("loop")) {
            return true; // (BEGIN and LOOP of PL/pgSQL: a statement follows, as IF (a) THEN, RETURN (x))
        }
        String word = tokens.get(at).value();
        switch (word) {
            case "exclude":
                return withInside(tokens, at + 1); // a table's EXCLUDE (a WITH =)
            case "also", "instead":
                return before.isWord("do");
            case "conflict":
                return before.isWord("on") && doFollows(tokens, at + 1);
            case "cube", "rollup":
                int k = at - 1;
                if (tokens.get(k).isWord("all") || tokens.get(k).isWord("distinct")) {
                    k--;
                }
                return k >= 1 && tokens.get(k).isWord("by") && tokens.get(k - 1).isWord("group");
            case "materialized":
                return before.isWord("not") && at >= 2 && tokens.get(at - 2).isWord("as");
            default:
                return false;
        }
    }

    /** Whether the parenthesis opening at {@code open} holds a reserved {@code WITH} at its own depth. */
    private static boolean withInside(List<Token> tokens, int open) {
        for (int k = open + 1; k < tokens.size(); k++) {
            Token t = tokens.get(k);
            if (t.isOp("(")) {
                k = closingParen(tokens, k); // a nested parenthesis, skipped whole (no rescan per level)
                if (k < 0) {
                    return false;
                }
            } else if (t.isOp(")")) {
                return false;
            } else if (t.isWord("with")) {
                return true;
            }
        }
        return false;
    }

    /** Whether a reserved {@code DO} follows the parenthesis opening at {@code open}, at its depth. */
    private static boolean doFollows(List<Token> tokens, int open) {
        int close = closingParen(tokens, open);
        // Asked at every ON CONFLICT (: a scan forward each time would cost the square of a long list of them.
        return close >= 0 && ParenMatches.wordAhead(tokens, close + 1, "do");
    }

    /**
     * Whether the name at {@code at} is an index's access method: {@code INDEX [CONCURRENTLY] [IF NOT EXISTS] [name]
     * ON [ONLY] relation USING name (} or {@code EXCLUDE USING name (}. Whatever it is called (CREATE ACCESS METHOD
     * gist2 ... HANDLER gisthandler), the grammar makes it no call there; the parenthesis holds the columns, whose
     * expressions and operator classes are read as anywhere else. (After any other USING a name may be a call:
     * {@code DELETE ... USING f(x)}, {@code ALTER TABLE ... TYPE t USING f(c)}.)
     */
    private static boolean indexAccessMethod(List<Token> tokens, int at) {
        int k = at - 1;
        if (k < 1 || !tokens.get(k).isWord("using")) {
            return false;
        }
        if (tokens.get(--k).isWord("exclude")) {
            return true;
        }
        while (k >= 2 && tokens.get(k - 1).isOp(".") && tokens.get(k - 2).isIdentifier()) {
            k -= 2; // a qualified relation's name
        }
        return tokens.get(k).isIdentifier() && indexedAfter(tokens, k - 1);
    }

    /**
     * Whether the (qualified) name starting at {@code first} names a relation, not a call, before its parenthesis:
     * the relation an index is built on ({@code INDEX ... ON [ONLY] t (a)}), or the one {@code CREATE TABLE IF NOT
     * EXISTS t (a int)} defines (EXISTS takes a subquery, never a call). A function of the same name, made in the same
     * text and so not in the catalog yet, was passed over as the relation when called in the index's expression.
     */
    private static boolean namedRelation(List<Token> tokens, int first) {
        return indexedAfter(tokens, first - 1) || first >= 3 && tokens.get(first - 1).isWord("exists")
                && tokens.get(first - 2).isWord("not") && tokens.get(first - 3).isWord("if");
    }

    /** Whether the token at {@code k} ends {@code INDEX [CONCURRENTLY] [IF NOT EXISTS] [name] ON [ONLY]}. */
    private static boolean indexedAfter(List<Token> tokens, int k) {
        if (k >= 0 && tokens.get(k).isWord("only")) {
            k--;
        }
        if (k < 1 || !tokens.get(k).isWord("on")) {
            return false;
        }
        k--;
        if (tokens.get(k).isIdentifier() && !tokens.get(k).isWord("index") && !tokens.get(k).isWord("exists")
                && !tokens.get(k).isWord("concurrently")) {
            k--; // the index's name
        }
        if (k >= 2 && tokens.get(k).isWord("exists") && tokens.get(k - 1).isWord("not")
                && tokens.get(k - 2).isWord("if")) {
            k -= 3;
        }
        if (k >= 0 && tokens.get(k).isWord("concurrently")) {
            k--;
        }
        return k >= 0 && tokens.get(k).isWord("index");
    }

    /** {@code name ( cols ) AS [NOT] [MATERIALIZED] (}: a CTE with a column list, not a call. */
    private static boolean isCteHeader(List<Token> tokens, int open) {
        Cursor c = new Cursor(tokens, open);
        c.skipParens();
        if (!c.word("as")) {
            return false;
        }
        c.word("not");
        c.word("materialized");
        return c.peekOp("(");
    }

    /** Function calls in code held in a string (a DO body), and in strings inside it, a few levels deep. */
    static void functionsInCode(String code, Set<String> out, int levels) {
        List<Token> tokens = Lexer.tokenize(code).tokens();
        functionCalls(tokens, out);
        if (levels > 1) {
            for (Token t : tokens) {
                if (t.type() == Type.STRING && t.value().indexOf('(') >= 0) {
                    functionsInCode(t.value(), out, levels - 1);
                }
            }
        }
    }

    static TableRef ref(List<String> parts) {
        int n = parts.size();
        return n == 1 ? new TableRef(null, parts.get(0)) : new TableRef(parts.get(n - 2), parts.get(n - 1));
    }

    /** The index of the parenthesis that closes the one at {@code open} (or the first after it); -1 when none. */
    static int closingParen(List<Token> tokens, int open) {
        return ParenMatches.closingParen(tokens, open);
    }

    /** A position in a statement's tokens with the small reads the grammar above needs. */
    static final class Cursor {
        final List<Token> tokens;
        int i;

        Cursor(List<Token> tokens, int i) {
            this.tokens = tokens;
            this.i = i;
        }

        boolean atEnd() {
            return i >= tokens.size();
        }

        void next() {
            i++;
        }

        List<Token> rest() {
            return tokens.subList(Math.min(i, tokens.size()), tokens.size());
        }

        String peekWord() {
            return peekWord(0);
        }

        String peekWord(int ahead) {
            int k = i + ahead;
            return k < tokens.size() && tokens.get(k).type() == Type.WORD ? tokens.get(k).value() : null;
        }

        boolean peekWord(String w) {
            return w.equals(peekWord());
        }

        boolean peekWord(int ahead, String w) {
            return w.equals(peekWord(ahead));
        }

        boolean peekWordIn(Set<String> words) {
            String w = peekWord();
            return w != null && words.contains(w);
        }

        boolean peekOp(String op) {
            return i < tokens.size() && tokens.get(i).isOp(op);
        }

        boolean peekType(Type type) {
            return i < tokens.size() && tokens.get(i).type() == type;
        }

        boolean word(String w) {
            if (peekWord(w)) {
                i++;
                return true;
            }
            return false;
        }

        /** Consumes all the words in sequence, or nothing. */
        boolean words(String... ws) {
            for (int k = 0; k < ws.length; k++) {
                if (!peekWord(k, ws[k])) {
                    return false;
                }
            }
            i += ws.length;
            return true;
        }

        boolean op(String op) {
            if (peekOp(op)) {
                i++;
                return true;
            }
            return false;
        }

        /** An identifier (folded), or null. */
        String identifier() {
            if (i < tokens.size() && tokens.get(i).isIdentifier()) {
                return tokens.get(i++).value();
            }
            return null;
        }

        /** A role name: identifier or string literal. */
        String roleName() {
            if (peekType(Type.STRING)) {
                return tokens.get(i++).value();
            }
            return identifier();
        }

        /** {@code a[.b[.c]]}, or an empty list. */
        List<String> nameParts() {
            List<String> parts = new java.util.ArrayList<>(3);
            String first = identifier();
            if (first == null) {
                return parts;
            }
            parts.add(first);
            while (peekOp(".") && i + 1 < tokens.size() && tokens.get(i + 1).isIdentifier()) {
                i++;
                parts.add(identifier());
            }
            return parts;
        }

        TableRef name() {
            List<String> parts = nameParts();
            return parts.isEmpty() ? null : ref(parts);
        }

        int matchingParen() {
            return closingParen(tokens, i);
        }

        void skipParens() {
            if (peekOp("(")) {
                int close = matchingParen();
                i = close < 0 ? tokens.size() : close + 1;
            }
        }

        /** {@code ( a, b, c )}: the identifiers, consumed. */
        List<String> identifierList() {
            int close = matchingParen();
            List<String> out = new java.util.ArrayList<>();
            for (int k = i + 1; k < (close < 0 ? tokens.size() : close); k++) {
                if (tokens.get(k).isIdentifier()) {
                    out.add(tokens.get(k).value());
                }
            }
            i = close < 0 ? tokens.size() : close + 1;
            return out;
        }

        /** Index of the first top-level (depth 0 from here) occurrence of the word, or -1. */
        int indexOfWord(String w) {
            int depth = 0;
            for (int k = i; k < tokens.size(); k++) {
                Token t = tokens.get(k);
                if (t.isOp("(")) {
                    depth++;
                } else if (t.isOp(")")) {
                    depth--;
                } else if (depth == 0 && t.isWord(w) && (k == 0 || !tokens.get(k - 1).isOp("."))) {
                    return k; // (not a field's name: (x).when, a151 F7)
                }
            }
            return -1;
        }
    }
}
