package dev.warden.sql;

import dev.warden.sql.Lexer.Token;
import dev.warden.sql.Lexer.Type;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Finds the SQL that code runs: the static statements of a PL/pgSQL body (a DO block or a function), the
 * constant strings it hands to {@code EXECUTE}, and whether it also executes SQL computed at run time, which
 * no reading of the text can know. A body in another procedural language (plpython, plperl ...) can run
 * anything, so it counts as dynamic.
 *
 * <p>Over-approximates on purpose: a SQL command word at the start of a PL/pgSQL statement (after {@code ;},
 * {@code BEGIN}, {@code THEN}, {@code ELSE}, {@code LOOP}, a label, {@code IN} of a FOR loop,
 * {@code RETURN QUERY}) starts a statement that runs up to the next top-level semicolon. PL/pgSQL reads its
 * strings under the session's {@code standard_conforming_strings}, so both readings are taken.
 */
final class RoutineBodies {

    /**
     * Statement texts found in a body, whether it also runs SQL built at run time, the functions its
     * expressions call ({@code RETURN f()}, {@code x := f()}, {@code IF f() THEN}), and what they call without
     * naming a function ({@code op:}, {@code cast:} ... keys, see {@code LexicalAnalysis.implicitCalls}): an operator
     * in an IF condition runs its function as one in a statement does. {@code locals}: the folded names that hold one
     * value for the whole of each statement (see {@link #locals}).
     */
    record Found(List<String> statements, boolean dynamic, java.util.Set<String> functions,
                 java.util.Set<String> implicitCalls, java.util.Set<String> locals) {
        Found(List<String> statements, boolean dynamic) {
            this(statements, dynamic, java.util.Set.of(), java.util.Set.of(), java.util.Set.of());
        }

        /** These statements with {@code more} names that hold one value for each (a routine's parameters). */
        Found withLocals(java.util.Set<String> more) {
            java.util.Set<String> all = new java.util.HashSet<>(locals);
            all.addAll(more);
            return new Found(statements, dynamic, functions, implicitCalls, all);
        }
    }

    /** What a trigger function, any PL/pgSQL body and a rule's action may name that is one value per statement. */
    static final java.util.Set<String> BUILT_IN_LOCALS = java.util.Set.of("new", "old", "found", "tg_op", "tg_name",
            "tg_when", "tg_level", "tg_relid", "tg_relname", "tg_table_name", "tg_table_schema", "tg_nargs",
            "tg_argv", "tg_event", "tg_tag", "sqlstate", "sqlerrm");

    /** PL/pgSQL's own punctuation, which the lexer reads as operators: no operator of the server. */
    private static final Set<String> PLPGSQL_PUNCTUATION = Set.of("op::=", "op:..");

    /** Beyond this many statements, or this much text, a body is not followed further: it counts as dynamic. */
    private static final int MAX_STATEMENTS = 2000;
    private static final int MAX_TEXT = 4 << 20;

    /** Words that start an SQL statement inside PL/pgSQL (PERFORM reads as SELECT). */
    private static final Set<String> SQL_STARTS = Set.of("select", "insert", "update", "delete", "merge", "with",
            "values", "table", "drop", "truncate", "create", "alter", "grant", "revoke", "comment", "copy", "lock",
            "vacuum", "analyze", "analyse", "cluster", "reindex", "refresh", "reassign", "security", "import",
            "call", "do", "set", "reset", "notify", "listen", "unlisten", "discard", "checkpoint", "load",
            "perform", "prepare", "deallocate", "declare", "fetch", "move", "close", "explain");

    /** Tokens after which a new PL/pgSQL statement may begin. */
    private static final Set<String> STATEMENT_BOUNDARY_WORDS = Set.of("begin", "then", "else", "loop", "in",
            "query", "exception", "declare");

    private static final Set<String> PLPGSQL = Set.of("plpgsql");

    private RoutineBodies() {}

