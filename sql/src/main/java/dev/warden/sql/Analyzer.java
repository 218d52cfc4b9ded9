package dev.warden.sql;

import dev.warden.sql.GuardedParser.Outcome;
import dev.warden.sql.GuardedParser.Parsed;
import dev.warden.sql.GuardedParser.TimedOut;
import dev.warden.sql.Lexer.Token;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * Analyses SQL texts into {@link StatementFacts}, one per statement. Thread-safe; meant to be shared by all
 * sessions. Never throws: what it cannot understand comes back {@code unparsed}.
 */
public final class Analyzer {

    /** Statements longer than this skip JSqlParser (its cost grows with length) and get lexer facts only. */
    static final int DEFAULT_MAX_PARSED_LENGTH = 64 * 1024;
    /** Longer texts are never analysed by {@link #analyzeCached} (on an event loop), only by {@link #analyze}. */
    static final int MAX_EVENT_LOOP_TEXT = 16 * 1024;
    /**
     * Parser time one text (a Query with many statements, a routine body with its EXECUTEs) may use in all;
     * past it, its remaining statements are read by the lexer only and count as not understood. Bounds a text
     * of 40 statements at about one statement's limit rather than forty times.
     */
    static final Duration DEFAULT_PARSE_BUDGET_PER_TEXT = Duration.ofMillis(250);

    static final Duration DEFAULT_PARSE_TIMEOUT = Duration.ofMillis(200);

    private final ShapeCache cache;
    private final int maxParsedLength;
    private final long parseBudgetPerTextNanos;
    private final GuardedParser parser;
    private final LongAdder parserRuns = new LongAdder();

    /**
     * @param cacheEntries how many statement shapes to remember; 0 disables the cache (every statement is
     *     parsed), which benchmarks use to measure the cold cost
     */
    public Analyzer(int cacheEntries) {
        this(cacheEntries, DEFAULT_PARSE_TIMEOUT);
    }

    Analyzer(int cacheEntries, Duration parseTimeout) {
        this(cacheEntries, parseTimeout, DEFAULT_MAX_PARSED_LENGTH);
    }

    /**
     * @param parseTimeout CPU time one statement may cost JSqlParser before it counts as not understood
     * @param maxParsedLength statements longer than this (in characters, literals and comments normalised
     *     away) get lexer facts only
     */
    public Analyzer(int cacheEntries, Duration parseTimeout, int maxParsedLength) {
        if (cacheEntries < 0) {
            throw new IllegalArgumentException("cacheEntries must be >= 0, got " + cacheEntries);
        }
        if (maxParsedLength < 1 || parseTimeout.isNegative() || parseTimeout.isZero()) {
            throw new IllegalArgumentException("maxParsedLength and parseTimeout must be positive");
        }
        this.maxParsedLength = maxParsedLength;
        this.cache = cacheEntries == 0 ? null : new ShapeCache(cacheEntries);
        this.parser = new GuardedParser(parseTimeout.toNanos());
        this.parseBudgetPerTextNanos = Math.max(parseTimeout.toNanos(), DEFAULT_PARSE_BUDGET_PER_TEXT.toNanos());
    }

    /** Parser time left to one text; CPU time of the analysing thread where the JVM measures it. */
    private static final class TextBudget {
        private static final java.lang.management.ThreadMXBean THREADS =
                java.lang.management.ManagementFactory.getThreadMXBean();
        private static final boolean CPU = cpuTime();
        private long remainingNanos;

        TextBudget(long nanos) {
            this.remainingNanos = nanos;
        }

        boolean spent() {
            return remainingNanos <= 0;
        }

        long now() {
            return CPU ? THREADS.getCurrentThreadCpuTime() : System.nanoTime();
        }

        void charge(long started) {
            remainingNanos -= Math.max(0, now() - started);
        }

        private static boolean cpuTime() {
            try {
                return THREADS.isCurrentThreadCpuTimeSupported() && THREADS.isThreadCpuTimeEnabled();
            } catch (UnsupportedOperationException e) {
                return false;
            }
        }
    }

