package dev.warden.sql;

import dev.warden.sql.Lexer.Token;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * What a statement's tokens can name, for masking: a sound over-approximation that needs no parse. A statement
 * can only reach a table's values by naming the table (or a view, or a function whose body names it), so the
 * names in its text bound what it can read, whether JSqlParser understood it or not.
 *
 * <p>Names come from identifiers (folded as the server folds them), quoted identifiers (exact, and lower-cased),
 * and every identifier-like word inside string literals and dollar-quoted bodies (lower-cased): SQL handed over
 * as text ({@code query_to_xml('SELECT email ...')}, {@code 'customers'::regclass}, a DO body) is read as
 * names too. Both readings of {@code standard_conforming_strings} are taken, so a backslash cannot hide a name.
 */
public final class TextReferences {

    /** Clause keywords that make a column a filter, sort, group or join key ({@code masking.protect_filters}). */
    private static final Set<String> FILTER_CLAUSES = Set.of("where", "on", "using", "having", "by", "when");
    /** Clause keywords that end the search for the clause a column sits in. */
    private static final Set<String> OTHER_CLAUSES = Set.of("select", "from", "set", "values", "returning",
            "into", "then", "else", "join", "as", "limit", "offset", "window");

    private TextReferences() {
    }

    /**
     * A name as the server keeps it: its first 63 bytes in UTF-8, cut at a character boundary (a name the policy
     * writes longer, as a migration did, means the relation or column the server cut it to).
     */
    public static String keptName(String name) {
        return Lexer.truncateName(name);
    }

    /** Every name {@code text} could refer to (see the class comment). */
    public static Set<String> names(String text) {
        Set<String> names = new LinkedHashSet<>();
        for (boolean scs : new boolean[] {true, false}) {
            for (Token t : Lexer.tokenize(text, scs).tokens()) {
                switch (t.type()) {
                    case WORD -> names.add(t.value());
                    case QUOTED_IDENT -> {
                        names.add(t.value());
                        names.add(t.value().toLowerCase(Locale.ROOT));
                    }
                    case STRING -> words(t.value(), names);
                    default -> {
                    }
                }
            }
        }
        return names;
    }

    /**
     * Every name written after a dot and not followed by a parenthesis ({@code t.col}, {@code (expr).name}), under
     * both readings of plain strings. PostgreSQL reads {@code (x).f} as the call {@code f(x)} when no field of
     * that name exists (attribute notation), so a one-argument function can run without its name ever standing
     * before a parenthesis: {@code ('PG_VERSION'::text).pg_read_file} reads a server file. A superset: most are
     * column and field names.
     */
    public static Set<String> attributeNames(String text) {
        Set<String> names = new LinkedHashSet<>();
        for (boolean scs : new boolean[] {true, false}) {
            List<Token> tokens = Lexer.tokenize(text, scs).tokens();
            for (int k = 1; k < tokens.size(); k++) {
                if (tokens.get(k - 1).isOp(".") && tokens.get(k).isIdentifier()
                        && (k + 1 == tokens.size() || !tokens.get(k + 1).isOp("("))) {
                    names.add(tokens.get(k).value());
                }
            }
        }
        return names;
    }

    /**
     * Whether {@code text} calls one of the functions of {@code argument} (lower-case names, schema-qualified or
     * not) with the argument at the position it gives (from 0) other than one string literal, cast or not
     * ({@code 'customers'::regclass}): a query or relation computed at run time ({@code 'SELECT * FROM cust' ||
     * 'omers'}, an OID, {@code to_regclass(x)}), which no name in the text shows. A call with fewer arguments has
     * none there. Under both readings of plain strings.
     */
    public static boolean computedArgument(String text, java.util.Map<String, Integer> argument) {
        return literalArguments(text, argument).isEmpty();
    }

    /**
     * Like {@link #computedArgument(String, java.util.Map)}, but a call of a function of {@code arity} counts only
     * with exactly that many arguments: the others are overloads that take no query there ({@code ts_rewrite}
     * reads a query as its second of two arguments; its three-argument form takes tsqueries).
     */
    public static boolean computedArgument(String text, java.util.Map<String, Integer> argument,
                                           java.util.Map<String, Integer> arity) {
        return literalArguments(text, argument, arity).isEmpty();
    }

    /**
     * The values of the string literals {@code text}'s calls of the functions of {@code argument} give at the
     * position it gives, call by call (a call with fewer arguments gives none); empty when one of them is not one
     * string literal ({@link #computedArgument}), or when the two readings of plain strings read them differently.
     */
    public static Optional<List<String>> literalArguments(String text, java.util.Map<String, Integer> argument) {
        return literalArguments(text, argument, java.util.Map.of());
    }

    private static Optional<List<String>> literalArguments(String text, java.util.Map<String, Integer> argument,
                                                           java.util.Map<String, Integer> arity) {
        List<String> first = null;
        for (boolean scs : new boolean[] {true, false}) {
            List<Token> tokens = Lexer.tokenize(text, scs).tokens();
            List<String> values = new ArrayList<>();
            for (int k = 0; k + 1 < tokens.size(); k++) {
                Integer position = tokens.get(k).isIdentifier() ? argument.get(tokens.get(k).value()) : null;
                if (position == null || !tokens.get(k + 1).isOp("(")) {
                    continue;
                }
                Integer wanted = arity.get(tokens.get(k).value());
                if (wanted != null && wanted != argumentCount(tokens, k + 2)) {
                    continue;
                }
                int i = k + 2;
                for (int skipped = 0; skipped < position && i < tokens.size(); skipped++) {
                    int comma = nextArgumentComma(tokens, i);
                    i = comma < 0 ? tokens.size() : comma + 1;
                }
                if (i < tokens.size()) {
                    if (!literalArgument(tokens, i)) {
                        return Optional.empty();
                    }
                    values.add(tokens.get(i).value());
                }
            }
            if (first == null) {
                first = values;
            } else if (!first.equals(values)) {
                return Optional.empty();
            }
        }
        return Optional.of(first);
    }

    /**
     * How many arguments the call whose list starts at {@code from} (after its parenthesis) has: its commas at the
     * top level, plus one unless it is empty. A list that never closes counts what it has.
     */
    static int argumentCount(List<Token> tokens, int from) {
        if (from < tokens.size() && tokens.get(from).isOp(")")) {
            return 0;
        }
        int count = 1;
        for (int i = from; ; count++) {
            int comma = nextArgumentComma(tokens, i);
            if (comma < 0) {
                return count;
            }
            i = comma + 1;
        }
    }

    /**
     * The comma that ends the argument starting at {@code from}, or -1 when the list closes first: commas inside
     * parentheses and inside brackets ({@code ARRAY['a', 'b']}, which stand outside any parenthesis) belong to
     * the argument.
     */
    static int nextArgumentComma(List<Token> tokens, int from) {
        int depth = 0;
        for (int k = from; k < tokens.size(); k++) {
            Token t = tokens.get(k);
            if (t.isOp("(") || t.isOp("[")) {
                depth++;
            } else if (t.isOp(")") || t.isOp("]")) {
                if (--depth < 0) {
                    return -1;
                }
            } else if (depth == 0 && t.isOp(",")) {
                return k;
            }
        }
        return -1;
    }

    /** Whether the argument at {@code k} is a string literal, with casts to named types, and ends there. */
    static boolean literalArgument(List<Token> tokens, int k) {
        if (k >= tokens.size() || tokens.get(k).type() != Lexer.Type.STRING) {
            return false;
        }
        int i = k + 1;
        while (i + 1 < tokens.size() && tokens.get(i).isOp("::") && tokens.get(i + 1).isIdentifier()) {
            i += 2;
            while (i + 1 < tokens.size() && tokens.get(i).isOp(".") && tokens.get(i + 1).isIdentifier()) {
                i += 2;
            }
        }
        return i < tokens.size() && (tokens.get(i).isOp(",") || tokens.get(i).isOp(")"));
    }

    /** Identifier-like words of a string's content, lower-cased. */
    private static void words(String content, Set<String> out) {
        int i = 0;
        int n = content.length();
        while (i < n) {
            if (Lexer.isIdentStart(content.charAt(i))) {
                int start = i;
                while (i < n && Lexer.isIdentPart(content.charAt(i))) {
                    i++;
                }
                // As the server folds (and cuts) it when the string runs as SQL, and, a superset, as written
                // and as Java lower-cases it.
                String word = content.substring(start, i);
                out.add(Lexer.foldName(word));
                out.add(Lexer.truncateName(Lexer.foldName(word)));
                out.add(word.toLowerCase(Locale.ROOT));
            } else {
                i++;
            }
        }
    }

    /**
     * Relations among {@code relations} given an alias with a column list ({@code customers AS t(i, n, e)}):
     * their columns are read under other names, so a column name alone no longer says what is read.
     */
    public static Set<String> renamedRelations(String text, Set<String> relations) {
        Set<String> out = new LinkedHashSet<>();
        List<Token> tokens = Lexer.tokenize(text, true).tokens();
        for (int i = 0; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (!t.isIdentifier() || !relations.contains(t.value())) {
                continue;
            }
            int j = i + 1;
            if (j < tokens.size() && tokens.get(j).isWord("as")) {
                j++;
            }
            if (j + 1 < tokens.size() && tokens.get(j).isIdentifier() && !isClauseWord(tokens.get(j))
                    && tokens.get(j + 1).isOp("(")) {
                out.add(t.value());
            }
        }
        return out;
    }

    /**
     * Whether {@code text} gives anything read a column list of other names: an alias with one ({@code customers AS
     * u(i, n, e)}, {@code (TABLE customers) s(i, n)}, {@code public.customers "filter"(i)}), a column definition list
     * ({@code f() AS t(a int)}, {@code json_to_recordset(j) AS (a text)}, JSON_TABLE's COLUMNS) or a WITH query with
     * one ({@code WITH c(i, n) AS (...)}). Then no column name in the text says which values are read where. Errs
     * towards yes; a quoted name is an alias whatever it spells.
     */
    public static boolean renamesColumns(String text) {
        List<Token> tokens = Lexer.tokenize(text, true).tokens();
        for (int i = 1; i + 1 < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (!tokens.get(i + 1).isOp("(")) {
                continue;
            }
            Token before = tokens.get(i - 1);
            if (t.isWord("as") && before.isOp(")")) {
                return true; // f(...) AS (a text): a column definition list with no alias
            }
            if (t.isWord("columns") && text.toLowerCase(Locale.ROOT).contains("json_table")) {
                return true;
            }
            if (!t.isIdentifier()) {
                continue;
            }
            boolean word = t.type() == Lexer.Type.WORD && (isClauseWord(t) || NOT_LISTED_ALIASES.contains(t.value()))
                    && !listOfNames(tokens, i + 1)
                    && !(before.isOp(")") && closesFromItem(tokens, i - 1) && listOfOneName(tokens, i + 1));
            if (before.isWord("as")) {
                if (!insideCast(tokens, i - 1)) {
                    return true; // AS alias (...), AS values(i) included
                }
                continue;
            }
            if ((before.isWord("with") || before.isWord("recursive") || before.isOp(","))
                    && cteColumnList(tokens, i + 1) && (!before.isOp(",") || inWithList(tokens, i - 1))) {
                return true; // WITH name (...) AS: any name, FILTER or "in" too
            }
            if (before.isOp(")") && !word) {
                return true; // a subquery's or call's alias right after it
            }
            boolean beforeWord = before.type() == Lexer.Type.WORD
                    && (isClauseWord(before) || NOT_LISTED_ALIASES.contains(before.value()));
            boolean reserved = t.type() == Lexer.Type.WORD && (isClauseWord(t) || AFTER_FROM_ITEM.contains(t.value()));
            if (before.isIdentifier() && !beforeWord && !reserved) {
                // FROM relation alias (...): an unreserved word is an alias there (customers filter(i, n), a
                // third helper's pass), a reserved one is not (JOIN t ON (...), USING (...), UNION (...)).
                int k = i - 1; // the first part of the relation's qualified name
                while (k >= 2 && tokens.get(k - 1).isOp(".") && tokens.get(k - 2).isIdentifier()) {
                    k -= 2;
                }
                Token from = k >= 1 ? tokens.get(k - 1) : null;
                if (from != null && (from.isWord("from") || from.isWord("join") || from.isWord("only")
                        || from.isOp(","))) {
                    return true; // FROM relation alias (...)
                }
            }
        }
        return false;
    }