    /** The SQL a routine body of {@code language} runs; {@code sql} bodies are themselves the statements. */
    static Found of(String language, String body) {
        String lang = language == null ? "plpgsql" : language.toLowerCase(Locale.ROOT);
        if (lang.equals("sql")) {
            return new Found(List.of(body), false);
        }
        if (lang.equals("internal") || lang.equals("c")) {
            return new Found(List.of(), false);
        }
        if (!PLPGSQL.contains(lang)) {
            return new Found(List.of(), true);
        }
        java.util.LinkedHashSet<String> statements = new java.util.LinkedHashSet<>();
        java.util.Set<String> functions = new java.util.LinkedHashSet<>();
        java.util.Set<String> implicit = new java.util.LinkedHashSet<>();
        java.util.Set<String> locals = new java.util.HashSet<>(BUILT_IN_LOCALS);
        boolean dynamic = false;
        for (boolean scs : new boolean[] {true, false}) {
            Found f = plpgsql(body, scs);
            statements.addAll(f.statements());
            functions.addAll(f.functions());
            implicit.addAll(f.implicitCalls());
            locals.addAll(f.locals());
            dynamic |= f.dynamic();
        }
        implicit.removeAll(PLPGSQL_PUNCTUATION);
        return new Found(new ArrayList<>(statements), dynamic, functions, implicit, locals);
    }

    private static Found plpgsql(String body, boolean scs) {
        Lexer.Result lexed = Lexer.tokenize(body, scs);
        List<Token> tokens = lexed.tokens();
        List<String> out = new ArrayList<>();
        boolean dynamic = lexed.unterminated();
        java.util.Set<String> functions = new java.util.LinkedHashSet<>();
        LexicalAnalysis.functionCalls(tokens, functions);
        java.util.Set<String> implicit = new java.util.LinkedHashSet<>();
        LexicalAnalysis.implicitCalls(tokens, implicit);
        java.util.Set<String> ownCursors = ownCursors(tokens);
        List<int[]> spans = new ArrayList<>();
        long found = 0;
        for (int i = 0; i < tokens.size(); i++) {
            if (out.size() > MAX_STATEMENTS || found > MAX_TEXT) {
                dynamic = true;
                break;
            }
            Token t = tokens.get(i);
            if (t.type() != Type.WORD) {
                continue;
            }
            Token prev = i > 0 ? tokens.get(i - 1) : null;
            if (t.value().equals("execute") && !isGrantedPrivilege(tokens, i)) {
                Token arg = i + 1 < tokens.size() ? tokens.get(i + 1) : null;
                Token after = i + 2 < tokens.size() ? tokens.get(i + 2) : null;
                boolean constant = arg != null && arg.type() == Type.STRING && (after == null || after.isOp(";")
                        || after.isWord("into") || after.isWord("using") || after.isWord("loop")
                        || after.isWord("strict"));
                char opening = constant ? body.charAt(arg.start()) : ' ';
                if (constant && (opening == 'u' || opening == 'U')) {
                    // U&'...' with its UESCAPE: what it denotes is left to the server; it could be anything.
                    dynamic = true;
                } else if (constant) {
                    out.add(arg.value());
                } else {
                    dynamic = true;
                }
                continue;
            }
            if (t.value().equals("close") && startsStatement(prev) && !out.contains("CLOSE ALL")) {
                // PL/pgSQL's CLOSE closes the portal its cursor variable's value names, which may be a cursor the
                // session declared (c refcursor := 'pcx'; CLOSE c; OPEN c FOR ...): an OPEN may then make another
                // under that name (an attacker's pass read e-mails so). An OPEN alone cannot: the server refuses a
                // name in use ("cursor ... already in use"), so only a CLOSE makes every name the body could reach
                // unknown. (A procedure's COMMIT or ROLLBACK ends the cursors not held, as any transaction end.)
                out.add("CLOSE ALL");
            }
            if (!SQL_STARTS.contains(t.value())
                    || !(startsStatement(prev) || opensCursorFor(tokens, i) || declaresCursorFor(tokens, i))
                    || declaresVariables(tokens, i)) {
                continue;
            }
            int end = statementEnd(tokens, i);
            found += tokens.get(end - 1).end() - t.start();
            String text = body.substring(t.start(), tokens.get(end - 1).end());
            if ((t.value().equals("fetch") || t.value().equals("move"))
                    && ownCursors.contains(cursorRead(tokens, i, end))) {
                // The rows of a cursor the body opens come from the query it opens, listed with the body's statements.
                // A FETCH listed reads a cursor named by a value (a refcursor argument): masking judges that.
                continue;
            }
            if (t.value().equals("perform")) {
                text = "SELECT " + body.substring(tokens.get(Math.min(i + 1, end - 1)).start(),
                        tokens.get(end - 1).end());
            }
            out.add(text);
            spans.add(new int[] {t.start(), tokens.get(end - 1).end()});
        }
        writingCalls(body, tokens, out);
        assignedExpressions(body, tokens, spans, out);
        declaredTypes(body, tokens, out);
        spans.sort(java.util.Comparator.comparingInt(span -> span[0]));
        expressionsWithFrom(body, tokens, spans, out);
        expressionReads(body, tokens, spans, out);
        return new Found(out, dynamic, functions, implicit, locals(tokens));
    }