    /**
     * What the server's scanner would take time growing with the square of, in {@code sql}: how deep its block
     * comments nest ({@code /* /* *}{@code / *}{@code /} is 2) and its longest run of operator characters, read as
     * the scanner reads them (in strings and quoted names they count for nothing).
     */
    public record ScannerLoad(int commentDepth, int operatorRun) {
    }

    /** See {@link ScannerLoad}. */
    public static ScannerLoad scannerLoad(String sql, boolean standardConformingStrings) {
        int[] load = Lexer.load(sql, standardConformingStrings);
        return new ScannerLoad(load[0], load[1]);
    }

    /** Splits {@code sql} into statements and analyses each, under {@code standard_conforming_strings = on}. */
    public Analysis analyze(String sql) {
        return analyze(sql, true);
    }

    /**
     * Splits {@code sql} into statements and analyses each, lexing it as a server with this setting of
     * {@code standard_conforming_strings} would.
     */
    public Analysis analyze(String sql, boolean standardConformingStrings) {
        String source = sql == null ? "" : sql;
        ParenMatches.entered();
        try {
            List<StatementFacts> statements = new ArrayList<>();
            statements.addAll(statements(source, standardConformingStrings, 0, true));
            if (statements.isEmpty()) {
                FactsBuilder empty = new FactsBuilder(StatementKind.EMPTY);
                statements.add(empty.build("", Shape.fingerprint(List.of())));
            }
            return new Analysis(statements);
        } catch (RuntimeException | StackOverflowError | OutOfMemoryError e) {
            // A bug here must not open a hole: one statement nobody understood, that could do anything (so the
            // baseline's dynamic-sql refuses it wherever the baseline is on, production or not).
            FactsBuilder unknown = new FactsBuilder(StatementKind.OTHER);
            unknown.unparsed = true;
            unknown.dynamicSql = true;
            unknown.writes = true;
            return new Analysis(List.of(unknown.build(source.strip(), Shape.fingerprint(List.of()))));
        } finally {
            ParenMatches.left();
        }
    }

    /** Deeper than this, SQL inside SQL (EXECUTE of a string in a DO block in ...) counts as unknown. */
    private static final int MAX_NESTING = 4;

    /**
     * Like {@link #analyze(String, boolean)}, but only from what is already known: returns null when some
     * statement would need a (cold) JSqlParser run, so the caller can run {@link #analyze} elsewhere. The
     * proxy calls this on its event loop and sends cold texts to a worker pool.
     */
    public Analysis analyzeCached(String sql, boolean standardConformingStrings) {
        String source = sql == null ? "" : sql;
        if (source.length() > MAX_EVENT_LOOP_TEXT) {
            // Even lexing a text this long costs an event loop milliseconds that every other session waits for.
            return null;
        }
        try {
            List<StatementFacts> statements = statements(source, standardConformingStrings, 0, false);
            if (statements.isEmpty()) {
                FactsBuilder empty = new FactsBuilder(StatementKind.EMPTY);
                statements.add(empty.build("", Shape.fingerprint(List.of())));
            }
            return new Analysis(statements);
        } catch (ColdParse e) {
            return null;
        } catch (RuntimeException | StackOverflowError e) {
            return analyze(sql, standardConformingStrings);
        }
    }

    /** Thrown through an analysis that may not run JSqlParser; carries no stack. */
    private static final class ColdParse extends RuntimeException {
        static final ColdParse INSTANCE = new ColdParse();

        private ColdParse() {
            super(null, null, false, false);
        }
    }

    private List<StatementFacts> statements(String source, boolean scs, int depth, boolean parse) {
        return statements(source, scs, depth, parse, new TextBudget(parseBudgetPerTextNanos));
    }