    /** Words before a parenthesis that are no alias (FILTER (WHERE ...), OVER (...), LATERAL f(...), IN (...)). */
    private static final Set<String> NOT_LISTED_ALIASES = Set.of("filter", "over", "within", "values", "exists", "in",
            "any", "all", "some", "array", "row", "lateral", "cube", "rollup", "grouping", "sets", "using", "conflict",
            "when", "then", "else", "and", "or", "not", "is", "on", "select", "returning", "tablesample", "distinct",
            "set", "like", "ilike", "similar", "between", "case", "coalesce", "nullif", "greatest", "least", "cast",
            "with", "repeatable", "materialized");

    /** Reserved words that may follow a FROM item and precede a parenthesis: no alias. */
    private static final Set<String> AFTER_FROM_ITEM = Set.of("on", "using", "union", "intersect", "except", "where",
            "group", "having", "window", "order", "limit", "offset", "fetch", "for", "returning", "tablesample",
            "join", "inner", "left", "right", "full", "cross", "natural", "lateral", "with", "set", "values", "select",
            "and", "or", "not", "in", "is", "like", "ilike", "similar", "between", "when", "then", "else", "as");

    /**
     * Whether the parenthesis at {@code open} holds two or more bare names and nothing else ({@code (i, n, x)}):
     * an alias's column list, never FILTER's WHERE or a window's PARTITION BY, ORDER BY or single name.
     */
    private static boolean listOfNames(List<Token> tokens, int open) {
        int k = open + 1;
        int names = 0;
        while (k + 1 < tokens.size() && tokens.get(k).isIdentifier()) {
            names++;
            if (tokens.get(k + 1).isOp(")")) {
                return names >= 2;
            }
            if (!tokens.get(k + 1).isOp(",")) {
                return false;
            }
            k += 2;
        }
        return false;
    }

    /** Whether the parenthesis at {@code open} holds one bare name and nothing else ({@code (x)}). */
    private static boolean listOfOneName(List<Token> tokens, int open) {
        return open + 2 < tokens.size() && tokens.get(open + 1).isIdentifier() && tokens.get(open + 2).isOp(")");
    }

    /**
     * Whether the parenthesis closing at {@code close} ends a FROM item (a subquery, or a function called in FROM),
     * after which a word is its alias ({@code (TABLE p) filter(x)}, a fifth helper's pass), rather than an
     * expression's call, after which FILTER, OVER or WITHIN is a clause ({@code sum(a) OVER (w)}).
     */
    private static boolean closesFromItem(List<Token> tokens, int close) {
        int depth = 0;
        int open = -1;
        for (int k = close; k >= 0; k--) {
            if (tokens.get(k).isOp(")")) {
                depth++;
            } else if (tokens.get(k).isOp("(") && --depth == 0) {
                open = k;
                break;
            }
        }
        if (open < 1) {
            return open == 0;
        }
        int k = open - 1;
        if (tokens.get(k).isIdentifier() && !(tokens.get(k).type() == Lexer.Type.WORD
                && Set.of("from", "join", "lateral").contains(tokens.get(k).value()))) {
            // A call: a FROM item only when its (qualified) name follows FROM, JOIN, LATERAL or a comma of FROM.
            while (k >= 2 && tokens.get(k - 1).isOp(".") && tokens.get(k - 2).isIdentifier()) {
                k -= 2;
            }
            k--;
        }
        if (k < 0) {
            return false;
        }
        Token before = tokens.get(k);
        return before.isWord("from") || before.isWord("join") || before.isWord("lateral") || before.isOp(",")
                && !inSelectList(tokens, k);
    }

    /** Whether the comma at {@code comma} is in a select list (a SELECT before it at its level, no FROM). */
    private static boolean inSelectList(List<Token> tokens, int comma) {
        String word = wordBack(tokens, comma, Set.of("from", "join", "select"));
        return word == null || word.equals("select");
    }

    /**
     * The first word of {@code words} at the level of {@code at} (parenthesised parts skipped), scanning back from
     * it; null when the enclosing parenthesis or the start comes first.
     */
    private static String wordBack(List<Token> tokens, int at, Set<String> words) {
        int depth = 0;
        for (int k = at - 1; k >= 0; k--) {
            Token t = tokens.get(k);
            if (t.isOp(")")) {
                depth++;
            } else if (t.isOp("(")) {
                if (--depth < 0) {
                    return null;
                }
            } else if (depth == 0 && t.type() == Lexer.Type.WORD && words.contains(t.value())) {
                return t.value();
            }
        }
        return null;
    }


    /**
     * Whether {@code text} reads a relation whole with {@code TABLE name} (as a statement, a subquery or a set
     * operation's branch): its columns then have no names in the text ({@code (TABLE customers) t}, then {@code
     * t::text}, stored every column in clear: a fifth helper's pass).
     */
    public static boolean readsWholeTable(String text) {
        List<Token> tokens = Lexer.tokenize(text, true).tokens();
        for (int i = 0; i + 1 < tokens.size(); i++) {
            if (!tokens.get(i).isWord("table") || !tokens.get(i + 1).isIdentifier()) {
                continue;
            }
            if (i == 0) {
                return true;
            }
            Token before = tokens.get(i - 1);
            if (before.isOp("(") || before.type() == Lexer.Type.WORD && Set.of("union", "intersect", "except", "all",
                    "distinct", "as").contains(before.value())
                    || tokens.get(0).isWord("insert") && (before.isOp(")") || before.isIdentifier()
                    && !before.isWord("into"))) {
                return true; // (TABLE t), UNION TABLE t, AS TABLE t, INSERT INTO s [(a, b)] TABLE t
            }
        }
        return false;
    }

    /** Whether the parenthesis at {@code open} closes right before {@code AS}: a WITH query's column list. */
    private static boolean cteColumnList(List<Token> tokens, int open) {
        int depth = 0;
        for (int k = open; k < tokens.size(); k++) {
            if (tokens.get(k).isOp("(")) {
                depth++;
            } else if (tokens.get(k).isOp(")") && --depth == 0) {
                return k + 1 < tokens.size() && tokens.get(k + 1).isWord("as");
            }
        }
        return false;
    }

    /** Whether the comma at {@code comma} separates WITH queries: a WITH comes before it at its level, no SELECT. */
    private static boolean inWithList(List<Token> tokens, int comma) {
        return "with".equals(wordBack(tokens, comma, Set.of("with", "select", "insert", "update", "delete", "merge",
                "values", "table", "set", "from", "returning", "into")));
    }


    /** Whether the AS at {@code as} is CAST's ({@code CAST(x AS numeric(10, 2))}): a type, no alias. */
    private static boolean insideCast(List<Token> tokens, int as) {
        int depth = 0;
        for (int k = as - 1; k >= 0; k--) {
            Token t = tokens.get(k);
            if (t.isOp(")")) {
                depth++;
            } else if (t.isOp("(") && --depth < 0) {
                return k >= 1 && tokens.get(k - 1).type() == Lexer.Type.WORD
                        && Set.of("cast", "xmlcast", "treat").contains(tokens.get(k - 1).value());
            }
        }
        return false;
    }

    /**
     * Where an ALTER puts what it alters: {@code RENAME TO n} gives it the name {@code n}, {@code SET SCHEMA s} the
     * schema {@code s} (the other is null). A name is as the server keeps it; an empty one when what follows is
     * not a name, which matches no rule.
     */
    public record Relocation(String schema, String name) {
    }

    /**
     * The generated columns a {@code CREATE TABLE} text declares ({@code name type GENERATED ALWAYS AS (expr)
     * STORED}), each with the names its expression uses (folded as the server folds them); empty for any other text.
     */
    public static java.util.Map<String, java.util.Set<String>> generatedColumns(String text) {
        List<Token> tokens = Lexer.tokenize(text, true).tokens();
        java.util.Map<String, java.util.Set<String>> out = new java.util.LinkedHashMap<>();
        if (tokens.size() < 2 || !tokens.get(0).isWord("create")) {
            return out;
        }
        int depth = 0;
        int columnStart = -1;
        for (int i = 0; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (t.isOp("(")) {
                depth++;
                if (depth == 1) {
                    columnStart = i + 1;
                }
                continue;
            }
            if (t.isOp(")")) {
                depth--;
                continue;
            }
            if (depth == 1 && t.isOp(",")) {
                columnStart = i + 1;
                continue;
            }
            if (depth == 1 && i + 3 < tokens.size() && t.isWord("generated") && tokens.get(i + 1).isWord("always")
                    && tokens.get(i + 2).isWord("as") && tokens.get(i + 3).isOp("(") && columnStart >= 0
                    && tokens.get(columnStart).isIdentifier()) {
                java.util.Set<String> used = new java.util.LinkedHashSet<>();
                int inner = 0;
                int k = i + 3;
                do {
                    Token e = tokens.get(k);
                    inner += e.isOp("(") ? 1 : e.isOp(")") ? -1 : 0;
                    if (e.isIdentifier()) {
                        used.add(e.value());
                    }
                    k++;
                } while (inner > 0 && k < tokens.size());
                out.put(tokens.get(columnStart).value(), used);
                i = k - 1;
            }
        }
        return out;
    }

    /**
     * Whether {@code text} is {@code ALTER TYPE ... RENAME ATTRIBUTE ... CASCADE}: it renames the column of every
     * table made {@code OF} the type, tables the text does not name.
     */
    public static boolean renamesTypedTablesColumns(String text) {
        List<Token> tokens = Lexer.tokenize(text, true).tokens();
        if (tokens.size() < 2 || !tokens.get(0).isWord("alter") || !tokens.get(1).isWord("type")) {
            return false;
        }
        boolean renamesAttribute = false;
        for (int i = 2; i < tokens.size(); i++) {
            renamesAttribute |= i + 1 < tokens.size() && tokens.get(i).isWord("rename")
                    && tokens.get(i + 1).isWord("attribute");
            if (renamesAttribute && tokens.get(i).isWord("cascade")) {
                return true;
            }
        }
        return false;
    }

    /** The relocation an ALTER text makes ({@link Relocation}), if any; a column's or constraint's RENAME is none. */
    public static Optional<Relocation> relocation(String text) {
        List<Token> tokens = Lexer.tokenize(text, true).tokens();
        for (int i = 0; i + 1 < tokens.size(); i++) {
            boolean renames = tokens.get(i).isWord("rename") && tokens.get(i + 1).isWord("to");
            boolean moves = tokens.get(i).isWord("set") && tokens.get(i + 1).isWord("schema");
            if (!renames && !moves) {
                continue;
            }
            Token to = i + 2 < tokens.size() ? tokens.get(i + 2) : null;
            String name = to != null && to.isIdentifier() ? to.value() : "";
            return Optional.of(renames ? new Relocation(null, name) : new Relocation(name, null));
        }
        return Optional.empty();
    }

    /**
     * A COPY option ({@code DELIMITER}, {@code NULL}, {@code QUOTE}, {@code ESCAPE}, {@code ENCODING}) after a
     * COPY's target, read from its tokens as the server reads them (comments are not options), in either syntax
     * ({@code WITH (DELIMITER '|')}, {@code DELIMITER AS '|'}); the parenthesised list's names may be quoted
     * ({@code WITH ("delimiter" '|')}). A string's value is read with the session's
     * {@code standard_conforming_strings} ({@link CopySpec#option}): before, always as on, so under off
     * {@code NULL '\N'} (the server's {@code N}) was taken for {@code \N}.
     *
     * @param present whether the option is given
     * @param value its string literal's value; null when it is given otherwise
     */
    public record CopyOption(boolean present, String value) {
        static final CopyOption ABSENT = new CopyOption(false, null);
    }

    /** The values of {@code options} ({@link #copyOptions}): a string literal's value, else null; null for null. */
    static java.util.Map<String, CopyOption> copyOptionValues(java.util.Map<String, Token> options) {
        if (options == null) {
            return null;
        }
        java.util.Map<String, CopyOption> out = new java.util.HashMap<>();
        options.forEach((name, value) -> out.put(name, new CopyOption(true,
                value != null && value.type() == Lexer.Type.STRING ? value.value() : null)));
        return out;
    }