    /**
     * The names a PL/pgSQL body declares, each one value for the whole of any statement that names it: the
     * variables of its DECLARE sections (a bound cursor's parameters too, which its query names), its FOR and FOREACH
     * loop variables, and
     * its blocks' and loops' labels (which qualify them). Over-approximates: a word taken for one that is a column
     * only makes a WHERE on it read as choosing every row or none (refused, never let through).
     */
    static java.util.Set<String> locals(List<Token> tokens) {
        java.util.Set<String> out = new java.util.HashSet<>();
        for (int i = 0; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (t.isOp("<<") && i + 2 < tokens.size() && tokens.get(i + 1).isIdentifier()
                    && tokens.get(i + 2).isOp(">>")) {
                out.add(tokens.get(i + 1).value()); // <<label>>
            } else if (t.isWord("declare")) {
                // Each declaration's first name, up to the block's BEGIN: after DECLARE and after each ; outside
                // parentheses (PL/pgSQL has no other DECLARE: c CURSOR FOR ... declares c).
                boolean first = true;
                int depth = 0;
                for (int k = i + 1; k < tokens.size(); k++) {
                    Token d = tokens.get(k);
                    if (depth == 0 && d.isWord("begin")) {
                        break;
                    }
                    if (d.isOp("(")) {
                        depth++;
                        if (k > 0 && tokens.get(k - 1).isWord("cursor")) {
                            first = true; // c CURSOR (k int) FOR ...: its query names k (a151 F1)
                        }
                        continue;
                    } else if (d.isOp(")")) {
                        depth = Math.max(0, depth - 1);
                    } else if (d.isOp(";") && depth == 0 || d.isOp(",") && depth == 1) {
                        first = true;
                        continue;
                    } else if (first && d.isIdentifier()) {
                        out.add(d.value());
                    }
                    first = false;
                }
            } else if ((t.isWord("for") || t.isWord("foreach")) && i + 1 < tokens.size()) {
                // FOR i IN, FOR r IN, FOR a, b IN query, FOREACH x [SLICE n] IN ARRAY: the names before IN
                List<String> names = new ArrayList<>();
                int k = i + 1;
                while (k < tokens.size() && tokens.get(k).isIdentifier() && !tokens.get(k).isWord("in")) {
                    names.add(tokens.get(k).value());
                    k++;
                    if (k < tokens.size() && tokens.get(k).isOp(",")) {
                        k++;
                    } else {
                        break;
                    }
                }
                if (k < tokens.size() && (tokens.get(k).isWord("in") || tokens.get(k).isWord("slice"))) {
                    out.addAll(names);
                }
            }
        }
        return out;
    }

