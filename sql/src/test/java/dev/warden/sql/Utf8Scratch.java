package dev.warden.sql;

import dev.warden.testkit.TestPostgres;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/** A UTF-8 database of this test process's own on the test server, made afresh, for the differential tests. */
final class Utf8Scratch {

    private Utf8Scratch() {
    }

    /** Creates (or recreates) {@code <prefix>_<pid>} with UTF-8 encoding; returns its name. */
    static String create(TestPostgres postgres, String prefix) throws SQLException {
        String database = prefix + "_" + ProcessHandle.current().pid();
        try (Connection c = postgres.connect("postgres"); Statement s = c.createStatement()) {
            s.execute("DROP DATABASE IF EXISTS " + database);
            s.execute("CREATE DATABASE " + database + " ENCODING 'UTF8' TEMPLATE template0");
        }
        return database;
    }
}
