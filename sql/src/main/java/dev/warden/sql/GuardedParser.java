package dev.warden.sql;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import net.sf.jsqlparser.parser.AbstractJSqlParser;
import net.sf.jsqlparser.parser.CCJSqlParser;
import net.sf.jsqlparser.parser.CCJSqlParserConstants;
import net.sf.jsqlparser.parser.StringProvider;
import net.sf.jsqlparser.statement.Statement;

/**
 * Runs JSqlParser in the calling thread with a time limit. JSqlParser checks its {@code interrupted} flag in
 * its lookahead loops; one shared daemon thread sets the flag when a parse overruns, so a pathological
 * statement costs at most about the limit and no thread is started per parse.
 *
 * <p>The limit is on the parsing thread's CPU time where the JVM measures it (wall time otherwise, and in any
 * case ten times the limit): on a busy machine a simple statement can take long in wall time without being
 * costly, and cutting it off would turn an ordinary query into an unparsed one.
 */
final class GuardedParser {

    sealed interface Outcome permits Parsed, Failed, TimedOut {}

    record Parsed(Statement statement) implements Outcome {}

    record Failed(String reason) implements Outcome {}

    /**
     * @param onCpu the parse used its CPU time (or a quarter of it by the wall-clock limit); false when the
     *     wall-clock limit cut off a thread that hardly ran (a busy machine, low priority): then the statement
     *     is not known to be costly
     */
    record TimedOut(boolean onCpu) implements Outcome {}

    private static final ScheduledExecutorService WATCHDOG = watchdog();
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static final boolean CPU_TIME = cpuTimeAvailable();

    private final long timeoutNanos;

    static {
        // The first parses load and initialise hundreds of parser and tree classes (~0.3 s); do it before the
        // clock runs, so that the first statement a session sends is not cut off by the time limit.
        GuardedParser warm = new GuardedParser(Long.MAX_VALUE / 4);
        for (String sql : new String[] {
            "select a , f ( b ) from s.t x join u on x.id = u.id where x.a = '?' group by 0 order by 0 limit 0",
            "with c as ( delete from t returning * ) insert into t ( a ) select a from c",
            "update t set a = 0 where b in ( select b from u )",
            "create table t ( a int primary key , b text )",
            "merge into t using s on t.id = s.id when matched then update set a = s.a",
        }) {
            warm.parse(sql);
        }
    }

    GuardedParser(long timeoutNanos) {
        this.timeoutNanos = timeoutNanos;
    }

    Outcome parse(String sql) {
        CCJSqlParser parser = new CCJSqlParser(new StringProvider(sql))
                .withDialect(AbstractJSqlParser.Dialect.POSTGRESQL);
        Alarm alarm = new Alarm(parser, Thread.currentThread().getId(), timeoutNanos);
        try {
            Statement statement = parser.Statement();
            if (parser.interrupted) {
                return new TimedOut(alarm.onCpu());
            }
            if (statement == null || parser.getNextToken().kind != CCJSqlParserConstants.EOF) {
                return new Failed("input left after the statement");
            }
            return new Parsed(statement);
        } catch (Exception | StackOverflowError | AssertionError e) {
            return parser.interrupted ? new TimedOut(alarm.onCpu()) : new Failed(String.valueOf(e.getMessage()));
        } finally {
            alarm.cancel();
        }
    }

    /** Stops one parse once it has used its CPU time; re-arms itself while the parse has not. */
    private static final class Alarm implements Runnable {
        private final CCJSqlParser parser;
        private final long threadId;
        private final long limitNanos;
        private final long cpuStart;
        private final long wallDeadline;
        private volatile ScheduledFuture<?> pending;
        private volatile boolean cancelled;
        private volatile boolean onCpu = true;

        Alarm(CCJSqlParser parser, long threadId, long limitNanos) {
            this.parser = parser;
            this.threadId = threadId;
            this.limitNanos = limitNanos;
            this.cpuStart = CPU_TIME ? THREADS.getCurrentThreadCpuTime() : -1;
            long now = System.nanoTime();
            this.wallDeadline = limitNanos > Long.MAX_VALUE / 20 ? Long.MAX_VALUE : now + 10 * limitNanos;
            this.pending = WATCHDOG.schedule(this, limitNanos, TimeUnit.NANOSECONDS);
        }

        @Override
        public void run() {
            if (cancelled) {
                return;
            }
            long remaining = 0;
            if (cpuStart >= 0 && System.nanoTime() < wallDeadline) {
                long used = THREADS.getThreadCpuTime(threadId) - cpuStart;
                remaining = used < 0 ? 0 : limitNanos - used;
            } else if (cpuStart >= 0) {
                // A quarter of the limit is already a hundred times an ordinary parse: costly, whatever the
                // wall clock says. Less, and the thread mostly waited for a CPU.
                onCpu = THREADS.getThreadCpuTime(threadId) - cpuStart >= limitNanos / 4;
            }
            if (remaining > 0) {
                pending = WATCHDOG.schedule(this, Math.max(remaining, 1_000_000), TimeUnit.NANOSECONDS);
            } else {
                parser.interrupted = true;
            }
        }

        boolean onCpu() {
            return onCpu;
        }

        void cancel() {
            cancelled = true;
            pending.cancel(false);
        }
    }

    private static boolean cpuTimeAvailable() {
        try {
            return THREADS.isCurrentThreadCpuTimeSupported() && THREADS.isThreadCpuTimeEnabled();
        } catch (UnsupportedOperationException e) {
            return false;
        }
    }

    private static ScheduledExecutorService watchdog() {
        ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "warden-sql-parse-watchdog");
            t.setDaemon(true);
            return t;
        });
        executor.setRemoveOnCancelPolicy(true);
        return executor;
    }
}