    /**
     * The expression of each assignment ({@code NEW.v := (SELECT ...)}, {@code NEW.v = f(OLD.email)}, a
     * declaration's default) and of each {@code RETURN} of a value, as a statement of its own ({@code SELECT expr}):
     * PL/pgSQL evaluates it as one, and a trigger's may become the row being written, so what it reads (a subquery,
     * NEW or OLD) must be seen as read. Each one's place is added to {@code spans}.
     */
    private static void assignedExpressions(String body, List<Token> tokens, List<int[]> spans, List<String> out) {
        for (int k = 0; k < tokens.size(); k++) {
            Token t = tokens.get(k);
            int from = -1;
            if (t.isOp(":=")) {
                from = k + 1;
            } else if (t.isOp(":") && k + 1 < tokens.size() && tokens.get(k + 1).isOp("=")
                    && tokens.get(k + 1).start() == t.end()) {
                from = k + 2;
            } else if (t.isOp("=") && assignsAtStatementStart(tokens, k)) {
                from = k + 1;
            } else if (t.isWord("return") && k + 1 < tokens.size() && !tokens.get(k + 1).isOp(";")
                    && !tokens.get(k + 1).isWord("query") && !tokens.get(k + 1).isWord("next")
                    && !returnsTheRowAsIs(tokens, k + 1) && startsStatement(k > 0 ? tokens.get(k - 1) : null)) {
                from = k + 1;
            }
            if (from < 0 || from >= tokens.size()) {
                continue;
            }
            int end = statementEnd(tokens, from);
            if (end > from && end <= tokens.size()) {
                out.add("SELECT " + body.substring(tokens.get(from).start(), tokens.get(end - 1).end()));
                spans.add(new int[] {tokens.get(from).start(), tokens.get(end - 1).end()});
            }
        }
    }

    /** Words that begin a declaration that is no variable of a type: {@code ALIAS FOR}, a bound cursor. */
    private static final Set<String> NOT_A_TYPE = Set.of("alias", "cursor", "no", "scroll");

    /**
     * The type of each variable a block's DECLARE section declares, as a statement of its own ({@code SELECT
     * NULL::type}): PL/pgSQL stores the variable's first value (its default, or NULL) as that type, which runs a
     * domain's checks, or a cast into it, though no expression of the body names the type.
     */
    private static void declaredTypes(String body, List<Token> tokens, List<String> out) {
        for (int i = 0; i < tokens.size(); i++) {
            if (!declaresVariables(tokens, i)) {
                continue;
            }
            for (int k = i + 1; k < tokens.size() && !tokens.get(k).isWord("begin"); ) {
                int end = k;
                for (int depth = 0; end < tokens.size() && !(depth == 0 && tokens.get(end).isOp(";")); end++) {
                    depth += tokens.get(end).isOp("(") ? 1 : tokens.get(end).isOp(")") ? -1 : 0;
                }
                int type = k + 1 < end && tokens.get(k + 1).isWord("constant") ? k + 2 : k + 1;
                if (type < end && tokens.get(type).isIdentifier() && !(tokens.get(type).type() == Type.WORD
                        && NOT_A_TYPE.contains(tokens.get(type).value()))) {
                    int last = type;
                    while (last + 2 < end && tokens.get(last + 1).isOp(".") && tokens.get(last + 2).isIdentifier()) {
                        last += 2;
                    }
                    boolean ofColumn = last + 2 < end && tokens.get(last + 1).isOp("%")
                            && tokens.get(last + 2).isWord("type");
                    // (t.c%TYPE is kept whole: the analysis reads it as the type of column c of t.)
                    out.add("SELECT NULL::" + body.substring(tokens.get(type).start(),
                            tokens.get(ofColumn ? last + 2 : last).end()));
                }
                k = end + 1;
            }
        }
    }

