package dev.warden.proxy.catalog;

import dev.warden.sql.Analysis;
import dev.warden.sql.StatementFacts;

import java.util.List;
import java.util.function.Predicate;

/**
 * Asks a question of every statement of an analysis ({@link StatementFacts#allStatements}), without making a list
 * for a statement that has no inner or nested statement (the common case): these questions are asked on every
 * statement's path, and the list was a measured share of what a repeated statement allocated.
 */
public final class StatementWalk {

    private StatementWalk() {
    }

    /** Whether {@code test} holds for any statement of {@code analysis}, nested ones included. */
    public static boolean any(Analysis analysis, Predicate<StatementFacts> test) {
        List<StatementFacts> tops = analysis.statements();
        for (int i = 0; i < tops.size(); i++) {
            if (any(tops.get(i), test)) {
                return true;
            }
        }
        return false;
    }

    /** Whether {@code test} holds for {@code top}, its inner statement or any statement nested in it. */
    public static boolean any(StatementFacts top, Predicate<StatementFacts> test) {
        if (top.inner().isEmpty() && top.nested().isEmpty()) {
            return test.test(top);
        }
        for (StatementFacts f : top.allStatements()) {
            if (test.test(f)) {
                return true;
            }
        }
        return false;
    }
}
