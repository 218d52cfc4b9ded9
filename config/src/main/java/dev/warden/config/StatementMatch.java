package dev.warden.config;

import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * What a guardrail rule matches; every condition given must hold. {@code statements} holds statement kinds
 * as the analyser names them ({@code DROP}, {@code SET_ROLE}) or a kind with an object ({@code DROP TABLE}).
 * {@code tables} are globs over {@code schema.table} ({@code *} any run of characters; an unqualified
 * pattern matches the table name in any schema). {@code copy} holds COPY targets: stdin, stdout, file,
 * program.
 */
public record StatementMatch(Set<String> statements, Optional<Boolean> writes, List<String> tables,
                             Set<String> functions, boolean withoutWhere, Set<String> copy, boolean unparsed) {

    public StatementMatch {
        statements = Set.copyOf(statements);
        tables = List.copyOf(tables);
        functions = Set.copyOf(functions);
        copy = Set.copyOf(copy);
    }
}