    /**
     * COPY's options, read as PostgreSQL's grammar has them from {@code from} (after the target) to the end: {@code
     * [WITH] ( name [value | ( column, ... )] , ... )}, or the old form ({@code BINARY}, {@code CSV}, {@code HEADER},
     * {@code FREEZE}, {@code DELIMITER [AS] 'x'}, {@code NULL [AS] 'x'}, {@code QUOTE [AS] 'x'}, {@code ESCAPE [AS]
     * 'x'}, {@code ENCODING 'x'}, {@code FORCE QUOTE (* | columns)}, {@code FORCE NOT NULL columns}, {@code FORCE NULL
     * columns}). Each option name (lower case) maps to its value's token (null when it has none, or a column list);
     * {@code binary} and {@code csv} of the old form map to themselves as {@code format}. Null when the text does not
     * read so. Before, the first token after any label named like an option counted: a helper's pass (a129) named a
     * column {@code format} in {@code FORCE_QUOTE (format)}, Warden read the format as {@code )}, split the server's
     * CSV as text, and quoted values holding the delimiter came out in pieces in clear columns.
     */
    public static java.util.Map<String, Token> copyOptions(List<Token> tokens, int from) {
        java.util.Map<String, Token> out = new java.util.LinkedHashMap<>();
        int end = tokens.size();
        while (end > from && tokens.get(end - 1).isOp(";")) {
            end--;
        }
        int i = from;
        if (i < end && tokens.get(i).isWord("with")) {
            i++;
        }
        if (i < end && tokens.get(i).isOp("(")) {
            i++;
            while (true) {
                if (i >= end || !tokens.get(i).isIdentifier()) {
                    return null;
                }
                String name = tokens.get(i).value().toLowerCase(java.util.Locale.ROOT);
                i++;
                Token value = null;
                if (i < end && tokens.get(i).isOp("(")) {
                    int depth = 0;
                    for (; i < end; i++) {
                        if (tokens.get(i).isOp("(")) {
                            depth++;
                        } else if (tokens.get(i).isOp(")") && --depth == 0) {
                            break;
                        }
                    }
                    i++;
                } else if (i < end && !tokens.get(i).isOp(",") && !tokens.get(i).isOp(")")) {
                    value = tokens.get(i);
                    i++;
                }
                if (out.containsKey(name)) {
                    return null; // the server refuses a repeated option; Warden reads none of them
                }
                out.put(name, value);
                if (i < end && tokens.get(i).isOp(",")) {
                    i++;
                } else if (i < end && tokens.get(i).isOp(")")) {
                    return i + 1 == end ? out : null;
                } else {
                    return null;
                }
            }
        }
        while (i < end) {
            Token t = tokens.get(i);
            if (t.isWord("binary") || t.isWord("csv")) {
                out.put("format", t);
                i++;
            } else if (t.isWord("header") || t.isWord("freeze")) {
                out.put(t.value(), null);
                i++;
            } else if (t.isWord("delimiter") || t.isWord("null") || t.isWord("quote") || t.isWord("escape")
                    || t.isWord("encoding")) {
                int k = i + 1 < end && tokens.get(i + 1).isWord("as") && !t.isWord("encoding") ? i + 2 : i + 1;
                if (k >= end || tokens.get(k).type() != Lexer.Type.STRING || out.containsKey(t.value())) {
                    return null;
                }
                out.put(t.value(), tokens.get(k));
                i = k + 1;
            } else if (t.isWord("force")) {
                int k = i + 1;
                String name;
                if (k < end && tokens.get(k).isWord("quote")) {
                    name = "force_quote";
                    k++;
                } else if (k + 1 < end && tokens.get(k).isWord("not") && tokens.get(k + 1).isWord("null")) {
                    name = "force_not_null";
                    k += 2;
                } else if (k < end && tokens.get(k).isWord("null")) {
                    name = "force_null";
                    k++;
                } else {
                    return null;
                }
                if (k < end && tokens.get(k).isOp("*")) {
                    k++;
                } else {
                    // column, column, ...: names separated by commas
                    if (k >= end || !tokens.get(k).isIdentifier()) {
                        return null;
                    }
                    k++;
                    while (k + 1 < end && tokens.get(k).isOp(",") && tokens.get(k + 1).isIdentifier()) {
                        k += 2;
                    }
                }
                out.put(name, null);
                i = k;
            } else {
                return null;
            }
        }
        return out;
    }

    /**
     * The columns a trigger's or rule's text takes from the row being written: {@code NEW.col} and {@code OLD.col},
     * spelt quoted or not, with comments between the tokens; {@code "*"} where it takes the whole row
     * ({@code NEW::text}, {@code row_to_json(OLD)}, {@code (NEW).col}, {@code NEW.*}). Read under both settings of
     * {@code standard_conforming_strings}.
     */
    public static Set<String> rowOfWriteColumns(String text) {
        Set<String> columns = new LinkedHashSet<>();
        for (boolean scs : new boolean[] {true, false}) {
            List<Token> tokens = Lexer.tokenize(text, scs).tokens();
            for (int i = 0; i < tokens.size(); i++) {
                rowOfWrite(tokens, i).ifPresent(columns::add);
            }
        }
        return columns;
    }

    /** As {@link #rowOfWriteColumns}, for the token at {@code i}: empty when it is no NEW or OLD. */
    static Optional<String> rowOfWrite(List<Token> tokens, int i) {
        Token t = tokens.get(i);
        if (!t.isLabel("new") && !t.isLabel("old")) {
            return Optional.empty();
        }
        // After a dot too: PL/pgSQL puts NEW and OLD under a label named like the function (f.new is the row; a
        // helper's pass copied f.new::text past this check). A column or field named new (x.new) reads so as well.
        if (i + 2 < tokens.size() && tokens.get(i + 1).isOp(".") && tokens.get(i + 2).isIdentifier()) {
            return Optional.of(tokens.get(i + 2).value());
        }
        return Optional.of("*");
    }

