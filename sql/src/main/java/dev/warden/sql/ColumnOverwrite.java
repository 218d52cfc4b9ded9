package dev.warden.sql;

import dev.warden.sql.Lexer.Token;

import java.util.ArrayList;
import java.util.List;

/**
 * The columns an {@code ALTER TABLE ... ALTER [COLUMN] c [SET DATA] TYPE t USING e} gives every row a value of
 * {@code e} that names no column {@code c}: the table is rewritten with {@code e} in place of each row's value, as an
 * {@code UPDATE t SET c = e} without a WHERE would set it ({@code USING NULL}, {@code USING 'x'}, {@code USING
 * now()}). An expression that names the column (however else it reads: {@code USING c::text}, {@code USING f(c)})
 * converts the value, and is not counted; a name in a function's place ({@code c(d)}) or a type's ({@code 'x'::c},
 * {@code CAST('x' AS c)}) is not the column's. One that names it and still gives one value ({@code USING c IS NULL},
 * {@code USING left(c, 0)}) is not caught: that needs the expression's meaning. Read from the tokens: the actions
 * are split at the commas outside parentheses.
 */
public final class ColumnOverwrite {

    private ColumnOverwrite() {
    }

    /**
     * The columns (as the server keeps a name: folded unless quoted) that {@code statement} overwrites so; empty
     * when it is no such ALTER TABLE.
     */
    public static List<String> of(String statement) {
        if (statement == null) {
            return List.of();
        }
        List<Token> t = Lexer.tokenize(statement, true).tokens();
        if (t.size() < 4 || !t.get(0).isWord("alter") || !t.get(1).isWord("table")) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        int depth = 0;
        int actionStart = 2;
        for (int i = 2; i <= t.size(); i++) {
            Token x = i < t.size() ? t.get(i) : null;
            if (x != null && x.isOp("(")) {
                depth++;
            } else if (x != null && x.isOp(")")) {
                depth = Math.max(0, depth - 1);
            }
            if (x == null || x.isOp(";") || (depth == 0 && x.isOp(","))) {
                String column = overwritten(t.subList(actionStart, i));
                if (column != null) {
                    out.add(column);
                }
                actionStart = i + 1;
            }
        }
        return out;
    }

    /** The column one action (the first takes the table's name before it) overwrites with its USING, or null. */
    private static String overwritten(List<Token> action) {
        int alter = -1;
        for (int i = 0; i < action.size(); i++) {
            if (action.get(i).isWord("alter")) {
                alter = i;
                break;
            }
        }
        if (alter < 0) {
            return null;
        }
        int at = alter + 1;
        if (at < action.size() && action.get(at).isWord("column")) {
            at++;
        }
        if (at >= action.size() || !action.get(at).isIdentifier()) {
            return null;
        }
        String column = action.get(at).value();
        at++;
        if (at + 1 < action.size() && action.get(at).isWord("set") && action.get(at + 1).isWord("data")) {
            at += 2;
        }
        if (at >= action.size() || !action.get(at).isWord("type")) {
            return null;
        }
        int using = -1;
        int depth = 0;
        for (int i = at + 1; i < action.size(); i++) {
            Token x = action.get(i);
            if (x.isOp("(")) {
                depth++;
            } else if (x.isOp(")")) {
                depth = Math.max(0, depth - 1);
            } else if (depth == 0 && x.isWord("using")) {
                using = i;
                break;
            }
        }
        if (using < 0) {
            return null;
        }
        for (int i = using + 1; i < action.size(); i++) {
            Token x = action.get(i);
            // Where a name is the column's: not a function's ({@code c(d)}, {@code now()}), nor a type's after
            // {@code ::} or CAST's AS ({@code 'x'::text} for a column named text).
            boolean call = i + 1 < action.size() && action.get(i + 1).isOp("(");
            boolean type = i > using + 1 && (action.get(i - 1).isOp("::") || action.get(i - 1).isWord("as"));
            if (x.isIdentifier() && x.value().equals(column) && !call && !type) {
                return null;
            }
        }
        return column;
    }
}
