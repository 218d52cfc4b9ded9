package dev.warden.testkit;

import java.io.IOException;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;

/**
 * A PostgreSQL backend stopped with SIGSTOP until closed (SIGCONT): its connection stays open and says nothing, as a
 * server or network that drops packets without a reset would. The test server runs as this user, so it may signal
 * it.
 */
public final class StoppedBackend implements AutoCloseable {

    private final long pid;

    private StoppedBackend(long pid) {
        this.pid = pid;
    }

    /**
     * Stops the newest backend of {@code applicationName} in the database {@code direct} is connected to (as a
     * superuser, who sees every backend).
     */
    public static StoppedBackend of(Statement direct, String applicationName) throws SQLException, IOException {
        try (ResultSet rs = direct.executeQuery("SELECT pid FROM pg_stat_activity WHERE application_name = '"
                + applicationName.replace("'", "''") + "' AND datname = current_database() "
                + "ORDER BY backend_start DESC LIMIT 1")) {
            if (!rs.next()) {
                throw new IllegalStateException("no backend of " + applicationName);
            }
            StoppedBackend stopped = new StoppedBackend(rs.getLong(1));
            stopped.signal("STOP");
            return stopped;
        }
    }

    public long pid() {
        return pid;
    }

    private void signal(String signal) throws IOException {
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).redirectErrorStream(true).start();
        try {
            if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
                throw new IOException("kill -" + signal + " " + pid + " failed: "
                        + new String(kill.getInputStream().readAllBytes()));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while signalling " + pid, e);
        }
    }

    /** Lets the backend run again. */
    @Override
    public void close() throws IOException {
        signal("CONT");
    }
}