    /** Where a PL/pgSQL expression begins: after one of these, at its own level. */
    private static final Set<String> EXPRESSION_STARTS = Set.of("using", "next", "array", "when", "if", "elsif",
            "while", "assert", "then", "else", "loop", "begin", "in", "return", "case", "exit", "continue", "into",
            "query", "strict", "by", "slice", "default");

    /** Where it ends: before one of these, at its own level (RAISE's and USING's lists split at commas). */
    private static final Set<String> EXPRESSION_ENDS = Set.of("loop", "then", "using", "into", "by");

    /**
     * Every expression outside the statements already listed that has a FROM clause of its own, as a statement
     * ({@code SELECT expr FROM ...}): PL/pgSQL runs each expression as a SELECT, FROM, WHERE and all, wherever it
     * stands (RAISE's arguments and USING options, ASSERT's message, RETURN NEXT, FOREACH's array, IF, WHILE,
     * EXECUTE's USING values ...), so {@code RAISE NOTICE '%', email FROM people} reads people. The expression runs
     * from the nearest comma, semicolon, {@code =}, {@code ..} or PL/pgSQL word before the FROM, outside
     * parentheses and CASE, to the nearest such one after it; a FROM inside parentheses belongs to a subquery (read
     * on its own) or to a function's syntax ({@code extract(f FROM x)}), and {@code IS DISTINCT FROM} is an operator.
     */
    private static void expressionsWithFrom(String body, List<Token> tokens, List<int[]> spans, List<String> out) {
        int[] depth = new int[tokens.size()];
        int d = 0;
        for (int k = 0; k < tokens.size(); k++) {
            if (tokens.get(k).isOp(")") || tokens.get(k).isOp("]")) {
                d = Math.max(0, d - 1);
            }
            depth[k] = d;
            if (tokens.get(k).isOp("(") || tokens.get(k).isOp("[")) {
                d++;
            }
        }
        int span = 0;
        int listedTo = 0; // the end of the last expression listed: each scan stops where the one before ended
        for (int k = 0; k < tokens.size(); k++) {
            Token t = tokens.get(k);
            while (span < spans.size() && spans.get(span)[1] <= t.start()) {
                span++;
            }
            if (!t.isWord("from") || k < listedTo || depth[k] > 0 || (span < spans.size() && spans.get(span)[0] <= t.start())
                    || (k > 0 && tokens.get(k - 1).isWord("distinct"))) {
                continue; // within parentheses a FROM is a subquery's (read on its own) or a function's syntax
            }
            int from = k;
            int cases = 0;
            while (from > 0) {
                Token p = tokens.get(from - 1);
                if (depth[from - 1] == 0) {
                    if (p.isWord("end")) {
                        cases++;
                    } else if (p.isWord("case") && cases > 0) {
                        cases--;
                        from--;
                        continue;
                    }
                    if (cases == 0 && expressionStart(p)) {
                        break;
                    }
                }
                from--;
            }
            int end = k + 1;
            cases = 0;
            while (end < tokens.size()) {
                Token n = tokens.get(end);
                if (depth[end] == 0) {
                    if (n.isWord("case")) {
                        cases++;
                    } else if (n.isWord("end") && cases > 0) {
                        cases--;
                    } else if (cases == 0 && (n.isOp(";") || n.isOp(",") || n.isOp("..")
                            || (n.type() == Type.WORD && EXPRESSION_ENDS.contains(n.value())))) {
                        break;
                    }
                }
                end++;
            }
            if (from < k) {
                out.add("SELECT " + body.substring(tokens.get(from).start(), tokens.get(end - 1).end()));
            }
            listedTo = end;
        }
    }

