package dev.warden.proxy.session;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** current_schemas(true) as the server prints it, and how long a reading stays current. */
class SessionSearchPathTest {

    @Test
    void arraysOfSchemaNamesAreReadAsTheServerPrintsThem() {
        assertEquals(List.of("pg_temp_3", "pg_catalog", "public"),
                SessionSearchPath.parseArray("{pg_temp_3,pg_catalog,public}"));
        assertEquals(List.of("pg_catalog", "My Schema", "a\"b", "x,y"),
                SessionSearchPath.parseArray("{pg_catalog,\"My Schema\",\"a\\\"b\",\"x,y\"}"));
        assertEquals(List.of(), SessionSearchPath.parseArray("{}"));
        assertNull(SessionSearchPath.parseArray("not an array"));
    }

    @Test
    void aReadingIsCurrentUntilTheNextStatementIsSent() {
        SessionSearchPath path = new SessionSearchPath();
        assertNull(path.schemas());
        path.read("{pg_catalog,other_schema}");
        assertEquals(List.of("pg_catalog", "other_schema"), path.schemas());
        path.statementSent();
        assertNull(path.schemas(), "any statement may have changed it");
        path.read(null);
        assertNull(path.schemas(), "a reading that failed (an aborted transaction) is no reading");
    }
}
