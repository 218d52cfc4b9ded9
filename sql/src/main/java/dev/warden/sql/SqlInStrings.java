package dev.warden.sql;

import dev.warden.sql.Lexer.Token;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Built-ins that run SQL handed to them as a value: {@code query_to_xml('SELECT ...', ...)} runs its first argument
 * as a query, {@code ts_stat} its first, {@code ts_rewrite(tsquery, text)} its second, tablefunc's {@code crosstab}
 * its first two. The server runs that text as any statement, and what it calls does what it does anywhere: an
 * attacker's pass switched the role with {@code query_to_xml('select set_config(''role'', ...)', ...)}, and ran a
 * deleting function and {@code lo_create} in production without approval, while Warden judged a plain SELECT.
 *
 * <p>A text given as one string literal is analysed as statements nested in the call's own, as a DO block's body
 * is; any other (computed, a parameter, a column) is SQL unknown until it runs ({@link StatementFacts#dynamicSql}).
 * {@code table_to_xml} reads the relation its argument names, as {@code SELECT * FROM} it (a view runs what its
 * query calls); {@code schema_to_xml}, {@code database_to_xml} read every relation of a schema or database, and
 * tablefunc's {@code connectby} and {@code xpath_table} paste their arguments into a query: unknown too.
 */
final class SqlInStrings {

    /** The functions that run an argument as SQL, and which arguments (from 0). */
    private static final Map<String, int[]> QUERY_ARGUMENTS = Map.of(
            "query_to_xml", new int[] {0}, "query_to_xmlschema", new int[] {0},
            "query_to_xml_and_xmlschema", new int[] {0}, "ts_stat", new int[] {0}, "ts_rewrite", new int[] {1},
            "crosstab", new int[] {0, 1}, "crosstab2", new int[] {0}, "crosstab3", new int[] {0},
            "crosstab4", new int[] {0});
    /** {@code ts_rewrite} takes a query only in its two-argument form; the three-argument one takes tsqueries. */
    private static final Map<String, Integer> ARITY = Map.of("ts_rewrite", 2);
    /** Read the rows of the relation their first argument names. */
    private static final Set<String> RELATION_ARGUMENT = Set.of("table_to_xml", "table_to_xml_and_xmlschema");
    /** Run SQL no text shows. */
    private static final Set<String> UNKNOWN_SQL = Set.of("schema_to_xml", "schema_to_xml_and_xmlschema",
            "database_to_xml", "database_to_xml_and_xmlschema", "connectby", "xpath_table");

    /** Every name above, asked once for each identifier of every statement analysed. */
    private static final Set<String> RUNS_SQL;
    /**
     * The first letters and the shortest length of those names: most identifiers are told apart by these without
     * hashing them (each token's text is a new string, so its hash is computed at its first lookup).
     */
    private static final boolean[] FIRST_LETTERS = new boolean[128];
    private static final int SHORTEST;

    static {
        Set<String> all = new java.util.HashSet<>(QUERY_ARGUMENTS.keySet());
        all.addAll(RELATION_ARGUMENT);
        all.addAll(UNKNOWN_SQL);
        RUNS_SQL = Set.copyOf(all);
        int shortest = Integer.MAX_VALUE;
        for (String name : all) {
            shortest = Math.min(shortest, name.length());
            FIRST_LETTERS[name.charAt(0)] = true;
        }
        SHORTEST = shortest;
    }

    private SqlInStrings() {
    }

    /** What {@code tokens}' calls run as SQL: the texts, and whether some is unknown. Null when they run none. */
    record Found(List<String> statements, boolean dynamic) {
    }

    /** Whether {@code function} (a built-in's name, lower case) runs SQL given as a value or unseen. */
    static boolean runsSql(String function) {
        if (function.length() < SHORTEST || function.charAt(0) >= 128 || !FIRST_LETTERS[function.charAt(0)]) {
            return false;
        }
        return RUNS_SQL.contains(function);
    }

    static Found in(List<Token> tokens) {
        List<String> statements = null;
        boolean dynamic = false;
        for (int k = 0; k < tokens.size(); k++) {
            Token t = tokens.get(k);
            if (!t.isIdentifier() || !runsSql(t.value())) {
                continue;
            }
            if (k + 1 == tokens.size() || !tokens.get(k + 1).isOp("(")) {
                // (x).query_to_xml is attribute notation for a call with x as the argument: the text is a value.
                dynamic |= k >= 2 && tokens.get(k - 1).isOp(".") && tokens.get(k - 2).isOp(")");
                continue;
            }
            String name = t.value();
            if (UNKNOWN_SQL.contains(name)) {
                dynamic = true;
                continue;
            }
            Integer arity = ARITY.get(name);
            if (arity != null && arity != TextReferences.argumentCount(tokens, k + 2)) {
                continue;
            }
            int[] positions = RELATION_ARGUMENT.contains(name) ? new int[] {0} : QUERY_ARGUMENTS.get(name);
            for (int position : positions) {
                int at = argument(tokens, k + 2, position);
                if (at < 0) {
                    continue; // fewer arguments: another overload, or one that fails
                }
                Token arg = tokens.get(at);
                if (name.startsWith("crosstab") && position == 1 && arg.type() == Lexer.Type.NUMBER
                        && at + 1 < tokens.size() && tokens.get(at + 1).isOp(")")) {
                    continue; // crosstab(text, integer): a column count, no query
                }
                if (!TextReferences.literalArgument(tokens, at)) {
                    dynamic = true;
                    continue;
                }
                statements = statements == null ? new ArrayList<>() : statements;
                statements.add(RELATION_ARGUMENT.contains(name) ? "SELECT * FROM " + arg.value() : arg.value());
            }
        }
        return statements == null && !dynamic ? null
                : new Found(statements == null ? List.of() : statements, dynamic);
    }

    /** The first token of the argument at {@code position} of the list starting at {@code from}; -1 if none. */
    private static int argument(List<Token> tokens, int from, int position) {
        if (from >= tokens.size() || tokens.get(from).isOp(")")) {
            return -1;
        }
        int i = from;
        for (int skipped = 0; skipped < position; skipped++) {
            int comma = TextReferences.nextArgumentComma(tokens, i);
            if (comma < 0) {
                return -1;
            }
            i = comma + 1;
        }
        return i < tokens.size() ? i : -1;
    }
}