    private static boolean expressionStart(Token t) {
        if (t.type() == Type.OPERATOR) {
            return t.value().equals(";") || t.value().equals(",") || t.value().equals("=") || t.value().equals(":=")
                    || t.value().equals("..") || t.value().endsWith(">>");
        }
        return t.type() == Type.WORD && EXPRESSION_STARTS.contains(t.value());
    }

    /** {@code RETURN NEW}, {@code OLD} or {@code NULL}: a trigger's row as it was written, or none; nothing computed. */
    private static boolean returnsTheRowAsIs(List<Token> tokens, int k) {
        Token t = tokens.get(k);
        return (t.isWord("new") || t.isWord("old") || t.isWord("null"))
                && (k + 1 == tokens.size() || tokens.get(k + 1).isOp(";") || tokens.get(k + 1).isWord("end"));
    }

    /** Whether the {@code =} at {@code k} follows only a target ({@code NEW.v}, {@code r.a[1]}) that starts a statement. */
    private static boolean assignsAtStatementStart(List<Token> tokens, int k) {
        int j = k - 1;
        boolean target = false;
        while (j >= 0) {
            Token t = tokens.get(j);
            if (t.isIdentifier()) {
                target = true;
            } else if (t.isOp("]")) {
                while (j > 0 && !tokens.get(j).isOp("[")) {
                    j--;
                }
            } else if (!t.isOp(".")) {
                break;
            }
            j--;
        }
        return target && startsStatement(j >= 0 ? tokens.get(j) : null);
    }

    /**
     * Each call of a built-in that changes something when called ({@link FactsBuilder#WRITING_FUNCTIONS}: set_config,
     * the large-object writers, nextval, pg_notify, advisory locks ...), as a statement of its own ({@code SELECT
     * set_config('role', 'x', false)}): PL/pgSQL evaluates every expression as a SELECT (an IF or WHILE condition,
     * ASSERT, RAISE's arguments, a FOR loop's bounds, a DEFAULT, CASE, EXIT WHEN ...), so the call does there what
     * it does in a statement, and the analysis of that statement says what (a role change, a write, which sequence).
     * The text of an expression is not needed: the call is found wherever it stands. A call inside a statement is
     * listed twice, which changes nothing. Attribute notation ({@code (x).lo_unlink}) is such a call too. So are the
     * built-ins that run SQL given as text ({@link SqlInStrings}: {@code IF query_to_xml('SELECT ...', ...) ...}).
     */
    private static void writingCalls(String body, List<Token> tokens, List<String> out) {
        for (int i = 0; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (!t.isIdentifier() || !(FactsBuilder.WRITING_FUNCTIONS.contains(t.value())
                    || SqlInStrings.runsSql(t.value()))) {
                continue;
            }
            if (i + 1 < tokens.size() && tokens.get(i + 1).isOp("(")) {
                int close = LexicalAnalysis.closingParen(tokens, i + 1);
                int end = close < 0 ? body.length() : tokens.get(close).end();
                out.add("SELECT " + body.substring(t.start(), end));
            } else if (i >= 2 && tokens.get(i - 1).isOp(".") && tokens.get(i - 2).isOp(")")) {
                // (x).f is f(x): the argument is whatever the parentheses hold, read as the statement's own.
                out.add("SELECT pg_catalog." + t.value() + "(NULL)");
            }
        }
    }

