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
 */
public record CopySpec(Direction direction, Target target, Optional<TableRef> table, boolean query, String format) {
    public enum Direction { FROM, TO }

    /** {@code FILE} is a server-side file named by a string literal; {@code PROGRAM} runs a shell command. */
    public enum Target { STDIN, STDOUT, FILE, PROGRAM }

    public CopySpec {
        Objects.requireNonNull(direction, "direction");
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(table, "table");
        Objects.requireNonNull(format, "format");
    }
}