    private List<StatementFacts> statements(String source, boolean scs, int depth, boolean parse,
                                            TextBudget budget) {
        List<StatementFacts> statements = new ArrayList<>();
        Lexer.Result lexed = Lexer.tokenize(source, scs);
        for (SqlSplitter.Segment segment : SqlSplitter.split(source, lexed)) {
            if (segment.tokens().isEmpty() && !segment.unterminated()) {
                continue;
            }
            Run run = new Run(source, parse, budget);
            StatementFacts facts = run.statement(segment.text(), Shape.onlyUnwrapped(segment.tokens()),
                    segment.unterminated());
            if (depth > 0 && facts.implicitCalls().stream().anyMatch(k -> k.startsWith("typeof:"))) {
                // Run from a body or a DO block, whose parameters and variables have types its text does not name.
                facts = facts.withImplicitCalls(java.util.Set.of(LexicalAnalysis.TYPEOF_ANY));
            }
            List<StatementFacts> nested = new ArrayList<>();
            boolean dynamic = false;
            List<String> texts = new ArrayList<>();
            for (List<Token> piece : segment.possibleStatements()) {
                // Each piece as a statement of its own, with all that implies (a DO piece runs its body).
                texts.add(source.substring(piece.get(0).start(), piece.get(piece.size() - 1).end()));
            }
            // The pieces of a BEGIN ATOMIC body name the routine's parameters; a body's statements its variables too.
            int pieces = texts.size();
            java.util.Set<String> pieceLocals = pieces == 0 ? java.util.Set.of()
                    : LexicalAnalysis.routineLocals(segment.tokens());
            RoutineBodies.Found found = LexicalAnalysis.runsWithin(source, segment.tokens());
            int bodyEnd = pieces;
            if (found != null) {
                dynamic = found.dynamic();
                texts.addAll(found.statements());
                bodyEnd = texts.size();
                if (found.functions().stream().anyMatch(LexicalAnalysis::fillsItsFirstArgument)) {
                    // x := jsonb_populate_record(v, ...) in PL/pgSQL: a variable of any type (see TYPEOF_ANY)
                    facts = facts.withImplicitCalls(java.util.Set.of(LexicalAnalysis.TYPEOF_ANY));
                }
                // IF 0::oid OPERATOR(pg_temp.###) 'x'::bytea > 0 in a DO block: what its operators and casts run.
                facts = facts.withImplicitCalls(found.implicitCalls());
            }
            SqlInStrings.Found strings = SqlInStrings.in(segment.tokens());
            if (strings != null) {
                // query_to_xml('SELECT ...'), ts_stat, ts_rewrite: the text runs as a statement of its own.
                dynamic |= strings.dynamic();
                texts.addAll(strings.statements());
            }
            if (!parse && !texts.isEmpty()) {
                throw ColdParse.INSTANCE; // bodies are analysed on the worker pool, never on an event loop
            }
            for (int t = 0; t < texts.size(); t++) {
                String text = texts.get(t);
                if (depth >= MAX_NESTING) {
                    dynamic = true;
                    break;
                }
                java.util.Set<String> locals = t < pieces ? pieceLocals
                        : t < bodyEnd ? found.locals() : java.util.Set.of();
                nested.addAll(withLocals(statements(text, scs, depth + 1, parse, budget), locals, scs));
                if (dependsOnStringSetting(text)) {
                    // Run later (a body, an EXECUTE), it is read under the setting of that moment: take both.
                    nested.addAll(withLocals(statements(text, !scs, depth + 1, parse, budget), locals, !scs));
                }
            }
            if (facts.unparsed() && facts.kind() == StatementKind.CREATE && found != null && !found.dynamic()
                    && LexicalAnalysis.ruleUnderstood(segment.tokens(), nested)) {
                facts = facts.withUnparsed(false);
            }
            // A statement of a body or a block that Warden could not read, whose words name a write while its
            // reading found none (an attacker's pass, a120: OPEN c.c FOR DELETE ... was listed as an unparsed
            // SELECT): what it writes is not known, so it counts as SQL Warden cannot follow.
            boolean unreadWrite = depth > 0 && facts.unparsed() && !facts.writes() && namesAWrite(segment.tokens());
            statements.add(facts.withNested(nested, unreadWrite, dynamic || unreadWrite));
        }
        return statements;
    }

