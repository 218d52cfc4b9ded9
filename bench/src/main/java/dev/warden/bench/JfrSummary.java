package dev.warden.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import jdk.jfr.Configuration;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordingFile;

/**
 * A JFR recording of this JVM (Warden and the idle harness) while pgbench runs through Warden, summarised as
 * the methods most often on top of a CPU sample, the first Warden method on the sampled stacks, and the share
 * of samples per thread group; and where Warden's threads (event loops, {@code warden-*}) allocate, from
 * {@code jdk.ObjectAllocationSample} weights: by allocated class and the first Warden method on the stack. {@code
 * jfr print --events jdk.ExecutionSample FILE} (or {@code jdk.ObjectAllocationSample}) gives the raw samples when
 * the file is kept ({@code -Dwarden.bench.jfr=FILE}).
 */
final class JfrSummary {

    private static final int TOP = 15;

    private final Recording recording;
    private final Path file;
    /** Events before this instant (the JIT warm-up) are left out of the summary; null: none are. */
    private volatile Instant measuredFrom;

    private JfrSummary(Recording recording, Path file) {
        this.recording = recording;
        this.file = file;
    }

    static JfrSummary start(Path file) throws IOException, java.text.ParseException {
        Recording recording = new Recording(Configuration.getConfiguration("profile"));
        // -Dwarden.bench.jfrPeriodMs=N samples every N ms instead of the profile's 10 (more samples, more cost).
        String period = System.getProperty("warden.bench.jfrPeriodMs");
        if (period != null) {
            recording.enable("jdk.ExecutionSample").withPeriod(java.time.Duration.ofMillis(Long.parseLong(period)));
        }
        recording.setToDisk(true);
        recording.start();
        return new JfrSummary(recording, file);
    }

    /**
     * From now on events count in the summary. The recording starts before the JIT warm-up: starting one made
     * the JVM discard every compiled method at once (PrintCompilation: about 4,700 "made not entrant" in the
     * same second), so a recording started at the first measured round measured Warden being recompiled.
     */
    void measureFromNow() {
        measuredFrom = Instant.now();
    }

    /** Stops the recording, writes it to the file and returns the summary in Markdown. */
    String stopAndSummarise() throws IOException {
        recording.stop();
        recording.dump(file);
        recording.close();
        Map<String, Integer> topFrames = new HashMap<>();
        Map<String, Integer> wardenFrames = new HashMap<>();
        Map<String, Integer> threads = new HashMap<>();
        Map<String, Long> allocations = new HashMap<>();
        long allocated = 0;
        int samples = 0;
        Instant from = measuredFrom;
        for (RecordedEvent event : RecordingFile.readAllEvents(file)) {
            if (from != null && event.getStartTime().isBefore(from)) {
                continue;
            }
            if (event.getEventType().getName().equals("jdk.ObjectAllocationSample")) {
                allocated += allocation(event, allocations);
                continue;
            }
            if (!event.getEventType().getName().equals("jdk.ExecutionSample")) {
                continue;
            }
            var thread = event.getThread("sampledThread");
            if (thread != null && thread.getJavaName() != null && thread.getJavaName().startsWith(TlsPipe.THREADS)) {
                continue; // the featureless pipe's loops (--pipe on): not Warden
            }
            RecordedStackTrace stack = event.getStackTrace();
            if (stack == null || stack.getFrames().isEmpty()) {
                continue;
            }
            samples++;
            List<RecordedFrame> frames = stack.getFrames();
            topFrames.merge(name(frames.get(0)), 1, Integer::sum);
            for (RecordedFrame f : frames) {
                if (f.isJavaFrame() && f.getMethod().getType().getName().startsWith("dev.warden.")) {
                    wardenFrames.merge(name(f), 1, Integer::sum);
                    break;
                }
            }
            threads.merge(thread == null ? "?" : group(thread.getJavaName()), 1, Integer::sum);
        }
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "JFR (settings=profile) over the Warden runs: %d CPU samples; "
                + "recording %s%n%n", samples, file));
        table(out, "thread group", threads, samples);
        table(out, "top frame (self time)", topFrames, samples);
        table(out, "first Warden frame on the stack", wardenFrames, samples);
        out.append(String.format(Locale.ROOT, "Allocation on Warden's threads: %d MB in all (JFR's sampled "
                + "weights)%n%n", allocated >> 20));
        out.append("| class @ first Warden frame | MB | share |\n|---|---:|---:|\n");
        long all = Math.max(1, allocated);
        allocations.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(TOP)
                .forEach(e -> out.append(String.format(Locale.ROOT, "| `%s` | %d | %.1f %% |%n", e.getKey(),
                        e.getValue() >> 20, 100.0 * e.getValue() / all)));
        out.append('\n');
        return out.toString();
    }

    /** Adds one allocation sample of an event loop or Warden thread; returns its weight (0 for other threads). */
    private static long allocation(RecordedEvent event, Map<String, Long> sites) {
        var thread = event.getThread("eventThread");
        String name = thread == null || thread.getJavaName() == null ? "" : thread.getJavaName();
        if (!name.startsWith("multiThreadIoEventLoopGroup") && !name.startsWith("warden-")) {
            return 0;
        }
        long weight = event.getLong("weight");
        String where = "(no Warden frame)";
        RecordedStackTrace stack = event.getStackTrace();
        if (stack != null) {
            for (RecordedFrame f : stack.getFrames()) {
                if (f.isJavaFrame() && f.getMethod().getType().getName().startsWith("dev.warden.")
                        && !f.getMethod().getType().getName().contains("$$Lambda")) {
                    where = name(f) + ":" + f.getLineNumber();
                    break;
                }
            }
        }
        String type = event.getClass("objectClass").getName();
        sites.merge(type.substring(type.lastIndexOf('.') + 1) + " @ " + where, weight, Long::sum);
        return weight;
    }

    private static void table(StringBuilder out, String title, Map<String, Integer> counts, int total) {
        out.append("| ").append(title).append(" | samples | share |\n|---|---:|---:|\n");
        counts.entrySet().stream().sorted(Map.Entry.<String, Integer>comparingByValue().reversed()).limit(TOP)
                .forEach(e -> out.append(String.format(Locale.ROOT, "| `%s` | %d | %.1f %% |%n", e.getKey(),
                        e.getValue(), 100.0 * e.getValue() / Math.max(1, total))));
        out.append('\n');
    }

    private static String name(RecordedFrame frame) {
        String type = frame.getMethod().getType().getName();
        return type.substring(type.lastIndexOf('.') + 1) + "." + frame.getMethod().getName();
    }

    /** Thread names without their numbers: {@code warden-io-3} and {@code warden-io-4} are one group. */
    private static String group(String name) {
        return name == null ? "?" : name.replaceAll("[-#]?\\d+$", "");
    }
}