    /**
     * What the body's expressions outside its statements read: PL/pgSQL runs each expression ({@code RETURN},
     * {@code x := ...}, {@code IF}, {@code RAISE}'s arguments, {@code EXECUTE ... USING}) as a SELECT of its own. A
     * subquery in one reads its tables, and a trigger's {@code NEW} or {@code OLD} there hands the written row on
     * (to a variable, a message, a dynamic statement's parameter). Each becomes a statement: the subquery as
     * written, a row reference as {@code SELECT new.col} ({@code SELECT new} for the whole row). {@code RETURN NEW}
     * only hands the row back to the write itself.
     */
    private static void expressionReads(String body, List<Token> tokens, List<int[]> spans, List<String> out) {
        int span = 0;
        for (int i = 0; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            while (span < spans.size() && spans.get(span)[1] <= t.start()) {
                span++;
            }
            if (span < spans.size() && spans.get(span)[0] <= t.start()) {
                continue; // inside a statement already listed
            }
            Token next = i + 1 < tokens.size() ? tokens.get(i + 1) : null;
            if (t.isOp("(") && next != null && (next.isWord("select") || next.isWord("with")
                    || next.isWord("values") || next.isWord("table"))) {
                int close = LexicalAnalysis.closingParen(tokens, i);
                out.add(body.substring(next.start(), close < 0 ? body.length() : tokens.get(close - 1).end()));
                continue;
            }
            Token prev = i > 0 ? tokens.get(i - 1) : null;
            if (prev != null && prev.isWord("return") && (next == null || next.isOp(";"))) {
                continue;
            }
            TextReferences.rowOfWrite(tokens, i).ifPresent(column -> out.add(column.equals("*") ? "SELECT new"
                    : "SELECT new.\"" + column.replace("\"", "\"\"") + "\""));
        }
    }

    /**
     * The cursor variables a body opens itself: {@code OPEN c ...}, and those bound to a query where they are
     * declared ({@code c [NO] [SCROLL] CURSOR ...}). A variable holding an argument's cursor is neither.
     */
    private static java.util.Set<String> ownCursors(List<Token> tokens) {
        java.util.Set<String> own = new java.util.HashSet<>();
        for (int k = 0; k < tokens.size(); k++) {
            Token t = tokens.get(k);
            if (t.isWord("open") && k + 1 < tokens.size() && tokens.get(k + 1).isIdentifier()) {
                int last = k + 1; // OPEN block.c: the variable is the name's last part
                while (last + 2 < tokens.size() && tokens.get(last + 1).isOp(".")
                        && tokens.get(last + 2).isIdentifier()) {
                    last += 2;
                }
                own.add(tokens.get(last).value());
            } else if (t.isWord("cursor")) {
                int j = k - 1;
                while (j >= 0 && (tokens.get(j).isWord("scroll") || tokens.get(j).isWord("no"))) {
                    j--;
                }
                if (j >= 0 && tokens.get(j).isIdentifier()) {
                    own.add(tokens.get(j).value());
                }
            }
        }
        return own;
    }

    /**
     * The cursor a PL/pgSQL {@code FETCH} or {@code MOVE} from {@code from} to {@code end} reads: the last name
     * before {@code INTO}, or before the end ({@code FETCH NEXT FROM c INTO v}, {@code MOVE LAST IN c}); null if none.
     */
    private static String cursorRead(List<Token> tokens, int from, int end) {
        String name = null;
        for (int k = from + 1; k < end && !tokens.get(k).isWord("into"); k++) {
            if (tokens.get(k).isIdentifier()) {
                name = tokens.get(k).value();
            }
        }
        return name;
    }

    /**
     * {@code OPEN c [NO] [SCROLL] FOR <statement>}: a cursor over any statement with RETURNING. The variable may be
     * named by its block's label ({@code OPEN blk.c}) or be a parameter ({@code OPEN $1}): an attacker's pass (a120)
     * ran {@code OPEN c.c FOR DELETE FROM orders RETURNING id} in a function a view called, unseen.
     */
    private static boolean opensCursorFor(List<Token> tokens, int i) {
        int k = i - 1;
        if (k < 0 || !tokens.get(k).isWord("for")) {
            return false;
        }
        k--;
        while (k >= 0 && (tokens.get(k).isWord("scroll") || tokens.get(k).isWord("no"))) {
            k--;
        }
        if (k >= 0 && tokens.get(k).type() == Type.PARAM) {
            k--;
        } else if (k >= 0 && tokens.get(k).isIdentifier()) {
            while (k >= 2 && tokens.get(k - 1).isOp(".") && tokens.get(k - 2).isIdentifier()) {
                k -= 2;
            }
            k--;
        } else {
            return false;
        }
        return k >= 0 && tokens.get(k).isWord("open");
    }

