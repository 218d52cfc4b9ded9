package dev.warden.sql;

import org.junit.jupiter.api.Test;

import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;

class DatabaseSettingsChangeTest {

    private static Optional<DatabaseSettingsChange> of(String sql) {
        return DatabaseSettingsChange.of(sql);
    }

    private static Optional<DatabaseSettingsChange> change(String database, String change) {
        return Optional.of(new DatabaseSettingsChange(database, change));
    }

    @Test
    void everySpellingOfSetAndResetIsAChange() {
        assertEquals(change("app", "SET local_preload_libraries"),
                of("ALTER DATABASE app SET local_preload_libraries = 'x'"));
        assertEquals(change("app", "SET search_path"), of("alter database APP set search_path to evil, public"));
        assertEquals(change("App", "RESET ALL"), of("ALTER DATABASE \"App\" RESET ALL"));
        assertEquals(change("app", "SET work_mem"), of("ALTER DATABASE app SET work_mem FROM CURRENT"));
        assertEquals(change("app", "RESET plpgsql.extra_warnings"),
                of("ALTER DATABASE U&\"\\0061pp\" RESET plpgsql.extra_warnings"));
        assertEquals(change("app", "SET session_preload_libraries"),
                of("/* a */ alter/**/database -- b\n app set session_preload_libraries='x'"));
        // Quoted, tablespace is the name of a setting (none has it: the server refuses it).
        assertEquals(change("app", "SET tablespace"), of("ALTER DATABASE app SET \"tablespace\" = 'x'"));
    }

    @Test
    void otherFormsOfAlterDatabaseChangeNoSetting() {
        assertEquals(Optional.empty(), of("ALTER DATABASE app SET TABLESPACE fast"));
        assertEquals(Optional.empty(), of("ALTER DATABASE app WITH CONNECTION LIMIT 5"));
        assertEquals(Optional.empty(), of("ALTER DATABASE app RENAME TO set"));
        assertEquals(Optional.empty(), of("ALTER DATABASE app OWNER TO reset"));
        assertEquals(Optional.empty(), of("ALTER ROLE app SET search_path = evil"));
        assertEquals(Optional.empty(), of("SET search_path = evil"));
    }
}
