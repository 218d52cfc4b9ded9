package dev.warden.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * The OCSF 1.3.0 subset Warden emits (Base Event 0, Authentication 3002, Datastore Activity 6005), as a JSON
 * schema written from the OCSF schema's own dictionary, objects and class files (see the schema's
 * {@code $comment}). {@link #errors} lists what is wrong with an event; empty means valid.
 */
public final class OcsfSchema {

    private static final Schema SCHEMA = load();

    private OcsfSchema() {
    }

    private static Schema load() {
        try (InputStream in = OcsfSchema.class.getResourceAsStream("ocsf/ocsf-1.3.0-subset.json")) {
            if (in == null) {
                throw new IllegalStateException("ocsf/ocsf-1.3.0-subset.json is missing from testkit");
            }
            return SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12).getSchema(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static List<String> errors(JsonNode event) {
        List<Error> errors = SCHEMA.validate(event);
        return errors.stream().map(Error::toString).toList();
    }
}
