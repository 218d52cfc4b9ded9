package dev.warden.proxy.session;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lowers the calling thread's scheduling priority to nice 10. The JVM ignores {@link Thread#setPriority} on
 * Linux unless started with {@code -XX:ThreadPriorityPolicy=1} (and then maps the lowest Java priority to
 * nice 4 only), and has no call for it; Linux applies {@code setpriority} to a single thread when given its
 * thread id, which {@code /proc/thread-self} names. So the thread runs {@code renice} on itself once, when it
 * starts. Where that cannot be done (not Linux, no renice) the thread keeps its priority and the log says so
 * once: analysis still works, it just competes with the event loops on equal terms.
 *
 * <p>Nice 10, not 19: a waking event loop still preempts an analysing thread at once (its share of a contended
 * core is about a tenth), while analysis keeps making progress when the machine is busy with other work. At 19
 * a first flood text took 30 s to analyse while a build ran beside the test.
 */
final class LowPriority {

    private static final Logger log = LoggerFactory.getLogger(LowPriority.class);
    private static final AtomicBoolean WARNED = new AtomicBoolean();

    private LowPriority() {
    }

    static void applyToCurrentThread() {
        try {
            Path self = Files.readSymbolicLink(Path.of("/proc/thread-self")); // "<pid>/task/<tid>"
            String tid = self.getFileName().toString();
            Process renice = new ProcessBuilder("renice", "-n", "10", "-p", tid)
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!renice.waitFor(10, TimeUnit.SECONDS)) {
                renice.destroyForcibly();
                warn("renice did not finish");
            } else if (renice.exitValue() != 0) {
                warn("renice exited with " + renice.exitValue());
            }
        } catch (IOException | UnsupportedOperationException e) {
            warn(e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void warn(String why) {
        if (WARNED.compareAndSet(false, true)) {
            log.warn("analysis.priority_unchanged reason=\"{}\": statement analysis competes with the event loops "
                    + "for CPU", why);
        }
    }
}
