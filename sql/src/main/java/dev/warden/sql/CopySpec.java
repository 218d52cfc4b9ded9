package dev.warden.sql;

import java.util.Objects;
import java.util.Optional;

/**
 * What a {@code COPY} statement moves, and where.
 *
 * @param direction {@code FROM} loads into a table, {@code TO} unloads
 * @param target the other end of the copy
 * @param table the table copied, empty for {@code COPY (query) TO}
 * @param query whether the source is a query ({@code COPY (SELECT ...) TO ...})
 * @param format {@code text}, {@code csv} or {@code binary} (lower case, as written in the options)
 * @param options the options as the analysis read them (with the session's {@code standard_conforming_strings}),
 *                by lower-case name; null when they do not read as the grammar has them
 */
public record CopySpec(Direction direction, Target target, Optional<TableRef> table, boolean query, String format,
                       java.util.Map<String, TextReferences.CopyOption> options) {
    public enum Direction { FROM, TO }

    /** {@code FILE} is a server-side file named by a string literal; {@code PROGRAM} runs a shell command. */
    public enum Target { STDIN, STDOUT, FILE, PROGRAM }

    public CopySpec {
        Objects.requireNonNull(direction, "direction");
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(table, "table");
        Objects.requireNonNull(format, "format");
        options = options == null ? null : java.util.Map.copyOf(options);
    }

    /**
     * Option {@code name} (lower case): absent, given as a string literal (its value, read as the server reads it
     * under the session's settings), or given otherwise (value null; also every option when the options do not
     * read).
     */
    public TextReferences.CopyOption option(String name) {
        if (options == null) {
            return new TextReferences.CopyOption(true, null);
        }
        return options.getOrDefault(name, TextReferences.CopyOption.ABSENT);
    }
}