    /**
     * {@code statements}, a body's, with the UPDATEs and DELETEs whose WHERE names only {@code locals} (its
     * variables, parameters, NEW and OLD) and constants as without WHERE (see {@link
     * LexicalAnalysis#constantWhere(List, java.util.Set)}).
     */
    private static List<StatementFacts> withLocals(List<StatementFacts> statements, java.util.Set<String> locals,
                                                   boolean scs) {
        if (locals.isEmpty()) {
            return statements;
        }
        List<StatementFacts> out = new ArrayList<>(statements.size());
        for (StatementFacts f : statements) {
            boolean changes = f.kind() == StatementKind.UPDATE || f.kind() == StatementKind.DELETE
                    || f.innerKinds().contains(StatementKind.UPDATE) || f.innerKinds().contains(StatementKind.DELETE);
            out.add(changes && f.hasWhere()
                    && LexicalAnalysis.constantWhere(Lexer.tokenize(f.text(), scs).tokens(), locals)
                    ? f.withoutWhere() : f);
        }
        return out;
    }

    /**
     * Whether {@code tokens} hold INSERT, UPDATE, DELETE, MERGE or TRUNCATE as a word, other than in a row lock
     * ({@code FOR [NO KEY] UPDATE}), a referential action ({@code ON DELETE}) or a qualified name's part.
     */
    static boolean namesAWrite(List<Token> tokens) {
        for (int i = 0; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (t.type() != Lexer.Type.WORD || !WRITE_WORDS.contains(t.value())) {
                continue;
            }
            Token before = i > 0 ? tokens.get(i - 1) : null;
            Token after = i + 1 < tokens.size() ? tokens.get(i + 1) : null;
            boolean lock = t.value().equals("update") && before != null && (before.isWord("for")
                    || before.isWord("key"));
            boolean action = (t.value().equals("update") || t.value().equals("delete")) && before != null
                    && before.isWord("on");
            boolean named = before != null && before.isOp(".") || after != null && after.isOp(".");
            if (!lock && !action && !named) {
                return true;
            }
        }
        return false;
    }

    private static final java.util.Set<String> WRITE_WORDS = java.util.Set.of("insert", "update", "delete", "merge",
            "truncate");

    /**
     * What a routine body runs when called, analysed like top-level statements: a {@code sql} body's
     * statements (language {@code sql-definition}: a whole {@code CREATE FUNCTION ... BEGIN ATOMIC} text, whose
     * body pieces are taken), the static SQL of a {@code plpgsql} body and the constant strings it EXECUTEs. {@code dynamic}
     * is set when the body also runs SQL computed at run time, or is written in a language Warden cannot read.
     */
    public RoutineAnalysis analyzeRoutineBody(String language, String body, boolean standardConformingStrings) {
        return analyzeRoutineBody(language, body, standardConformingStrings, java.util.Set.of());
    }

    /**
     * {@link #analyzeRoutineBody(String, String, boolean)} of a routine whose parameters are named {@code parameters}
     * (folded, with the routine's own name, which qualifies them): one value for each of its statements, as its
     * variables are.
     */
    public RoutineAnalysis analyzeRoutineBody(String language, String body, boolean standardConformingStrings,
                                              java.util.Set<String> parameters) {
        try {
            if ("sql-definition".equals(language)) {
                // A SQL-standard body, as pg_get_functiondef prints it: its BEGIN ATOMIC pieces are what runs.
                List<StatementFacts> pieces = new ArrayList<>();
                for (StatementFacts f : statements(body == null ? "" : body, standardConformingStrings, 1, true)) {
                    pieces.addAll(f.nested());
                }
                return new RoutineAnalysis(pieces, false, java.util.Set.of());
            }
            RoutineBodies.Found found = RoutineBodies.of(language, body == null ? "" : body).withLocals(parameters);
            List<StatementFacts> out = new ArrayList<>();
            for (String text : found.statements()) {
                // A body is parsed when it runs, under the setting of that moment: both readings count.
                out.addAll(withLocals(statements(text, standardConformingStrings, 1, true), found.locals(),
                        standardConformingStrings));
                if (dependsOnStringSetting(text)) {
                    out.addAll(withLocals(statements(text, !standardConformingStrings, 1, true), found.locals(),
                            !standardConformingStrings));
                }
            }
            java.util.Set<String> functions = new java.util.LinkedHashSet<>(found.functions());
            if (functions.stream().anyMatch(LexicalAnalysis::fillsItsFirstArgument)) {
                // RETURN jsonb_populate_record(v, ...): v a parameter or a variable of any type (see TYPEOF_ANY),
                // resolved through the catalog as the names of calls are.
                functions.add(LexicalAnalysis.TYPEOF_ANY);
            }
            // IF a OPERATOR(pg_temp.###) b THEN: the operators and casts of its expressions, resolved likewise.
            functions.addAll(found.implicitCalls());
            return new RoutineAnalysis(out, found.dynamic(), functions);
        } catch (RuntimeException | StackOverflowError | OutOfMemoryError e) {
            return new RoutineAnalysis(List.of(), true, java.util.Set.of());
        }
    }

