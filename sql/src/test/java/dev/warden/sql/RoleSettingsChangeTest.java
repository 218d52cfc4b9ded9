package dev.warden.sql;

import org.junit.jupiter.api.Test;

import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;

class RoleSettingsChangeTest {

    private static Optional<RoleSettingsChange> of(String sql) {
        return RoleSettingsChange.of(sql);
    }

    private static RoleSettingsChange keyword(String role, String change) {
        return new RoleSettingsChange(role, true, change, "ALTER ROLE");
    }

    private static RoleSettingsChange named(String role, String change) {
        return new RoleSettingsChange(role, false, change, "ALTER ROLE");
    }

    /** The same change written as ALTER USER, as the refusal names it. */
    private static RoleSettingsChange byUser(RoleSettingsChange change) {
        return new RoleSettingsChange(change.role(), change.keyword(), change.change(), "ALTER USER");
    }

    @Test
    void everySpellingOfTheSessionsOwnRoleIsAKeyword() {
        assertEquals(Optional.of(keyword("CURRENT_USER", "SET local_preload_libraries")),
                of("ALTER ROLE CURRENT_USER SET local_preload_libraries = 'x'"));
        assertEquals(Optional.of(byUser(keyword("CURRENT_USER", "SET search_path"))),
                of("alter user current_user set search_path to evil, public"));
        assertEquals(Optional.of(keyword("SESSION_USER", "RESET ALL")), of("ALTER ROLE SESSION_USER RESET ALL"));
        assertEquals(Optional.of(keyword("CURRENT_ROLE", "SET work_mem")),
                of("ALTER ROLE current_role SET work_mem FROM CURRENT"));
        assertEquals(Optional.of(keyword("ALL", "SET x.y")), of("ALTER ROLE ALL SET x.y = 1"));
        assertEquals(Optional.of(keyword("CURRENT_USER", "SET search_path")),
                of("/* a */ alter/**/role -- b\n current_user set search_path=evil"));
    }

    @Test
    void aNameIsKeptAsTheServerKeepsIt() {
        assertEquals(Optional.of(named("wd_alice@example.com", "SET application_name")),
                of("ALTER ROLE \"wd_alice@example.com\" IN DATABASE app SET application_name TO 'x'"));
        assertEquals(Optional.of(byUser(named("wd_alice", "RESET plpgsql.extra_warnings"))),
                of("ALTER USER U&\"wd_\\0061lice\" IN DATABASE \"a b\" RESET plpgsql.extra_warnings"));
        assertEquals(Optional.of(named("wd_alice", "SET time")), of("ALTER ROLE WD_Alice SET TIME ZONE 'UTC'"));
        // Quoted, CURRENT_USER is the name of a role, not the session's.
        assertEquals(Optional.of(named("CURRENT_USER", "SET a")), of("ALTER ROLE \"CURRENT_USER\" SET a = 1"));
    }

    @Test
    void otherFormsOfAlterRoleChangeNoSetting() {
        assertEquals(Optional.empty(), of("ALTER ROLE CURRENT_USER RENAME TO x"));
        assertEquals(Optional.empty(), of("ALTER ROLE x PASSWORD 'set'"));
        assertEquals(Optional.empty(), of("ALTER ROLE x WITH CONNECTION LIMIT 5"));
        assertEquals(Optional.empty(), of("ALTER USER MAPPING FOR CURRENT_USER SERVER s OPTIONS (SET a 'b')"));
        assertEquals(Optional.empty(), of("ALTER DATABASE app SET search_path = evil"));
        assertEquals(Optional.empty(), of("SET search_path = evil"));
    }
}
