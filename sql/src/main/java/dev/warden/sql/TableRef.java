package dev.warden.sql;

import java.util.Objects;

/**
 * A table (or other relation) named by a statement. Unquoted identifiers are folded to lower case, quoted ones
 * keep their exact case without the quotes, as PostgreSQL resolves them.
 *
 * @param schema the schema as written, or {@code null} when the name is unqualified
 * @param name the relation name
 */
public record TableRef(String schema, String name) {

    /**
     * Some relation, not known before the statement runs: the sequence {@code nextval} and {@code setval} change
     * when their argument is computed at run time, the future relations of every schema that ALTER DEFAULT
     * PRIVILEGES without IN SCHEMA reaches. A rule on tables holds for it whatever the tables it names.
     */
    public static final TableRef ANY_RELATION = new TableRef("*", "*");

    public TableRef {
        Objects.requireNonNull(name, "name");
    }

    /** {@code schema.name}, or {@code name} when unqualified. */
    public String qualified() {
        return schema == null ? name : schema + "." + name;
    }

    @Override
    public String toString() {
        return qualified();
    }
}