    /**
     * The statements a routine body runs, whether it also runs SQL nobody can read before it runs, and the
     * functions its expressions call outside any statement (PL/pgSQL {@code RETURN f()}, {@code x := f()}), with
     * {@code typeof:*} when one of them fills a value of a variable's type (see {@code LexicalAnalysis.TYPEOF_ANY}).
     */
    public record RoutineAnalysis(List<StatementFacts> statements, boolean dynamic, java.util.Set<String> functions) {
        public RoutineAnalysis {
            statements = List.copyOf(statements);
            functions = java.util.Set.copyOf(functions);
        }
    }

    /**
     * What a call of built-in {@code function} does when no text shows its arguments (an aggregate's transition
     * function, an operator's or a cast's function): for one that changes something when called (set_config, the
     * large-object writers, nextval ...), the statements a direct call with arguments unknown gives ({@code SELECT
     * pg_catalog.set_config(NULL, NULL, NULL)}: a change of an unknown role; a write); for any other, none.
     */
    /**
     * Whether built-in {@code function} (unqualified, lower case) changes something when called: large objects,
     * sequences, settings, signals to other sessions, advisory locks, notifications, WAL and replication, statistics,
     * indexes, other servers (see {@code FactsBuilder.WRITING_FUNCTIONS}).
     */
    public static boolean changesSomething(String function) {
        return FactsBuilder.WRITING_FUNCTIONS.contains(function);
    }

    /**
     * Whether {@code statement} (one statement's text) is an EXPLAIN that runs the statement it explains (ANALYZE,
     * or options Warden cannot read); false for a plain EXPLAIN, which only plans it, and for anything else.
     */
    public static boolean explainRuns(String statement) {
        return statement != null && LexicalAnalysis.explainRuns(Lexer.tokenize(statement, true).tokens());
    }

    public List<StatementFacts> callWithUnknownArguments(String function) {
        if (SqlInStrings.runsSql(function)) {
            // An aggregate over ts_rewrite(tsquery, text), an operator of it: each value runs as a query.
            return analyze("SELECT pg_catalog." + function + "(NULL, NULL)").statements();
        }
        if (!FactsBuilder.WRITING_FUNCTIONS.contains(function)) {
            return List.of();
        }
        return analyze("SELECT pg_catalog." + function + "(NULL, NULL, NULL)").statements();
    }

    /**
     * {@code sql} with every literal value (strings of any quoting, numbers, bit strings) replaced by
     * {@code ?}, everything else (identifiers, comments, spacing) as written: for audit records that must not
     * keep the values a statement carried. A string left unterminated is redacted to the end. Never throws.
     */
    public String redactLiterals(String sql) {
        return redactLiterals(sql, true);
    }

    /** {@link #redactLiterals(String)} under the given {@code standard_conforming_strings}. */
    public String redactLiterals(String sql, boolean standardConformingStrings) {
        if (sql == null || sql.isEmpty()) {
            return "";
        }
        try {
            StringBuilder out = new StringBuilder(sql.length());
            int copied = 0;
            for (Token t : Lexer.tokenize(sql, standardConformingStrings).tokens()) {
                if (t.type() == Lexer.Type.STRING || t.type() == Lexer.Type.NUMBER) {
                    out.append(sql, copied, t.start()).append('?');
                    copied = t.end();
                }
            }
            return out.append(sql, copied, sql.length()).toString();
        } catch (RuntimeException | StackOverflowError e) {
            return "?";
        }
    }

