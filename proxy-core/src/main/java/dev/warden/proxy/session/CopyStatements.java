package dev.warden.proxy.session;

import dev.warden.proxy.catalog.CatalogCache;
import dev.warden.sql.Analysis;
import dev.warden.sql.ColumnRef;
import dev.warden.sql.CopySpec;
import dev.warden.sql.StatementFacts;
import dev.warden.sql.StatementKind;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * What a COPY statement's text says that masking its output needs: the query that describes its columns, its
 * format and options, and whether it copies a table its own batch creates. Pure functions of the analysis.
 */
final class CopyStatements {

    private CopyStatements() {
    }

    /** The COPY TO STDOUT of {@code analysis}, if it has one, with the query that describes its columns. */
    static Optional<String> copyDescribeQuery(Analysis analysis) {
        if (analysis == null) {
            return Optional.empty();
        }
        for (StatementFacts f : analysis.statements()) {
            if (f.copy().isEmpty() || f.copy().get().direction() != CopySpec.Direction.TO) {
                continue;
            }
            CopySpec copy = f.copy().get();
            if (copy.query() && f.inner().isPresent()) {
                return Optional.of(f.inner().get().text());
            }
            if (copy.table().isPresent()) {
                List<String> named = f.columnsRead().stream().map(ColumnRef::column)
                        .filter(c -> !c.equals("*")).toList();
                String list = named.isEmpty() ? "*" : String.join(", ", named.stream().map(CopyStatements::quote).toList());
                return Optional.of("SELECT " + list + " FROM " + qualified(copy.table().get()));
            }
        }
        return Optional.empty();
    }

    static String copyFormat(Analysis analysis) {
        for (StatementFacts f : analysis.statements()) {
            if (f.copy().isPresent()) {
                return f.copy().get().format();
            }
        }
        return "text";
    }

    /**
     * {@code columnCount} columns (from CopyOutResponse) of a table the COPY's own Query created: unnamed, of a
     * type masking does not know, so their text is value-scanned (binary kept). See {@link #copiesATableItCreates}.
     */
    static List<CatalogCache.DescribedColumn> unnamedColumns(int columnCount) {
        List<CatalogCache.DescribedColumn> unknown = new ArrayList<>(columnCount);
        for (int i = 0; i < columnCount; i++) {
            unknown.add(new CatalogCache.DescribedColumn("?column?", Optional.empty(), 0, -1));
        }
        return unknown;
    }

    /** Whether the COPY TO in {@code analysis} copies a table a CREATE TABLE earlier in the same batch makes. */
    static boolean copiesATableItCreates(Analysis analysis) {
        Set<String> created = new java.util.HashSet<>();
        for (StatementFacts f : analysis.statements()) {
            if (f.kind() == StatementKind.CREATE && f.objectType().equals("TABLE")) {
                f.tablesWritten().forEach(t -> created.add(t.name()));
            }
            if (f.copy().isPresent() && f.copy().get().direction() == CopySpec.Direction.TO) {
                return f.copy().get().table().map(t -> created.contains(t.name())).orElse(false);
            }
        }
        return false;
    }

    /** The COPY of {@code analysis} (its first), or null. */
    static CopySpec copySpec(Analysis analysis) {
        for (StatementFacts f : analysis.statements()) {
            if (f.copy().isPresent()) {
                return f.copy().get();
            }
        }
        return null;
    }

    /**
     * A COPY option given as a string literal, in either syntax ({@code WITH (DELIMITER '|')} or
     * {@code DELIMITER AS '|'}), as the analysis read it from the tokens after the target, with the session's
     * {@code standard_conforming_strings} (a query's own text, or a comment, cannot match). An option Warden cannot
     * read makes the COPY fail rather than be masked with the wrong delimiter.
     */
    static Optional<String> copyOption(CopySpec copy, String option) {
        if (copy == null) {
            return Optional.empty();
        }
        dev.warden.sql.TextReferences.CopyOption o = copy.option(option.toLowerCase(java.util.Locale.ROOT));
        if (o.present() && o.value() == null) {
            throw new SessionException(dev.warden.pg.SqlState.FEATURE_NOT_SUPPORTED, "Warden cannot read the COPY "
                    + option.toUpperCase(java.util.Locale.ROOT) + " option to mask this COPY; give it as a plain "
                    + "string literal");
        }
        return Optional.ofNullable(o.value());
    }

    static char single(String value, String option) {
        if (value.length() != 1) {
            throw new SessionException(dev.warden.pg.SqlState.FEATURE_NOT_SUPPORTED, "COPY " + option
                    + " must be a single character for Warden to mask this COPY");
        }
        return value.charAt(0);
    }

    private static String qualified(dev.warden.sql.TableRef t) {
        return t.schema() == null ? quote(t.name()) : quote(t.schema()) + "." + quote(t.name());
    }

    private static String quote(String identifier) {
        return "\"" + identifier.replace("\"", "\"\"") + "\"";
    }
}