    /**
     * Whether a CREATE FUNCTION text returns {@code trigger} or {@code event_trigger}, read from its tokens: past
     * comments, written {@code pg_catalog.trigger} or quoted.
     */
    public static boolean returnsTrigger(String text) {
        List<Token> tokens = Lexer.tokenize(text, true).tokens();
        for (int i = 0; i + 1 < tokens.size(); i++) {
            if (!tokens.get(i).isWord("returns")) {
                continue;
            }
            int k = i + 1;
            if (k + 2 < tokens.size() && tokens.get(k).isIdentifier() && tokens.get(k).value().equals("pg_catalog")
                    && tokens.get(k + 1).isOp(".")) {
                k += 2;
            }
            Token type = tokens.get(k);
            if (type.isIdentifier() && (type.value().equals("trigger") || type.value().equals("event_trigger"))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether {@code text} installs code that later runs inside other sessions' statements, read from its tokens
     * (comments may stand between the words): a trigger or rule made ({@code CREATE [OR REPLACE] [CONSTRAINT]
     * TRIGGER}, {@code CREATE [OR REPLACE] RULE}, {@code CREATE EVENT TRIGGER}, also as an element of {@code CREATE
     * SCHEMA}), one switched on ({@code ENABLE [ALWAYS | REPLICA] TRIGGER | RULE}, {@code ALTER EVENT TRIGGER}), or
     * the body of a trigger function replaced ({@code CREATE OR REPLACE FUNCTION ... RETURNS trigger}: triggers
     * that call it run the new body). Null when none; otherwise what it does, in words.
     */
    public static String installsTriggerCode(String text) {
        List<Token> tokens = Lexer.tokenize(text, true).tokens();
        for (int i = 0; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (t.isWord("create")) {
                int k = i + 1;
                boolean replace = k + 1 < tokens.size() && tokens.get(k).isWord("or")
                        && tokens.get(k + 1).isWord("replace");
                if (replace) {
                    k += 2;
                }
                if (k < tokens.size() && (tokens.get(k).isWord("constraint") || tokens.get(k).isWord("event"))) {
                    k++;
                }
                if (k < tokens.size() && tokens.get(k).isWord("trigger")) {
                    return "a trigger";
                }
                if (k < tokens.size() && tokens.get(k).isWord("rule")) {
                    return "a rule";
                }
                if (replace && k < tokens.size() && (tokens.get(k).isWord("function")
                        || tokens.get(k).isWord("procedure")) && returnsTrigger(text)) {
                    return "the body of a trigger function";
                }
            } else if (t.isWord("enable")) {
                int k = i + 1;
                if (k < tokens.size() && (tokens.get(k).isWord("always") || tokens.get(k).isWord("replica"))) {
                    k++;
                }
                if (k < tokens.size() && (tokens.get(k).isWord("trigger") || tokens.get(k).isWord("rule"))) {
                    return "a trigger or rule switched on";
                }
            } else if (t.isWord("alter") && i + 2 < tokens.size() && tokens.get(i + 1).isWord("event")
                    && tokens.get(i + 2).isWord("trigger")) {
                return "an event trigger";
            }
        }
        return null;
    }

    /**
     * The name (as the server keeps it, without its schema) of the relation a {@code CREATE [OR REPLACE] [CONSTRAINT]
     * TRIGGER ... ON name} text puts its trigger on; empty when the text is not one or the name cannot be read.
     */
    public static Optional<String> triggerRelation(String text) {
        return relationAfter(text, "trigger", "on");
    }

    /** Whether {@code text} starts {@code CREATE OR REPLACE} (comments may stand between the words). */
    public static boolean replaces(String text) {
        List<Token> tokens = Lexer.tokenize(text, true).tokens();
        return tokens.size() > 2 && tokens.get(0).isWord("create") && tokens.get(1).isWord("or")
                && tokens.get(2).isWord("replace");
    }

    /** Whether the keyword {@code word} (lower case) is one of {@code text}'s tokens: not in a string or comment. */
    /**
     * The column renames of an ALTER text ({@code RENAME [COLUMN] a TO b}, also of a view's or a type's attribute), as
     * pairs of the old and the new name as the server reads them (comments skipped, {@code U&} names decoded, folded
     * and cut); not {@code RENAME TO} (the relation), {@code RENAME CONSTRAINT}.
     */
    public static List<String[]> columnRenames(String text) {
        List<String[]> out = new ArrayList<>();
        List<Token> tokens = Lexer.tokenize(text, true).tokens();
        for (int i = 0; i + 3 < tokens.size(); i++) {
            if (!tokens.get(i).isWord("rename")) {
                continue;
            }
            int j = i + 1;
            if (tokens.get(j).isWord("column") || tokens.get(j).isWord("attribute")) {
                j++;
            }
            if (tokens.get(i + 1).isWord("to") || tokens.get(i + 1).isWord("constraint") || j + 2 >= tokens.size()) {
                continue;
            }
            Token from = tokens.get(j);
            Token to = tokens.get(j + 1);
            Token name = tokens.get(j + 2);
            if (from.isIdentifier() && to.isWord("to") && name.isIdentifier()) {
                out.add(new String[] {from.value(), name.value()});
            }
        }
        return out;
    }

    /** The new names an ALTER text's {@code RENAME TO name} gives (comments skipped, names read as the server does). */
    public static List<String> renamedTo(String text) {
        List<String> out = new ArrayList<>();
        List<Token> tokens = Lexer.tokenize(text, true).tokens();
        for (int i = 0; i + 2 < tokens.size(); i++) {
            if (tokens.get(i).isWord("rename") && tokens.get(i + 1).isWord("to") && tokens.get(i + 2).isIdentifier()) {
                out.add(tokens.get(i + 2).value());
            }
        }
        return out;
    }

    /**
     * Whether one of {@code names} stands in {@code text} as a name (an identifier, folded as the server folds it, or
     * quoted as spelled), not inside a string or a comment.
     */
    public static boolean namesAnyOf(String text, Set<String> names) {
        if (names.isEmpty()) {
            return false;
        }
        for (Token t : Lexer.tokenize(text, true).tokens()) {
            if (t.isIdentifier() && (names.contains(t.value()) || names.contains(t.value().toLowerCase(Locale.ROOT)))) {
                return true;
            }
        }
        return false;
    }

    public static boolean hasWord(String text, String word) {
        for (Token t : Lexer.tokenize(text, true).tokens()) {
            if (t.isWord(word)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The name a CREATE [OR REPLACE] FUNCTION | PROCEDURE | AGGREGATE | OPERATOR text gives, or an ALTER FUNCTION |
     * PROCEDURE | ROUTINE | AGGREGATE ... RENAME TO text gives anew, or the name an ALTER ... SET SCHEMA moves
     * (with the schema it goes to); an operator's name is prefixed {@code op:}. {@code schema} is "" when the text
     * does not say (the first schema of the search_path, or the one the routine is in). Empty when the text is none
     * of these or the name cannot be read.
     */
    public record RoutineName(String schema, String name) {
    }

    public static Optional<RoutineName> routineNamed(String text) {
        List<Token> tokens = Lexer.tokenize(text, true).tokens();
        int i = 0;
        if (tokens.isEmpty()) {
            return Optional.empty();
        }
        boolean create = tokens.get(0).isWord("create");
        boolean alter = tokens.get(0).isWord("alter");
        if (!create && !alter) {
            return Optional.empty();
        }
        i = 1;
        if (create && i + 1 < tokens.size() && tokens.get(i).isWord("or") && tokens.get(i + 1).isWord("replace")) {
            i += 2;
        }
        if (i >= tokens.size()) {
            return Optional.empty();
        }
        Token kind = tokens.get(i);
        boolean operator = kind.isWord("operator");
        if (!(kind.isWord("function") || kind.isWord("procedure") || kind.isWord("aggregate") || operator
                || alter && kind.isWord("routine"))) {
            return Optional.empty();
        }
        if (operator && i + 1 < tokens.size() && (tokens.get(i + 1).isWord("class")
                || tokens.get(i + 1).isWord("family"))) {
            return Optional.empty();
        }
        i++;
        // [schema .] name
        String schema = "";
        String name;
        if (i + 2 < tokens.size() && tokens.get(i).isIdentifier() && tokens.get(i + 1).isOp(".")) {
            schema = keptName(tokens.get(i).value());
            i += 2;
        }
        if (i >= tokens.size()) {
            return Optional.empty();
        }
        Token n = tokens.get(i);
        if (operator && n.type() == Lexer.Type.OPERATOR) {
            name = "op:" + n.value();
        } else if (!operator && n.isIdentifier()) {
            name = keptName(n.value());
        } else {
            return Optional.empty();
        }
        if (create) {
            return Optional.of(new RoutineName(schema, name));
        }
        // ALTER ...: RENAME TO new, or SET SCHEMA s (after the argument list)
        for (int j = i + 1; j + 2 < tokens.size(); j++) {
            if (tokens.get(j).isWord("rename") && tokens.get(j + 1).isWord("to") && tokens.get(j + 2).isIdentifier()) {
                return Optional.of(new RoutineName(schema, keptName(tokens.get(j + 2).value())));
            }
            if (tokens.get(j).isWord("set") && tokens.get(j + 1).isWord("schema")
                    && tokens.get(j + 2).isIdentifier()) {
                return Optional.of(new RoutineName(keptName(tokens.get(j + 2).value()), name));
            }
        }
        return Optional.empty();
    }

    /**
     * The name (as the server keeps it, without its schema) of the function a CREATE TRIGGER text runs ({@code
     * EXECUTE FUNCTION | PROCEDURE name(...)}); empty when the text names none.
     */
    public static Optional<String> triggerFunction(String text) {
        List<Token> tokens = Lexer.tokenize(text, true).tokens();
        for (int i = 0; i + 2 < tokens.size(); i++) {
            if (tokens.get(i).isWord("execute")
                    && (tokens.get(i + 1).isWord("function") || tokens.get(i + 1).isWord("procedure"))
                    && tokens.get(i + 2).isIdentifier()) {
                int last = i + 2;
                while (last + 2 < tokens.size() && tokens.get(last + 1).isOp(".")
                        && tokens.get(last + 2).isIdentifier()) {
                    last += 2;
                }
                return Optional.of(keptName(tokens.get(last).value()));
            }
        }
        return Optional.empty();
    }

    /**
     * The name (as the server keeps it, without its schema) of the relation a {@code CREATE [OR REPLACE] RULE name AS
     * ON event TO name} text puts its rule on; empty when the text is not one or the name cannot be read.
     */
    public static Optional<String> ruleRelation(String text) {
        return relationAfter(text, "rule", "to");
    }

    /** The last part of the name after the first {@code before} word that follows the first {@code after} word. */
    private static Optional<String> relationAfter(String text, String after, String before) {
        List<Token> tokens = Lexer.tokenize(text, true).tokens();
        boolean seen = false;
        for (int i = 0; i + 1 < tokens.size(); i++) {
            if (tokens.get(i).isWord(after)) {
                seen = true;
            } else if (seen && tokens.get(i).isWord(before)) {
                int first = i + 1;
                int last = first;
                if (!tokens.get(first).isIdentifier()) {
                    return Optional.empty();
                }
                while (last + 2 < tokens.size() && tokens.get(last + 1).isOp(".")
                        && tokens.get(last + 2).isIdentifier()) {
                    last += 2;
                }
                return Optional.of(keptName(tokens.get(last).value()));
            }
        }
        return Optional.empty();
    }

    /**
     * Whether {@code text} (a statement of a trigger function's body or a rule's action) names the trigger's row
     * ({@code NEW} or {@code OLD}, also under the function's label: {@code f.new}) other than as one of the {@code
     * clear} columns ({@code NEW.n}, {@code OLD."n"}): the whole row ({@code NEW::text}, {@code row_to_json(NEW)},
     * {@code NEW.*}) or another column.
     */
    public static boolean namesRowBeyond(String text, Set<String> clear) {
        for (String column : rowOfWriteColumns(text)) {
            if (column.equals("*") || !clear.contains(column)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether {@code text} has the words {@code SET SCHEMA} in a row (a comment may stand between them).
     */
    public static boolean setsSchema(String text) {
        return wordsInARow(Lexer.tokenize(text, true).tokens(), "set", "schema");
    }

    /**
     * Whether an ALTER text takes a table out of its inheritance tree ({@code DETACH PARTITION}, {@code NO
     * INHERIT}), read from its tokens (a comment may stand between the words).
     */
    public static boolean leavesTree(String text) {
        List<Token> tokens = Lexer.tokenize(text, true).tokens();
        return wordsInARow(tokens, "detach", "partition") || wordsInARow(tokens, "no", "inherit");
    }

    /**
     * Whether an ALTER text puts a table into an inheritance tree ({@code INHERIT p}, {@code ATTACH PARTITION c}):
     * a write to the parent then reaches it. {@code NO INHERIT} takes one out.
     */
    public static boolean joinsTree(String text) {
        List<Token> tokens = Lexer.tokenize(text, true).tokens();
        for (int i = 0; i < tokens.size(); i++) {
            if (tokens.get(i).isWord("inherit") && (i == 0 || !tokens.get(i - 1).isWord("no"))) {
                return true;
            }
        }
        return wordsInARow(tokens, "attach", "partition");
    }

    /**
     * The name (as the server keeps it, without its schema) of the function, procedure, routine or aggregate that
     * a CREATE or ALTER text makes or changes: the one after that keyword.
     */
    public static Optional<String> routineName(String text) {
        List<Token> tokens = Lexer.tokenize(text, true).tokens();
        for (int i = 0; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (!(t.isWord("function") || t.isWord("procedure") || t.isWord("routine") || t.isWord("aggregate"))) {
                continue;
            }
            String name = null;
            for (int k = i + 1; k < tokens.size() && tokens.get(k).isIdentifier(); k += 2) {
                name = tokens.get(k).value();
                if (k + 1 >= tokens.size() || !tokens.get(k + 1).isOp(".")) {
                    break;
                }
            }
            return Optional.ofNullable(name).map(TextReferences::keptName);
        }
        return Optional.empty();
    }

    /**
     * The names (as the server keeps them) of the tables, views and sequences a CREATE SCHEMA text makes in the new
     * schema ({@code CREATE SCHEMA s CREATE VIEW v ...}), which the statement's facts do not hold: empty when it
     * makes none; absent when it makes something else (a trigger, an index) or a name cannot be read.
     */
    public static Optional<Set<String>> schemaElements(String text) {
        List<Token> tokens = Lexer.tokenize(text, true).tokens();
        Set<String> out = new LinkedHashSet<>();
        for (int i = 1; i < tokens.size(); i++) {
            if (tokens.get(i).isWord("grant")) {
                continue; // a grant on the schema's new objects makes none
            }
            if (!tokens.get(i).isWord("create")) {
                continue;
            }
            int k = i + 1;
            if (k + 1 < tokens.size() && tokens.get(k).isWord("or") && tokens.get(k + 1).isWord("replace")) {
                k += 2;
            }
            while (k < tokens.size() && (tokens.get(k).isWord("temp") || tokens.get(k).isWord("temporary")
                    || tokens.get(k).isWord("unlogged") || tokens.get(k).isWord("recursive"))) {
                k++;
            }
            if (k + 1 >= tokens.size() || !(tokens.get(k).isWord("table") || tokens.get(k).isWord("view")
                    || tokens.get(k).isWord("sequence")) || !tokens.get(k + 1).isIdentifier()) {
                return Optional.empty();
            }
            int last = k + 1;
            while (last + 2 < tokens.size() && tokens.get(last + 1).isOp(".") && tokens.get(last + 2).isIdentifier()) {
                last += 2;
            }
            out.add(keptName(tokens.get(last).value()));
        }
        return Optional.of(out);
    }

    /** Whether the keyword {@code first} is followed by the keyword {@code second} somewhere in {@code tokens}. */
    private static boolean wordsInARow(List<Token> tokens, String first, String second) {
        for (int i = 0; i + 1 < tokens.size(); i++) {
            if (tokens.get(i).isWord(first) && tokens.get(i + 1).isWord(second)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether a DISCARD text drops the session's prepared statements and portals, as {@code DISCARD ALL} does.
     * {@code DISCARD PLANS}, {@code SEQUENCES} and {@code TEMP} ({@code TEMPORARY}) keep them; any other text
     * (one Warden cannot read so) counts as dropping them.
     */
    public static boolean discardsNames(String text) {
        List<Token> tokens = Lexer.tokenize(text, true).tokens();
        if (tokens.size() < 2 || !tokens.get(0).isWord("discard")) {
            return true;
        }
        Token what = tokens.get(1);
        boolean kept = what.isWord("plans") || what.isWord("sequences") || what.isWord("temp")
                || what.isWord("temporary");
        return !kept || tokens.size() > 2 && !(tokens.size() == 3 && tokens.get(2).isOp(";"));
    }

    /** The schema {@code ALTER SCHEMA s RENAME TO n} renames ({@code s}, as the server keeps it), if the text is one. */
    public static Optional<String> renamedSchema(String text) {
        List<Token> tokens = Lexer.tokenize(text, true).tokens();
        if (tokens.size() >= 6 && tokens.get(0).isWord("alter") && tokens.get(1).isWord("schema")
                && tokens.get(2).isIdentifier() && tokens.get(3).isWord("rename") && tokens.get(4).isWord("to")) {
            return Optional.of(keptName(tokens.get(2).value()));
        }
        return Optional.empty();
    }

    /**
     * The names under which {@code relations} appear in {@code text}: each relation's own name and the alias
     * after it ({@code customers c}, {@code customers AS c}). A bare one of these in a filter is a whole row.
     */
    public static Set<String> aliasesOf(String text, Set<String> relations) {
        Set<String> out = new LinkedHashSet<>(relations);
        List<Token> tokens = Lexer.tokenize(text, true).tokens();
        for (int i = 0; i + 1 < tokens.size(); i++) {
            if (!tokens.get(i).isIdentifier() || !relations.contains(tokens.get(i).value())) {
                continue;
            }
            int j = tokens.get(i + 1).isWord("as") ? i + 2 : i + 1;
            if (j < tokens.size() && tokens.get(j).isIdentifier() && !isClauseWord(tokens.get(j))
                    && !tokens.get(j).isWord("on") && !tokens.get(j).isWord("using")) {
                out.add(tokens.get(j).value());
            }
        }
        return out;
    }

    /**
     * The aliases of parenthesised joins that hold one of {@code relations} ({@code (customers c CROSS JOIN o) j}):
     * such an alias is the joined row, whose columns no name in the text shows ({@code j::text}, {@code
     * row_to_json(j)}, {@code j.to_json}). A helper's pass (a128) read every masked column through one. A parenthesised
     * group that begins a query ({@code (SELECT ...) s}) is a subquery, whose columns its select list names.
     */
    public static Set<String> joinAliases(String text, Set<String> relations) {
        Set<String> out = new LinkedHashSet<>();
        List<Token> tokens = Lexer.tokenize(text, true).tokens();
        for (int open = 0; open < tokens.size(); open++) {
            if (!tokens.get(open).isOp("(") || open + 1 >= tokens.size()) {
                continue;
            }
            Token first = tokens.get(open + 1);
            if (first.isWord("select") || first.isWord("values") || first.isWord("with") || first.isWord("table")) {
                continue;
            }
            Token before = open > 0 ? tokens.get(open - 1) : null;
            if (before == null || !(before.isWord("from") || before.isWord("join") || before.isOp(",")
                    || before.isOp("(") || before.isWord("lateral"))) {
                continue; // a call's or an expression's parentheses (count(customers.id) AS n), not a FROM item
            }
            int depth = 0;
            int close = -1;
            boolean holds = false;
            for (int k = open; k < tokens.size(); k++) {
                Token t = tokens.get(k);
                if (t.isOp("(")) {
                    depth++;
                } else if (t.isOp(")") && --depth == 0) {
                    close = k;
                    break;
                } else if (t.isIdentifier() && relations.contains(t.value())) {
                    holds = true;
                }
            }
            if (!holds || close < 0) {
                continue;
            }
            int j = close + 1 < tokens.size() && tokens.get(close + 1).isWord("as") ? close + 2 : close + 1;
            if (j < tokens.size() && tokens.get(j).isIdentifier() && !isClauseWord(tokens.get(j))
                    && !tokens.get(j).isWord("on") && !tokens.get(j).isWord("using")) {
                out.add(tokens.get(j).value());
            }
        }
        return out;
    }

    /**
     * The first name written after one of {@code aliases} and a dot ({@code c.x}, {@code (c).x}) that is not one of
     * {@code columns} (lower-case) and not followed by a parenthesis, or empty. PostgreSQL reads {@code c.x}, where
     * {@code c}'s row has no column {@code x}, as the call {@code x(c)} of the whole row (attribute notation): a
     * helper's pass (a126) had {@code translate(c.row_to_json::text, ...)} and {@code c.json_agg} return every masked
     * value of {@code customers c} in clear, named by no column. Under both readings of plain strings.
     */
    public static Optional<String> callOnRow(String text, Set<String> aliases, Set<String> columns) {
        for (boolean scs : new boolean[] {true, false}) {
            List<Token> tokens = Lexer.tokenize(text, scs).tokens();
            for (int k = 2; k < tokens.size(); k++) {
                Token name = tokens.get(k);
                if (!tokens.get(k - 1).isOp(".") || !name.isIdentifier()
                        || (k + 1 < tokens.size() && tokens.get(k + 1).isOp("("))) {
                    continue;
                }
                Token row = tokens.get(k - 2);
                if (row.isOp(")") && k >= 4 && tokens.get(k - 4).isOp("(")) {
                    row = tokens.get(k - 3); // (c).x
                }
                if (row.isIdentifier() && aliases.contains(row.value())
                        && !columns.contains(name.value().toLowerCase(java.util.Locale.ROOT))) {
                    return Optional.of(row.value() + "." + name.value());
                }
            }
        }
        return Optional.empty();
    }

    private static boolean isClauseWord(Token t) {
        return t.type() == Lexer.Type.WORD && (FILTER_CLAUSES.contains(t.value()) || OTHER_CLAUSES.contains(t.value())
                || t.value().equals("natural") || t.value().equals("left") || t.value().equals("right")
                || t.value().equals("inner") || t.value().equals("full") || t.value().equals("cross")
                || t.value().equals("where") || t.value().equals("group") || t.value().equals("order"));
    }

    /**
     * The first use of a column named in {@code sensitive} as a filter, sort, group or join key (in WHERE, ON,
     * USING, HAVING, GROUP BY, ORDER BY, PARTITION BY, CASE WHEN), other than equality with a bound parameter
     * ({@code email = $1}), or where it decides how many rows come back ({@link #decidesRowCount}); empty when
     * there is none. A column inside a parenthesised expression counts for every clause around it, so
     * {@code ORDER BY (SELECT ssn ...)} is a sort on {@code ssn}.
     */
    public static Optional<String> filterUse(String text, Set<String> sensitive) {
        List<Token> tokens = Lexer.tokenize(text, true).tokens();
        Groups groups = new Groups(tokens);
        Set<String> carrying = carrying(tokens, groups, sensitive);
        for (int i = 0; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (!t.isIdentifier() || !carrying.contains(t.value())) {
                continue;
            }
            if (i + 1 < tokens.size() && tokens.get(i + 1).isOp("(")) {
                continue; // a function call of that name
            }
            if (i + 1 < tokens.size() && tokens.get(i + 1).isOp(".")) {
                continue; // a qualifier (a table or alias of that name), not the column
            }
            if (inFilterClause(tokens, i) && !equalityWithParameter(tokens, i) || decidesRowCount(tokens, i)) {
                return Optional.of(t.value());
            }
        }
        return comparedWhole(tokens, groups, carrying);
    }

    /** For each token, the index of the parenthesis opening the group it is in (-1 outside any); the closing one. */
    private static final class Groups {
        final int[] parent;
        final int[] close;

        Groups(List<Token> tokens) {
            parent = new int[tokens.size()];
            close = new int[tokens.size()];
            java.util.ArrayDeque<Integer> open = new java.util.ArrayDeque<>();
            for (int i = 0; i < tokens.size(); i++) {
                close[i] = -1;
                if (tokens.get(i).isOp(")") && !open.isEmpty()) {
                    close[open.pop()] = i;
                }
                parent[i] = open.isEmpty() ? -1 : open.peek();
                if (tokens.get(i).isOp("(")) {
                    open.push(i);
                }
            }
        }

        /** The closing parenthesis of the group opening at {@code open}, or the end when it does not close. */
        int end(int open, int size) {
            return close[open] < 0 ? size : close[open];
        }
    }

    /** Words after a closing parenthesis that are no alias of what it closes. */
    private static final Set<String> NOT_ALIASES = Set.of("and", "or", "not", "is", "in", "like", "ilike", "similar",
            "between", "then", "else", "end", "when", "asc", "desc", "nulls", "collate", "over", "filter", "within",
            "join", "left", "right", "inner", "full", "cross", "natural", "lateral", "tablesample", "with", "do",
            "escape", "isnull", "notnull", "union", "intersect", "except", "all", "any", "some", "where", "on",
            "using", "having", "by", "select", "from", "set", "values", "returning", "into", "as", "limit", "offset",
            "window", "group", "order", "fetch", "for", "default", "conflict", "to", "at", "overlaps", "rows",
            "range", "groups", "cascade", "restrict", "primary", "references", "check", "constraint",
            "unique", "inherits", "partition", "tablespace", "server", "options", "language", "returns");

    /**
     * The names in {@code tokens} that carry a value of a name in {@code sensitive}: a select list's item over one
     * (by its alias, or the name PostgreSQL gives it: a column's, a function's, a cast's type, {@code case},
     * {@code ?column?}), a parenthesised group over one by the alias after it and that alias's column list (a
     * subquery, a function or VALUES in FROM, {@code ROWS FROM}), and a CTE over one by its name and column list;
     * followed until nothing new carries. A filter on {@code c} in {@code (SELECT substr(ssn, 1, 1) AS c ...) s
     * WHERE c = '5'} filters on the SSN.
     */
    private static Set<String> carrying(List<Token> tokens, Groups groups, Set<String> sensitive) {
        Set<String> out = new java.util.HashSet<>(sensitive);
        boolean grew = true;
        while (grew) {
            grew = false;
            for (int s = 0; s < tokens.size(); s++) {
                if (tokens.get(s).isWord("select")) {
                    for (int[] item : targets(tokens, groups, s)) {
                        if (carries(tokens, item[0], item[1], out)) {
                            grew |= out.addAll(itemNames(tokens, item[0], item[1]));
                        }
                    }
                }
                if (tokens.get(s).isOp("(") && groups.close[s] > 0 && carries(tokens, s + 1, groups.close[s], out)) {
                    grew |= out.addAll(carriedBy(tokens, groups, s, aliasAfter(tokens, groups, groups.close[s] + 1),
                            out));
                    grew |= out.addAll(carriedBy(tokens, groups, s, cteNames(tokens, groups, s), out));
                }
            }
        }
        return out;
    }

    /** Whether a token in [from, to) names a value of a name in {@code names} (not a function or a qualifier). */
    private static boolean carries(List<Token> tokens, int from, int to, Set<String> names) {
        return carrier(tokens, from, to, names) >= 0;
    }

    private static int carrier(List<Token> tokens, int from, int to, Set<String> names) {
        for (int i = from; i < to; i++) {
            if (tokens.get(i).isIdentifier() && names.contains(tokens.get(i).value())
                    && !(i + 1 < tokens.size() && (tokens.get(i + 1).isOp("(") || tokens.get(i + 1).isOp(".")))) {
                return i;
            }
        }
        return -1;
    }

    /** The items of the select list after the SELECT at {@code s}, as [from, to) token ranges. */
    private static List<int[]> targets(List<Token> tokens, Groups groups, int s) {
        int level = groups.parent[s];
        int end = level < 0 ? tokens.size() : groups.end(level, tokens.size());
        int i = s + 1;
        if (i < end && tokens.get(i).isWord("all")) {
            i++;
        } else if (i < end && tokens.get(i).isWord("distinct")) {
            i++;
            if (i + 1 < end && tokens.get(i).isWord("on") && tokens.get(i + 1).isOp("(")) {
                i = groups.end(i + 1, tokens.size()) + 1;
            }
        }
        List<int[]> items = new ArrayList<>();
        int from = i;
        for (; i < end; i++) {
            Token t = tokens.get(i);
            if (groups.parent[i] != level) {
                continue;
            }
            if (t.isOp(";") || (t.type() == Lexer.Type.WORD && AFTER_TARGETS.contains(t.value()))) {
                break;
            }
            if (t.isOp(",")) {
                items.add(new int[] {from, i});
                from = i + 1;
            }
        }
        if (from < i) {
            items.add(new int[] {from, i});
        }
        return items;
    }

    /**
     * The names a select list's item [from, to) may go by: its last word (an alias, a column's name, a cast's
     * type), its first function's name, {@code case} and {@code ?column?}. More than PostgreSQL gives it, never
     * less.
     */
    private static Set<String> itemNames(List<Token> tokens, int from, int to) {
        Set<String> names = new LinkedHashSet<>();
        names.add("?column?");
        if (tokens.get(to - 1).isIdentifier()) {
            names.add(tokens.get(to - 1).value());
        }
        if (tokens.get(from).isWord("case")) {
            names.add("case");
        }
        for (int i = from; i + 1 < to; i++) {
            if (tokens.get(i).isIdentifier() && tokens.get(i + 1).isOp("(")) {
                names.add(tokens.get(i).value());
                break;
            }
        }
        return names;
    }

    /** The alias at {@code at} ({@code [WITH ORDINALITY] [AS] name [(columns)]}) and its column names, if any. */
    private static List<String> aliasAfter(List<Token> tokens, Groups groups, int at) {
        int j = at;
        if (j + 1 < tokens.size() && tokens.get(j).isWord("with") && tokens.get(j + 1).isWord("ordinality")) {
            j += 2;
        }
        if (j < tokens.size() && tokens.get(j).isWord("as")) {
            j++;
        }
        if (j >= tokens.size() || !tokens.get(j).isIdentifier()
                || (tokens.get(j).type() == Lexer.Type.WORD && NOT_ALIASES.contains(tokens.get(j).value()))) {
            return List.of();
        }
        List<String> names = new ArrayList<>();
        names.add(tokens.get(j).value());
        if (j + 1 < tokens.size() && tokens.get(j + 1).isOp("(")) {
            names.addAll(identifiersIn(tokens, j + 2, groups.end(j + 1, tokens.size())));
        }
        return names;
    }

    /**
     * For the body opening at {@code open} of {@code name [(columns)] AS [[NOT] MATERIALIZED] (}: the name, then
     * the columns.
     */
    private static List<String> cteNames(List<Token> tokens, Groups groups, int open) {
        int k = open - 1;
        while (k > 0 && (tokens.get(k).isWord("materialized") || tokens.get(k).isWord("not"))) {
            k--;
        }
        if (k < 1 || !tokens.get(k).isWord("as")) {
            return List.of();
        }
        List<String> names = new ArrayList<>();
        int nameAt = k - 1;
        List<String> columns = List.of();
        if (tokens.get(nameAt).isOp(")")) {
            int listOpen = opening(groups, nameAt);
            if (listOpen > 0) {
                columns = identifiersIn(tokens, listOpen + 1, nameAt);
                nameAt = listOpen - 1;
            }
        }
        if (!tokens.get(nameAt).isIdentifier()) {
            return List.of();
        }
        names.add(tokens.get(nameAt).value());
        names.addAll(columns);
        return names;
    }

    /**
     * Of {@code names} (a group's alias, then its column names), those that carry: the alias (the whole row), and
     * a column by its position when the group is a SELECT whose lists say which item carries, every column
     * otherwise (VALUES, a function, {@code SELECT *}).
     */
    private static List<String> carriedBy(List<Token> tokens, Groups groups, int open, List<String> names,
                                          Set<String> carrying) {
        if (names.size() <= 1 || !tokens.get(open + 1).isWord("select")) {
            return names;
        }
        List<String> out = new ArrayList<>();
        out.add(names.get(0));
        for (int column = 1; column < names.size(); column++) {
            boolean carries = false;
            for (int s : arms(tokens, groups, open)) {
                List<int[]> items = targets(tokens, groups, s);
                boolean star = items.stream().anyMatch(item -> tokens.get(item[1] - 1).isOp("*"));
                carries |= star || column > items.size()
                        || carries(tokens, items.get(column - 1)[0], items.get(column - 1)[1], carrying);
            }
            if (carries) {
                out.add(names.get(column));
            }
        }
        return out;
    }

    /** The opening parenthesis whose group {@code closeAt} closes, or -1. */
    private static int opening(Groups groups, int closeAt) {
        for (int i = closeAt - 1; i >= 0; i--) {
            if (groups.close[i] == closeAt) {
                return i;
            }
        }
        return -1;
    }

    private static List<String> identifiersIn(List<Token> tokens, int from, int to) {
        List<String> names = new ArrayList<>();
        for (int i = from; i < to; i++) {
            if (tokens.get(i).isIdentifier()) {
                names.add(tokens.get(i).value());
            }
        }
        return names;
    }

    /**
     * A carrying name PostgreSQL compares without a clause naming it: any, in a statement with a NATURAL JOIN (which
     * joins on the names its sides share); an item of a select list that is sorted or
     * grouped by its position ({@code ORDER BY 2}, {@code GROUP BY 1}), made DISTINCT, or compared by a set
     * operation that removes or keeps rows by value (UNION without ALL, INTERSECT, EXCEPT): which rows come back,
     * or in which order, then tells the value ({@code SELECT substr(ssn, 1, 1) ... EXCEPT SELECT '5'} returns no
     * row for a 5).
     */
    private static Optional<String> comparedWhole(List<Token> tokens, Groups groups, Set<String> carrying) {
        for (int i = 0; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (t.isWord("natural")) {
                // Joins on every name its sides share, none of them written: any carrying name may be one.
                int c = carrier(tokens, 0, tokens.size(), carrying);
                if (c >= 0) {
                    return Optional.of(tokens.get(c).value());
                }
            }
            if (t.isWord("select") && i + 1 < tokens.size() && tokens.get(i + 1).isWord("distinct")
                    && !(i + 2 < tokens.size() && tokens.get(i + 2).isWord("on"))) {
                for (int[] item : targets(tokens, groups, i)) {
                    int c = carrier(tokens, item[0], item[1], carrying);
                    if (c >= 0) {
                        return Optional.of(tokens.get(c).value());
                    }
                }
            }
            boolean setOperation = t.isWord("intersect") || t.isWord("except")
                    || (t.isWord("union") && !(i + 1 < tokens.size() && tokens.get(i + 1).isWord("all")));
            if (setOperation) {
                for (int s : arms(tokens, groups, groups.parent[i])) {
                    for (int[] item : targets(tokens, groups, s)) {
                        int c = carrier(tokens, item[0], item[1], carrying);
                        if (c >= 0) {
                            return Optional.of(tokens.get(c).value());
                        }
                    }
                }
            }
            if (t.isWord("by") && i > 0 && (tokens.get(i - 1).isWord("order") || tokens.get(i - 1).isWord("group"))) {
                Optional<String> byPosition = byPosition(tokens, groups, i, carrying);
                if (byPosition.isPresent()) {
                    return byPosition;
                }
            }
        }
        return Optional.empty();
    }

    /**
     * The SELECTs whose lists make the rows of the level inside the group opening at {@code level}: those at that
     * level and those of parenthesised operands of a set operation there ({@code (SELECT ...) UNION (SELECT ...)}).
     */
    private static List<Integer> arms(List<Token> tokens, Groups groups, int level) {
        List<Integer> arms = new ArrayList<>();
        for (int s = 0; s < tokens.size(); s++) {
            if (!tokens.get(s).isWord("select")) {
                continue;
            }
            int p = groups.parent[s];
            if (p == level) {
                arms.add(s);
            } else if (p >= 0 && groups.parent[p] == level && s == p + 1
                    && ((p > 0 && isSetOperationWord(tokens.get(p - 1)))
                        || (groups.close[p] > 0 && groups.close[p] + 1 < tokens.size()
                            && isSetOperationWord(tokens.get(groups.close[p] + 1))))) {
                arms.add(s);
            }
        }
        return arms;
    }

    private static boolean isSetOperationWord(Token t) {
        return t.isWord("union") || t.isWord("intersect") || t.isWord("except") || t.isWord("all")
                || t.isWord("distinct");
    }

    /** The first item of the ORDER BY or GROUP BY list after {@code by} that is a position naming a carrying item. */
    private static Optional<String> byPosition(List<Token> tokens, Groups groups, int by, Set<String> carrying) {
        int level = groups.parent[by];
        int end = level < 0 ? tokens.size() : groups.end(level, tokens.size());
        boolean itemStart = true;
        for (int i = by + 1; i < end; i++) {
            Token t = tokens.get(i);
            if (groups.parent[i] != level) {
                continue;
            }
            if (t.isOp(";") || (t.type() == Lexer.Type.WORD && Set.of("limit", "offset", "fetch", "for", "having",
                    "window", "union", "intersect", "except", "order").contains(t.value()))) {
                break;
            }
            if (itemStart && t.type() == Lexer.Type.NUMBER && t.value().chars().allMatch(Character::isDigit)) {
                int position = Integer.parseInt(t.value().length() > 6 ? "0" : t.value());
                for (int s : arms(tokens, groups, level)) {
                    List<int[]> items = targets(tokens, groups, s);
                    if (position >= 1 && position <= items.size()) {
                        int[] item = items.get(position - 1);
                        int c = carrier(tokens, item[0], item[1], carrying);
                        if (c >= 0) {
                            return Optional.of(tokens.get(c).value());
                        }
                    }
                }
            }
            itemStart = t.isOp(",");
        }
        return Optional.empty();
    }

    /**
     * Whether the column at {@code at} is a whole element of the array literal that the call opening at
     * {@code open} takes ({@code unnest(ARRAY[email, ssn])}): that array's length is its number of elements,
     * whatever the values.
     */
    private static boolean wholeArrayElement(List<Token> tokens, int open, int at) {
        if (open + 2 >= at || !tokens.get(open + 1).isIdentifier() || !tokens.get(open + 1).value().equals("array")
                || !tokens.get(open + 2).isOp("[")) {
            return false;
        }
        int before = at - 1;
        if (tokens.get(before).isOp(".") && before >= 2 && tokens.get(before - 1).isIdentifier()) {
            before -= 2;
        }
        for (int i = open + 3; i < before; i++) {
            if (tokens.get(i).isOp("[") || tokens.get(i).isOp("(")) {
                return false; // not directly an element of the outer literal
            }
        }
        return (tokens.get(before).isOp("[") || tokens.get(before).isOp(",")) && at + 1 < tokens.size()
                && (tokens.get(at + 1).isOp("]") || tokens.get(at + 1).isOp(","));
    }

    /** Clauses whose value is a number of rows. */
    private static final Set<String> ROW_COUNT_CLAUSES = Set.of("limit", "offset", "fetch");

    /**
     * Built-in functions that return a set whose size their arguments decide ({@code generate_series(1, n)}, an
     * array's or a document's elements, a string's pieces). Reached in the select list or in FROM.
     */
    private static final Set<String> ROW_SETS = Set.of("generate_series", "generate_subscripts", "unnest",
            "regexp_matches", "regexp_split_to_table", "string_to_table", "json_array_elements",
            "json_array_elements_text", "jsonb_array_elements", "jsonb_array_elements_text", "json_each",
            "json_each_text", "jsonb_each", "jsonb_each_text", "json_object_keys", "jsonb_object_keys",
            "jsonb_path_query", "json_to_recordset", "jsonb_to_recordset", "json_populate_recordset",
            "jsonb_populate_recordset", "xmltable", "json_table", "ts_parse", "ts_debug");

    /**
     * Whether the token at {@code at} is inside what decides how many rows come back: a LIMIT, OFFSET or FETCH
     * FIRST count, or the arguments of a set-returning function ({@link #ROW_SETS}), at its own level or any
     * level around it. The count tells a number as well as a filter does ({@code generate_series(1,
     * substr(ssn, 1, 3)::int)} returns 78 rows for 078-05-1120).
     */
    private static boolean decidesRowCount(List<Token> tokens, int at) {
        return enclosedBy(tokens, at, ROW_COUNT_CLAUSES, open -> open > 0 && tokens.get(open - 1).isIdentifier()
                && ROW_SETS.contains(tokens.get(open - 1).value())
                && !(tokens.get(open - 1).value().equals("unnest") && wholeArrayElement(tokens, open, at)));
    }

    /**
     * The first use of a name in {@code sensitive} (a column, or a relation or alias, which stands for whole rows)
     * as a value a write could store: outside the filter clauses ({@link #filterUse}), outside the statement's
     * own top-level RETURNING list (which goes to the client, masked there), and not where a relation or an alias
     * is named ({@code FROM t x}, {@code UPDATE t}, {@code INSERT INTO t (a, b)}). Empty when there is none.
     */
    public static Optional<String> valueUse(String text, Set<String> sensitive) {
        List<Token> tokens = Lexer.tokenize(text, true).tokens();
        return valueUse(tokens, 0, tokens.size(), sensitive);
    }

    private static Optional<String> valueUse(List<Token> tokens, int from, int to, Set<String> sensitive) {
        for (int i = from; i < to; i++) {
            if (isValueUse(tokens, i, sensitive)) {
                return Optional.of(tokens.get(i).value());
            }
        }
        return Optional.empty();
    }

    private static boolean isValueUse(List<Token> tokens, int i, Set<String> sensitive) {
        Token t = tokens.get(i);
        if (!t.isIdentifier() || !sensitive.contains(t.value())) {
            return false;
        }
        if (i + 1 < tokens.size() && (tokens.get(i + 1).isOp("(") || tokens.get(i + 1).isOp("."))) {
            return false; // a function of that name, or a qualifier
        }
        return !inFilterClause(tokens, i) && !inTopLevelReturning(tokens, i) && !namesRelationOrTarget(tokens, i);
    }

    /** Words that end a plain SELECT's target list at its own level. */
    private static final Set<String> AFTER_TARGETS = Set.of("from", "where", "group", "having", "window", "order",
            "limit", "offset", "fetch", "for", "union", "intersect", "except", "on", "returning", "into");

    /**
     * For an INSERT that names its columns and gives its rows as a VALUES list or as one plain SELECT, whether each
     * column is given a value that uses a name in {@code sensitive} ({@link #valueUse}): the i-th value of a row, or
     * the i-th item of the SELECT's list, goes into the i-th column. Null when the text has another form (WITH
     * before it, no column list, a set operation, {@code SELECT *}, a row of another length, a plain string
     * whose reading depends on {@code standard_conforming_strings}), or when a sensitive name is used as a value
     * anywhere but inside one of those values (in a FROM list, ON CONFLICT ... DO UPDATE): then every column it
     * writes counts.
     */
    public static java.util.Map<String, Boolean> insertValueUses(String text, Set<String> sensitive) {
        Lexer.Result lexed = Lexer.tokenize(text, true);
        if (lexed.settingSensitive() || lexed.unterminated()) {
            return null;
        }
        List<Token> tokens = lexed.tokens();
        StoredValues rows = insertRows(tokens, null);
        if (rows == null) {
            return null;
        }
        java.util.Map<String, Boolean> out = new java.util.LinkedHashMap<>();
        for (String c : rows.columns()) {
            out.merge(c, false, Boolean::logicalOr);
        }
        for (int i = rows.valuesFrom(); i < rows.end(); i++) {
            if (!isValueUse(tokens, i, sensitive)) {
                continue;
            }
            Assignment item = rows.itemAt(i);
            if (item == null) {
                return null; // used as a value outside the rows: where it lands is not read here
            }
            out.put(item.column(), true);
        }
        return out;
    }

    /**
     * The values an INSERT or UPDATE stores, each with the column it goes into; {@code valuesFrom} to {@code end}
     * are the tokens where a value used outside them would land somewhere not read here.
     */
    private record StoredValues(List<String> columns, List<Assignment> items, int valuesFrom, int end) {

        /** The value holding token {@code i}, or null. */
        Assignment itemAt(int i) {
            for (Assignment a : items) {
                if (a.from() <= i && i < a.to()) {
                    return a;
                }
            }
            return null;
        }

        /** Whether token {@code i} is in the column an UPDATE assigns ({@code SET email[1] = ...}), not a value. */
        boolean inTarget(int i) {
            for (Assignment a : items) {
                if (a.target() >= 0 && a.target() <= i && i < a.from()) {
                    return true;
                }
            }
            return false;
        }
    }

    /**
     * An INSERT's rows (a VALUES list or one plain SELECT) read as {@link #insertValueUses} reads them; without a
     * column list, {@code tableColumns} (the table's columns in order) when given. Null for any other form.
     */
    private static StoredValues insertRows(List<Token> tokens, List<String> tableColumns) {
        int n = tokens.size();
        while (n > 0 && tokens.get(n - 1).isOp(";")) {
            n--;
        }
        if (n < 4 || !tokens.get(0).isWord("insert") || !tokens.get(1).isWord("into")) {
            return null;
        }
        int k = 2;
        // [schema .] table [AS alias]
        if (!tokens.get(k).isIdentifier()) {
            return null;
        }
        k++;
        while (k + 1 < n && tokens.get(k).isOp(".") && tokens.get(k + 1).isIdentifier()) {
            k += 2;
        }
        if (k + 1 < n && tokens.get(k).isWord("as") && tokens.get(k + 1).isIdentifier()) {
            k += 2;
        }
        List<String> columns = new ArrayList<>();
        if (k < n && tokens.get(k).isOp("(")) {
            k++;
            while (true) {
                if (k + 1 >= n || !tokens.get(k).isIdentifier()) {
                    return null;
                }
                columns.add(tokens.get(k).value());
                Token after = tokens.get(k + 1);
                k += 2;
                if (after.isOp(")")) {
                    break;
                }
                if (!after.isOp(",")) {
                    return null; // a field or subscript of a column
                }
            }
        } else if (tableColumns == null || tableColumns.isEmpty()) {
            return null;
        } else {
            columns.addAll(tableColumns);
        }
        int valuesFrom = k;
        if (k + 2 < n && tokens.get(k).isWord("overriding") && tokens.get(k + 2).isWord("value")) {
            k += 3;
        }
        // The token ranges [from, to) of the values, and the column each goes into.
        List<int[]> items = new ArrayList<>();
        if (k < n && tokens.get(k).isWord("values")) {
            k++;
            while (true) {
                if (k >= n || !tokens.get(k).isOp("(")) {
                    return null;
                }
                int end = listItems(tokens, k + 1, n, items, columns.size());
                if (end < 0 || end >= n || !tokens.get(end).isOp(")")) {
                    return null;
                }
                k = end + 1;
                if (k < n && tokens.get(k).isOp(",")) {
                    k++;
                    continue;
                }
                break;
            }
        } else if (k < n && tokens.get(k).isWord("select")) {
            k++;
            if (k < n && tokens.get(k).isWord("all")) {
                k++;
            } else if (k < n && tokens.get(k).isWord("distinct")) {
                if (k + 1 < n && tokens.get(k + 1).isWord("on")) {
                    return null;
                }
                k++;
            }
            int end = listItems(tokens, k, n, items, columns.size());
            if (end < 0 || (end < n && !(tokens.get(end).type() == Lexer.Type.WORD
                    && AFTER_TARGETS.contains(tokens.get(end).value())))) {
                return null;
            }
            for (int[] item : items) {
                Token last = tokens.get(item[1] - 1);
                if (last.isOp("*")) {
                    return null; // SELECT *, t.*: whole rows
                }
            }
            int depth = 0;
            for (int i = end; i < n; i++) {
                Token t = tokens.get(i);
                if (t.isOp("(")) {
                    depth++;
                } else if (t.isOp(")")) {
                    depth--;
                } else if (depth == 0 && (t.isWord("union") || t.isWord("intersect") || t.isWord("except"))) {
                    return null;
                }
            }
        } else {
            return null;
        }
        List<Assignment> values = new ArrayList<>(items.size());
        for (int j = 0; j < items.size(); j++) {
            values.add(new Assignment(columns.get(j % columns.size()), -1, items.get(j)[0], items.get(j)[1]));
        }
        return new StoredValues(columns, values, valuesFrom, n);
    }

    /**
     * Splits the comma-separated list that starts at {@code from} at its own level into {@code out} (token ranges),
     * up to the first unmatched {@code )} or a word in {@link #AFTER_TARGETS} at its level, or {@code to}. Returns
     * where it stopped, or -1 when the list did not have {@code count} non-empty items.
     */
    private static int listItems(List<Token> tokens, int from, int to, List<int[]> out, int count) {
        int depth = 0;
        int start = from;
        int found = 0;
        int i = from;
        for (; i <= to; i++) {
            Token t = i < to ? tokens.get(i) : null;
            boolean ends = t == null || depth == 0 && (t.isOp(")") || t.isOp(",")
                    || t.type() == Lexer.Type.WORD && AFTER_TARGETS.contains(t.value()));
            if (!ends) {
                if (t.isOp("(") || t.isOp("[")) {
                    depth++;
                } else if (t.isOp(")") || t.isOp("]")) {
                    depth--;
                }
                continue;
            }
            if (i == start) {
                return -1;
            }
            out.add(new int[] {start, i});
            found++;
            if (t == null || !t.isOp(",")) {
                break;
            }
            start = i + 1;
        }
        return found == count ? Math.min(i, to) : -1;
    }

    /**
     * One value an UPDATE's SET list or an INSERT's row stores: the column, where an UPDATE names it (-1 for an
     * INSERT), and the value's tokens {@code [from, to)}.
     */
    private record Assignment(String column, int target, int from, int to) {
    }

    /**
     * For each column an UPDATE's top-level SET assigns, whether its expression uses a name in {@code sensitive} as
     * a value ({@link #valueUse}); null when the text is not such an UPDATE, its SET list has a form this does
     * not read ({@code SET (a, b) = ...}), or it uses such a name as a value outside its SET list (a subquery in
     * FROM, whose columns a SET expression may name under other names): then every column it writes counts.
     */
    public static java.util.Map<String, Boolean> updateValueUses(String text, Set<String> sensitive) {
        List<Token> tokens = Lexer.tokenize(text, true).tokens();
        StoredValues set = updateAssignments(tokens);
        if (set == null) {
            return null;
        }
        java.util.Map<String, Boolean> out = new java.util.LinkedHashMap<>();
        for (Assignment a : set.items()) {
            out.merge(a.column(), valueUse(tokens, a.from(), a.to(), sensitive).isPresent(), Boolean::logicalOr);
        }
        for (int i = set.valuesFrom(); i < set.end(); i++) {
            if (isValueUse(tokens, i, sensitive) && !set.inTarget(i) && set.itemAt(i) == null) {
                return null; // a subquery or LATERAL in FROM: SET note = s.e may store what it computes
            }
        }
        return out;
    }

    /** An UPDATE's top-level SET list, each expression with its column; null for a form not read here. */
    private static StoredValues updateAssignments(List<Token> tokens) {
        int k = 0;
        while (k < tokens.size() && !tokens.get(k).isWord("update")) {
            if (tokens.get(k).isOp("(")) {
                return null; // WITH ... (...) UPDATE: left to the conservative reading
            }
            k++;
        }
        int depth = 0;
        int set = -1;
        for (int i = k; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (t.isOp("(")) {
                depth++;
            } else if (t.isOp(")")) {
                depth--;
            } else if (depth == 0 && t.isWord("set")) {
                set = i;
                break;
            }
        }
        if (set < 0) {
            return null;
        }
        List<Assignment> out = new ArrayList<>();
        List<String> columns = new ArrayList<>();
        int start = set + 1;
        depth = 0;
        for (int i = start; i <= tokens.size(); i++) {
            Token t = i < tokens.size() ? tokens.get(i) : null;
            boolean ends = t == null || depth == 0 && (t.isOp(",") || t.isOp(";") || t.isWord("from")
                    || t.isWord("where") || t.isWord("returning"));
            if (t != null && t.isOp("(")) {
                depth++;
            } else if (t != null && t.isOp(")")) {
                depth--;
            }
            if (!ends) {
                continue;
            }
            // column [ . field | [subscript] ] = expression
            if (start + 1 >= i || !tokens.get(start).isIdentifier()) {
                return null;
            }
            int eq = start + 1;
            while (eq < i && !tokens.get(eq).isOp("=")) {
                eq++;
            }
            if (eq >= i) {
                return null;
            }
            out.add(new Assignment(tokens.get(start).value(), start, eq + 1, i));
            columns.add(tokens.get(start).value());
            if (t == null || !t.isOp(",")) {
                break;
            }
            start = i + 1;
        }
        return new StoredValues(columns, out, k, tokens.size());
    }

    /** Functions that change the letters of a value but not its shape: a copy through them is still a copy. */
    private static final Set<String> SHAPE_KEEPING = Set.of("lower", "upper", "btrim", "trim", "ltrim", "rtrim");

    /**
     * For an INSERT (of a table whose columns in order are {@code tableColumns}, when it names none) or an UPDATE
     * that stores a value using a name in {@code sensitive}, whether each column it stores into is given a value
     * computed from one: anything but such a name itself, bare or qualified, or {@code lower}, {@code upper} or a
     * trim of it. Null when the text has another form, or uses a sensitive name as a value outside the values it
     * stores (a subquery in FROM, a CTE): then what lands where is not read here.
     */
    public static java.util.Map<String, Boolean> computedValueStores(String text, Set<String> sensitive,
                                                                     List<String> tableColumns) {
        return computedValueStores(text, sensitive, tableColumns, (column, source) -> true);
    }

    /**
     * {@link #computedValueStores(String, Set, List)}, where a copy as it is counts as a copy only when
     * {@code keepsMasking} holds for the column stored into and the name copied (its last part, as written): a
     * value parked in a column that shows nothing of it (a redacted ssn may hold anything computed) is computed
     * for a column that shows part of it.
     */
    public static java.util.Map<String, Boolean> computedValueStores(
            String text, Set<String> sensitive, List<String> tableColumns,
            java.util.function.BiPredicate<String, String> keepsMasking) {
        Lexer.Result lexed = Lexer.tokenize(text, true);
        if (lexed.settingSensitive() || lexed.unterminated()) {
            return null;
        }
        List<Token> tokens = lexed.tokens();
        StoredValues stored = !tokens.isEmpty() && tokens.get(0).isWord("insert") ? insertRows(tokens, tableColumns)
                : updateAssignments(tokens);
        if (stored == null) {
            return null;
        }
        java.util.Map<String, Boolean> out = new java.util.LinkedHashMap<>();
        for (String c : stored.columns()) {
            out.put(c, false);
        }
        for (int i = stored.valuesFrom(); i < stored.end(); i++) {
            if (!isValueUse(tokens, i, sensitive) || stored.inTarget(i)) {
                continue;
            }
            Assignment item = stored.itemAt(i);
            if (item == null) {
                return null;
            }
            String copied = copiedAsItIs(tokens, item);
            if (copied == null || !keepsMasking.test(item.column(), copied)) {
                out.put(item.column(), true);
            }
        }
        return out;
    }

    /**
     * The name {@code item}'s tokens copy when they are one name, bare or qualified, or a {@link #SHAPE_KEEPING}
     * call of one: its last part, as written (unquoted); null otherwise.
     */
    private static String copiedAsItIs(List<Token> tokens, Assignment item) {
        int from = item.from();
        int to = item.to();
        if (to - from >= 4 && tokens.get(from).type() == Lexer.Type.WORD
                && SHAPE_KEEPING.contains(tokens.get(from).value()) && tokens.get(from + 1).isOp("(")
                && tokens.get(to - 1).isOp(")")) {
            from += 2;
            to -= 1;
        }
        if (from >= to || !tokens.get(from).isIdentifier()) {
            return null;
        }
        for (int i = from + 1; i < to; i += 2) {
            if (i + 1 >= to || !tokens.get(i).isOp(".") || !tokens.get(i + 1).isIdentifier()) {
                return null;
            }
        }
        return tokens.get(to - 1).value();
    }

    /**
     * Whether the name at {@code at} names a relation or an alias, or a write's target column, rather than a value:
     * after FROM, JOIN, UPDATE, INTO, TABLE, USING or ONLY, in a FROM list, right after a relation (its alias) or
     * AS, or in an INSERT's column list.
     */
    private static boolean namesRelationOrTarget(List<Token> tokens, int at) {
        if (at == 0) {
            return true;
        }
        Token prev = tokens.get(at - 1);
        if (prev.isWord("only") && at >= 2) {
            prev = tokens.get(at - 2);
        }
        if (prev.type() == Lexer.Type.WORD && Set.of("from", "join", "update", "into", "table", "using", "as")
                .contains(prev.value())) {
            return true;
        }
        if (prev.isIdentifier() && !isClauseWord(prev) && !prev.isWord("select") && !prev.isWord("distinct")) {
            return true; // an alias after its relation (FROM t x)
        }
        // In a list: which clause at this level, or which construct the enclosing parenthesis opens.
        int depth = 0;
        for (int i = at - 1; i >= 0; i--) {
            Token t = tokens.get(i);
            if (t.isOp(")")) {
                depth++;
            } else if (t.isOp("(")) {
                if (depth > 0) {
                    depth--;
                    continue;
                }
                // INSERT INTO [schema.]t [AS alias] ( ... ): the column list.
                int j = i - 1;
                if (j >= 2 && tokens.get(j).isIdentifier() && tokens.get(j - 1).isWord("as")) {
                    j -= 2;
                }
                while (j >= 2 && tokens.get(j - 1).isOp(".") && tokens.get(j - 2).isIdentifier()) {
                    j -= 2;
                }
                return j >= 1 && tokens.get(j).isIdentifier() && tokens.get(j - 1).isWord("into");
            } else if (depth == 0 && t.type() == Lexer.Type.WORD
                    && (FILTER_CLAUSES.contains(t.value()) || OTHER_CLAUSES.contains(t.value()))) {
                return t.isWord("from") && prev.isOp(",");
            }
        }
        return false;
    }

    /** Whether token {@code at} sits in the statement's RETURNING list, not inside parentheses. */
    private static boolean inTopLevelReturning(List<Token> tokens, int at) {
        int depth = 0;
        for (int i = at - 1; i >= 0; i--) {
            Token t = tokens.get(i);
            if (t.isOp(")")) {
                depth++;
            } else if (t.isOp("(")) {
                if (depth == 0) {
                    return false;
                }
                depth--;
            } else if (depth == 0 && t.isWord("returning")) {
                return true;
            } else if (depth == 0 && t.type() == Lexer.Type.WORD && OTHER_CLAUSES.contains(t.value())) {
                return false;
            }
        }
        return false;
    }

    /** Whether any clause enclosing token {@code at}, from the innermost outwards, is a filter clause. */
    private static boolean inFilterClause(List<Token> tokens, int at) {
        return enclosedBy(tokens, at, FILTER_CLAUSES, open -> false);
    }

    /**
     * Whether a clause in {@code wanted} encloses token {@code at}, from the innermost level outwards (the first
     * clause word before it at each level decides that level), or {@code opens} accepts the index of the opening
     * parenthesis of a level around it.
     */
    private static boolean enclosedBy(List<Token> tokens, int at, Set<String> wanted,
                                      java.util.function.IntPredicate opens) {
        int depth = 0;
        boolean levelDecided = false;
        for (int i = at - 1; i >= 0; i--) {
            Token t = tokens.get(i);
            if (t.isOp(")")) {
                depth++;
            } else if (t.isOp("(")) {
                if (depth > 0) {
                    depth--;
                } else if (opens.test(i)) {
                    return true;
                } else {
                    levelDecided = false; // one level out: look for that level's clause
                }
            } else if (depth == 0 && !levelDecided && t.type() == Lexer.Type.WORD) {
                if (wanted.contains(t.value())) {
                    return true;
                }
                levelDecided = FILTER_CLAUSES.contains(t.value()) || OTHER_CLAUSES.contains(t.value());
            }
        }
        return false;
    }

    /** {@code [q.]col = $n} or {@code $n = [q.]col}, standing alone between boolean connectives. */
    private static boolean equalityWithParameter(List<Token> tokens, int at) {
        int before = at - 1;
        while (before >= 1 && tokens.get(before).isOp(".") && tokens.get(before - 1).isIdentifier()) {
            before -= 2;
        }
        boolean rightIsParam = at + 2 < tokens.size() && tokens.get(at + 1).isOp("=")
                && tokens.get(at + 2).type() == Lexer.Type.PARAM && endsOperand(tokens, at + 3);
        boolean leftIsParam = before >= 1 && tokens.get(before).isOp("=")
                && tokens.get(before - 1).type() == Lexer.Type.PARAM && endsOperand(tokens, at + 1);
        int start = leftIsParam ? before - 2 : before;
        return (rightIsParam || leftIsParam) && startsOperand(tokens, start);
    }

    private static boolean endsOperand(List<Token> tokens, int i) {
        if (i >= tokens.size()) {
            return true;
        }
        Token t = tokens.get(i);
        return t.isWord("and") || t.isWord("or") || t.isOp(")") || t.isOp(";") || t.isWord("order")
                || t.isWord("group") || t.isWord("limit") || t.isWord("returning") || t.isWord("for")
                || t.isWord("offset") || t.isWord("having") || t.isWord("union") || t.isWord("fetch");
    }

    private static boolean startsOperand(List<Token> tokens, int i) {
        if (i < 0) {
            return true;
        }
        Token t = tokens.get(i);
        return t.isWord("where") || t.isWord("and") || t.isWord("or") || t.isWord("on") || t.isOp("(")
                || t.isWord("having") || t.isWord("when");
    }

    /**
     * Whether {@code text} is {@code EXECUTE name} or {@code EXECUTE name(arguments)} with every argument a constant
     * the grammar takes as one (a number, negative or not, a string of any quoting, {@code NULL}, {@code TRUE} or
     * {@code FALSE}): binding those runs nothing of the statement's own, only the casts to the types PREPARE declared,
     * which the prepared statement is judged with. Not for a typed literal ({@code date '...'}), a cast, an operator,
     * a call or a subquery: each of those runs something.
     */
    public static boolean executesWithConstants(String text, boolean standardConformingStrings) {
        Lexer.Result lexed = Lexer.tokenize(text, standardConformingStrings);
        List<Token> tokens = lexed.tokens();
        if (lexed.unterminated() || tokens.size() < 2 || !tokens.get(0).isWord("execute")
                || !tokens.get(1).isIdentifier()) {
            return false;
        }
        int end = tokens.size();
        if (tokens.get(end - 1).isOp(";")) {
            end--;
        }
        if (end == 2) {
            return true;
        }
        if (!tokens.get(2).isOp("(") || !tokens.get(end - 1).isOp(")") || end == 4) {
            return false;
        }
        int i = 3;
        while (true) {
            Token t = tokens.get(i);
            if (t.isOp("-") && i + 1 < end - 1 && tokens.get(i + 1).type() == Lexer.Type.NUMBER) {
                // A minus before a number: the grammar folds it into the constant (doNegate). A unary plus is an
                // operator call, which search_path can give to a user's operator.
                i++;
            } else if (!(t.type() == Lexer.Type.NUMBER || t.type() == Lexer.Type.STRING || t.isWord("null")
                    || t.isWord("true") || t.isWord("false"))) {
                return false;
            }
            i++;
            if (i == end - 1) {
                return true;
            }
            if (!tokens.get(i).isOp(",") || i + 1 == end - 1) {
                return false;
            }
            i++;
        }
    }

    /**
     * The prepared statement whose rows {@code CREATE TABLE ... AS EXECUTE name} (under EXPLAIN too) stores, as the
     * server keeps the name (lower-cased unless quoted); empty for any other text.
     */
    public static Optional<String> createdFromExecute(String text) {
        List<Token> tokens = Lexer.tokenize(text, true).tokens();
        if (tokens.isEmpty() || !(tokens.get(0).isWord("create") || tokens.get(0).isWord("explain"))) {
            return Optional.empty();
        }
        return createdAfter(tokens);
    }

    private static Optional<String> createdAfter(List<Token> tokens) {
        int create = -1;
        for (int i = 0; i < tokens.size(); i++) {
            if (tokens.get(i).isWord("create")) {
                create = i;
                break;
            }
        }
        if (create < 0) {
            return Optional.empty();
        }
        for (int i = create + 1; i + 2 < tokens.size(); i++) {
            if (tokens.get(i).isWord("as") && tokens.get(i + 1).isWord("execute") && tokens.get(i + 2).isIdentifier()) {
                return Optional.of(tokens.get(i + 2).value());
            }
        }
        return Optional.empty();
    }

    /**
     * The cursor a DECLARE, FETCH, MOVE or CLOSE statement names (lower-cased unless quoted); empty for other
     * statements and for {@code CLOSE ALL}.
     */
    public static Optional<String> cursorName(StatementFacts facts) {
        List<Token> tokens = new ArrayList<>(Lexer.tokenize(facts.text(), true).tokens());
        if (tokens.isEmpty()) {
            return Optional.empty();
        }
        return switch (facts.kind()) {
            case DECLARE -> tokens.size() > 1 && tokens.get(1).isIdentifier()
                    ? Optional.of(tokens.get(1).value()) : Optional.empty();
            case FETCH, MOVE, CLOSE -> {
                Token last = tokens.get(tokens.size() - 1);
                yield last.isIdentifier() && !(facts.kind() == StatementKind.CLOSE && last.isWord("all"))
                        ? Optional.of(last.value()) : Optional.empty();
            }
            default -> Optional.empty();
        };
    }

    /**
     * Whether a DECLARE makes a holdable cursor ({@code WITH HOLD} before its {@code FOR}), which outlives the
     * transaction's COMMIT; false for other statements.
     */
    public static boolean cursorWithHold(StatementFacts facts) {
        if (facts.kind() != StatementKind.DECLARE) {
            return false;
        }
        List<Token> tokens = Lexer.tokenize(facts.text(), true).tokens();
        for (int i = 2; i + 1 < tokens.size() && !tokens.get(i).isWord("for"); i++) {
            if (tokens.get(i).isWord("with") && tokens.get(i + 1).isWord("hold")) {
                return true;
            }
        }
        return false;
    }
}