    /**
     * Whether {@code sql} could read differently under the other setting of {@code standard_conforming_strings}
     * (a plain string holds a backslash). A text for which this is false splits and classifies the same under
     * both settings.
     */
    public static boolean dependsOnStringSetting(String sql) {
        return sql != null && Lexer.tokenize(sql, true).settingSensitive();
    }

    /**
     * Whether a call of {@code function} (as listed in {@code functions()}) may be the grammar's own word rather than a
     * call: {@code options}, {@code key}, {@code cube}, {@code if}... followed by {@code (}. A user function may have
     * such a name, and then it is called; with no function of that name it is syntax, which runs nothing.
     */
    public static boolean isSyntaxUnlessAFunction(String function) {
        return LexicalAnalysis.CALLABLE_SYNTAX_WORDS.contains(function);
    }

    /**
     * Whether {@code sql}, an EXPLAIN, runs the statement it explains (ANALYZE, in any spelling): its plan then
     * carries counts the rows decide. True too when its options cannot be read.
     */
    public static boolean explainRuns(String sql, boolean standardConformingStrings) {
        return sql != null && LexicalAnalysis.explainRuns(Lexer.tokenize(sql, standardConformingStrings).tokens());
    }

    /**
     * Whether {@code sql} acts {@code WHERE CURRENT OF} a cursor: the two words in a row, outside strings and quoted
     * names, with any comment between them (the server's scanner drops comments; a text match of
     * {@code current\s+of} missed a block comment in place of the space).
     */
    public static boolean actsAtCursorPosition(String sql, boolean standardConformingStrings) {
        if (sql == null) {
            return false;
        }
        List<Token> tokens = Lexer.tokenize(sql, standardConformingStrings).tokens();
        for (int i = 0; i + 1 < tokens.size(); i++) {
            if (tokens.get(i).isWord("current") && tokens.get(i + 1).isWord("of")) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether an unquoted name in {@code sql} holds a character outside ASCII. Warden folds such names as a
     * server with a multi-byte encoding does (ASCII letters only); a server whose encoding is single-byte folds
     * their upper-half letters too, by its locale, which Warden cannot know.
     */
    public static boolean hasNonAsciiName(String sql, boolean standardConformingStrings) {
        return sql != null && Lexer.hasNonAsciiName(Lexer.tokenize(sql, standardConformingStrings).tokens());
    }

    /**
     * Whether a name in {@code sql} (unquoted, quoted or {@code U&}) with a non-ASCII character may be cut to 63 bytes
     * by a server whose encoding is not UTF8 elsewhere than Warden cuts it (counting UTF-8 bytes): one longer than 63
     * bytes in UTF-8, or that could be at {@code serverCharBytes} a non-ASCII character. An ASCII name is the same
     * length in every server encoding.
     */
    public static boolean mayCutNamesUnlikeUtf8(String sql, boolean standardConformingStrings, int serverCharBytes) {
        return sql != null && Lexer.mayCutNamesUnlikeUtf8(sql, standardConformingStrings, serverCharBytes);
    }

    long cacheHits() {
        return cache == null ? 0 : cache.hits.sum();
    }

    long cachedTextChars() {
        return cache == null ? 0 : cache.textChars();
    }

    long cacheMisses() {
        return cache == null ? 0 : cache.misses.sum();
    }

    /** How many times JSqlParser was invoked. */
    long parserRuns() {
        return parserRuns.sum();
    }

    /** One analysis of one source text; nested statements are analysed against the same source. */
    private final class Run implements LexicalAnalysis.InnerStatements {
        private final String source;
        private final boolean parse;
        private final TextBudget budget;

        Run(String source, boolean parse, TextBudget budget) {
            this.source = source;
            this.parse = parse;
            this.budget = budget;
        }

        @Override
        public StatementFacts analyse(List<Token> tokens) {
            if (tokens.isEmpty()) {
                FactsBuilder b = new FactsBuilder(StatementKind.OTHER);
                b.unparsed = true;
                return b.build("", Shape.fingerprint(tokens));
            }
            String text = source.substring(tokens.get(0).start(), tokens.get(tokens.size() - 1).end());
            return statement(text, tokens, false);
        }

        StatementFacts statement(String text, List<Token> tokens, boolean unterminated) {
            if (tokens.isEmpty()) {
                FactsBuilder b = new FactsBuilder(StatementKind.OTHER);
                b.unparsed = true;
                return b.build(text, Shape.fingerprint(tokens));
            }
            if (unterminated || !LexicalAnalysis.usesParser(tokens)) {
                FactsBuilder b = LexicalAnalysis.analyse(tokens, this);
                b.unparsed |= unterminated;
                LexicalAnalysis.implicitCalls(tokens, b.implicitCalls);
                // CALL p(set_config('role', ...)), EXECUTE q(set_config(...)): the lexer's statements evaluate
                // expressions too.
                return withSequences(withSetConfigRole(b.build(text, Shape.fingerprint(tokens)), tokens), tokens);
            }
            return withSequences(withSetConfigRole(parsedStatement(text, tokens), tokens), tokens);
        }

        /**
         * The sequences a statement's nextval and setval calls change, read from its own tokens every time, as the
         * role of set_config is: the string literals that name them are not in the shape the cache is keyed by.
         */
        private static StatementFacts withSequences(StatementFacts facts, List<Token> tokens) {
            java.util.Set<TableRef> sequences = LexicalAnalysis.sequencesChanged(tokens);
            return sequences == null ? facts : facts.withSequencesChanged(sequences);
        }

        /**
         * The role a statement's set_config calls switch to, read from its own tokens every time: the setting
         * and the role are string literals, which the shape the cache is keyed by does not keep.
         */
        private static StatementFacts withSetConfigRole(StatementFacts facts, List<Token> tokens) {
            LexicalAnalysis.RoleBySetConfig role = LexicalAnalysis.roleBySetConfig(tokens);
            return role == null ? facts : facts.withRoleChange(role.kinds(), role.target());
        }

        /** A statement for JSqlParser, from the cache when its shape was read before. */
        private StatementFacts parsedStatement(String text, List<Token> tokens) {
            String shape = Shape.parserText(tokens);
            if (shape.length() > maxParsedLength) {
                FactsBuilder b = fallback(tokens);
                LexicalAnalysis.implicitCalls(tokens, b.implicitCalls);
                return b.build(text, Shape.fingerprint(tokens));
            }
            if (cache != null) {
                StatementFacts cached = cache.get(shape);
                if (cached != null) {
                    return cached.withText(text);
                }
            }
            if (!parse) {
                throw ColdParse.INSTANCE;
            }
            if (budget.spent()) {
                // The text has used its share of parser time: the rest is read by the lexer and counts as
                // not understood (the policy decides: the baseline refuses unparsed statements in production).
                FactsBuilder b = fallback(tokens);
                b.unparsed = true;
                LexicalAnalysis.implicitCalls(tokens, b.implicitCalls);
                return b.build(text, Shape.fingerprint(tokens));
            }
            parserRuns.increment();
            long started = budget.now();
            Outcome outcome = parser.parse(Shape.parserInput(tokens));
            budget.charge(started);
            FactsBuilder b = null;
            if (outcome instanceof Parsed parsed) {
                b = LexicalAnalysis.header(tokens);
                try {
                    if (SyntaxTreeFacts.agrees(parsed.statement(), b.kind)) {
                        SyntaxTreeFacts.extract(parsed.statement(), b);
                    } else {
                        b = null;
                    }
                } catch (RuntimeException e) {
                    b = null;
                }
            }
            if (outcome instanceof TimedOut) {
                // Not understood in time: fail closed, and remember it (below), so a repeat costs nothing.
                b = fallback(tokens);
                b.unparsed = true;
            } else if (b == null) {
                b = fallback(tokens);
            } else {
                mergeRule(b, tokens);
            }
            LexicalAnalysis.implicitCalls(tokens, b.implicitCalls);
            StatementFacts facts = b.build(text, Shape.fingerprint(tokens));
            if (cache != null && !(outcome instanceof TimedOut t && !t.onCpu())) {
                // Timeouts too: a statement built to exhaust the parser is refused at once when it comes back.
                // (GuardedParser warms the parser up first, so a cold JVM does not make ordinary shapes time out.)
                // Not one cut off by the wall clock only: its thread hardly ran (a busy machine, the analysis
                // lanes' low priority), which says nothing about the statement; it is read again next time.
                // Kept without the client's text (each hit takes its own, withText): the key's shape drops comments
                // and literals, and an entry holding the text pinned what a statement padded them with (a helper's
                // pass, a135 F8: 190 MB of comments stayed in the heap after the identity's sessions ended).
                cache.put(shape, text.length() > shape.length() ? facts.withText(shape) : facts);
            }
            return facts;
        }

        private FactsBuilder fallback(List<Token> tokens) {
            FactsBuilder b = LexicalAnalysis.analyse(tokens, this);
            b.unparsed = !LexicalAnalysis.isDeclarativeDdl(b) && !LexicalAnalysis.isPlainCreateTable(tokens, b);
            mergeRule(b, tokens);
            if (b.unparsed) {
                // A query JSqlParser cannot parse is a read when its tokens prove it (see ReadOnlyProof).
                ReadOnlyProof.apply(tokens, b);
            }
            return b;
        }

        /**
         * Facts the token stream decides whichever path analysed the statement: SQL's MERGE has no WHERE (its
         * ON condition chooses the rows, and ON true chooses them all); a definition's named functions; the
         * relations of {@code TABLE name} queries ({@link LexicalAnalysis#tableQueries}); any relation for a read of
         * the statistics or sequences views ({@link LexicalAnalysis#valueViews}).
         */
        private void mergeRule(FactsBuilder b, List<Token> tokens) {
            LexicalAnalysis.tableQueries(tokens, b.tablesRead);
            LexicalAnalysis.valueViews(b.tablesRead, b.functions);
            if (b.kind == StatementKind.MERGE || b.innerKinds.contains(StatementKind.MERGE)) {
                // (A MERGE inside WITH is not at the top level, so it reads as not restricting: fail closed.)
                LexicalAnalysis.mergeActions(tokens, b);
                boolean restricts = LexicalAnalysis.mergeRestrictsRows(tokens)
                        && !LexicalAnalysis.mergeActsOnUnmatchedTargetRows(tokens);
                b.hasWhere = b.kind == StatementKind.MERGE ? restricts : b.hasWhere && restricts;
            } else if (b.kind == StatementKind.CREATE) {
                LexicalAnalysis.namedFunctions(tokens, b.functions);
                LexicalAnalysis.definedRelation(tokens, b);
            } else if (b.kind == StatementKind.ALTER) {
                LexicalAnalysis.definedRelation(tokens, b);
            } else if (b.kind == StatementKind.INSERT) {
                Boolean upsertWhere = LexicalAnalysis.upsertUpdateHasWhere(tokens);
                if (upsertWhere != null) {
                    b.innerKinds.add(StatementKind.UPDATE);
                    b.hasWhere = upsertWhere;
                }
            }
            if (b.hasWhere && (b.kind == StatementKind.UPDATE || b.kind == StatementKind.DELETE
                    || b.innerKinds.contains(StatementKind.UPDATE) || b.innerKinds.contains(StatementKind.DELETE))
                    && LexicalAnalysis.constantWhere(tokens)) {
                b.hasWhere = false; // WHERE 1 = 1 changes every row or none (see constantWhere)
            }
            // Calls JSqlParser's tree may not show (inside array subscripts, under a star): the lexer's too.
            LexicalAnalysis.functionCalls(tokens, b.functions);
        }
    }
}