    /** {@code c [NO] [SCROLL] CURSOR [(args)] FOR|IS <query>}: a bound cursor's query, declared. */
    private static boolean declaresCursorFor(List<Token> tokens, int i) {
        if (i < 2 || !(tokens.get(i - 1).isWord("for") || tokens.get(i - 1).isWord("is"))) {
            return false;
        }
        int k = i - 2;
        if (tokens.get(k).isOp(")")) {
            int depth = 0;
            for (; k >= 0; k--) {
                if (tokens.get(k).isOp(")")) {
                    depth++;
                } else if (tokens.get(k).isOp("(") && --depth == 0) {
                    break;
                }
            }
            k--;
        }
        return k >= 0 && tokens.get(k).isWord("cursor");
    }

    /**
     * A PL/pgSQL block's DECLARE section ({@code DECLARE v text DEFAULT ...}), not SQL's DECLARE of a cursor
     * ({@code DECLARE c [BINARY] [NO] SCROLL CURSOR ...}, which PL/pgSQL reads as the declaration of a bound cursor
     * and which is listed as one): its expressions are read one by one.
     */
    private static boolean declaresVariables(List<Token> tokens, int i) {
        if (!tokens.get(i).isWord("declare")) {
            return false;
        }
        Token after = i + 2 < tokens.size() ? tokens.get(i + 2) : null;
        return after != null && !(after.isWord("cursor") || after.isWord("binary") || after.isWord("insensitive")
                || after.isWord("asensitive") || after.isWord("no") || after.isWord("scroll"));
    }

    private static boolean startsStatement(Token prev) {
        if (prev == null) {
            return true;
        }
        if (prev.type() == Type.OPERATOR) {
            return prev.value().equals(";") || prev.value().endsWith(">>");
        }
        return prev.type() == Type.WORD && STATEMENT_BOUNDARY_WORDS.contains(prev.value());
    }

    /** {@code GRANT EXECUTE ON FUNCTION ...}: the privilege, not the PL/pgSQL statement. */
    private static boolean isGrantedPrivilege(List<Token> tokens, int i) {
        Token next = i + 1 < tokens.size() ? tokens.get(i + 1) : null;
        Token prev = i > 0 ? tokens.get(i - 1) : null;
        return (next != null && next.isWord("on")) || (prev != null && (prev.isWord("grant")
                || prev.isWord("revoke") || prev.isOp(",")));
    }

    /** Index just past the statement starting at {@code from}: the next top-level {@code ;} or LOOP. */
    private static int statementEnd(List<Token> tokens, int from) {
        int depth = 0;
        // LOOP ends only the query of FOR ... IN query LOOP (PL/pgSQL reads it up to that word); elsewhere it is a
        // name to SQL: an attacker's pass (a120) hid WITH loop AS (...) UPDATE orders ... behind a lone WITH.
        boolean loopEnds = from > 0 && tokens.get(from - 1).isWord("in");
        for (int k = from; k < tokens.size(); k++) {
            Token t = tokens.get(k);
            if (t.isOp("(") || t.isOp("[")) {
                depth++;
            } else if (t.isOp(")") || t.isOp("]")) {
                depth = Math.max(0, depth - 1);
            } else if (depth == 0 && (t.isOp(";") || (loopEnds && k > from && t.isWord("loop")))) {
                return Math.max(k, from + 1);
            } else if (depth == 0 && k > from && t.type() == Type.WORD && SQL_STARTS.contains(t.value())
                    && startsStatement(tokens.get(k - 1)) && !tokens.get(k - 1).isWord("in")) {
                return k; // a statement never holds another at its own level: keeps the scan linear
            }
        }
        return tokens.size();
    }
}
