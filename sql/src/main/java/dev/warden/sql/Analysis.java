package dev.warden.sql;

import java.util.List;

/**
 * The analysis of one SQL text (a Query message may carry several statements).
 *
 * @param statements one entry per statement, in order. Empty statements between semicolons are dropped; a
 *     text with no statement at all (empty, or only comments) yields a single {@link StatementKind#EMPTY}
 *     statement, as PostgreSQL answers it with EmptyQueryResponse.
 */
public record Analysis(List<StatementFacts> statements) {
    public Analysis {
        statements = List.copyOf(statements);
    }

    /** Whether any statement writes (see {@link StatementFacts#writes()}). */
    public boolean writes() {
        return statements.stream().anyMatch(StatementFacts::writes);
    }

    /** Whether any statement was not understood by the parser nor by the lexer's exact grammar. */
    public boolean anyUnparsed() {
        return statements.stream().anyMatch(StatementFacts::unparsed);
    }
}
