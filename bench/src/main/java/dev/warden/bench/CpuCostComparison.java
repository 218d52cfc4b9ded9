package dev.warden.bench;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * {@link MaskingAnalysisCpuCost}'s rounds for several builds in one process, interleaved (build A's round, then
 * B's, then A's...), so that the load of the shared machine falls on each build alike; reports each figure's
 * minimum and median over the rounds after the warm-up ones. Each build's bench jar is loaded in a class loader
 * of its own; this build's {@code MaskingAnalysisCpuCost} is put in each, so jars older than it (which have the
 * benchmarks it calls) can be compared too.
 * Run: {@code java -cp bench/target/warden-bench.jar dev.warden.bench.CpuCostComparison [--rounds 12]
 * [--warmup 2] [--rows 200000] [--statements 10000] name=path/to/warden-bench.jar ...}
 */
public final class CpuCostComparison {

    private static final String RUNNER = MaskingAnalysisCpuCost.class.getName();

    private CpuCostComparison() {
    }

    public static void main(String[] args) throws Exception {
        int rounds = 12;
        int warmup = 2;
        int rows = 200_000;
        int statements = 10_000;
        List<String> names = new ArrayList<>();
        List<Object> runners = new ArrayList<>();
        List<Method> roundOf = new ArrayList<>();
        byte[] runnerClass = runnerBytes();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--rows" -> rows = Integer.parseInt(args[++i]);
                case "--statements" -> statements = Integer.parseInt(args[++i]);
                default -> {
                    int eq = args[i].indexOf('=');
                    Path jar = Path.of(args[i].substring(eq + 1));
                    if (eq <= 0 || !Files.isRegularFile(jar)) {
                        throw new IllegalArgumentException("expected name=path/to/warden-bench.jar, got " + args[i]);
                    }
                    ClassLoader loader = new BuildLoader(jar, runnerClass);
                    Class<?> runner = loader.loadClass(RUNNER);
                    Constructor<?> make = runner.getConstructor();
                    names.add(args[i].substring(0, eq));
                    runners.add(make.newInstance());
                    roundOf.add(runner.getMethod("round", int.class, int.class));
                }
            }
        }
        if (names.isEmpty() || warmup >= rounds) {
            throw new IllegalArgumentException("give one build or more as name=jar, and more rounds than warm-up ones");
        }
        List<String> figures = MaskingAnalysisCpuCost.figures();
        double[][][] seen = new double[names.size()][figures.size()][rounds - warmup];
        for (int r = 0; r < rounds; r++) {
            for (int b = 0; b < names.size(); b++) {
                double[] f = (double[]) roundOf.get(b).invoke(runners.get(b), rows, statements);
                System.out.printf(Locale.ROOT, "round %d %s: %s%n", r + 1, names.get(b), brief(f));
                for (int k = 0; r >= warmup && k < f.length; k++) {
                    seen[b][k][r - warmup] = f[k];
                }
            }
        }
        System.out.printf(Locale.ROOT, "CPU ns (per field for masking, per statement for analysis) over rounds %d-%d:"
                + " min / median%n", warmup + 1, rounds);
        StringBuilder head = new StringBuilder(String.format(Locale.ROOT, "%-28s", "figure"));
        for (String name : names) {
            head.append(String.format(Locale.ROOT, " %22s", name));
        }
        System.out.println(head);
        for (int k = 0; k < figures.size(); k++) {
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%-28s", figures.get(k)));
            for (int b = 0; b < names.size(); b++) {
                double[] v = seen[b][k].clone();
                Arrays.sort(v);
                line.append(String.format(Locale.ROOT, " %10.1f / %9.1f", v[0], v[v.length / 2]));
            }
            System.out.println(line);
        }
    }

    private static String brief(double[] f) {
        StringBuilder s = new StringBuilder();
        for (double v : f) {
            s.append(String.format(Locale.ROOT, "%.1f ", v));
        }
        return s.toString().trim();
    }

    private static byte[] runnerBytes() throws IOException {
        try (InputStream in = CpuCostComparison.class.getResourceAsStream("/" + RUNNER.replace('.', '/') + ".class")) {
            if (in == null) {
                throw new IOException("cannot read " + RUNNER + "'s class file");
            }
            return in.readAllBytes();
        }
    }

    /** One build's jar, but this build's {@link MaskingAnalysisCpuCost}. */
    private static final class BuildLoader extends URLClassLoader {
        private final byte[] runner;

        BuildLoader(Path jar, byte[] runner) throws IOException {
            super(new URL[] {jar.toUri().toURL()}, ClassLoader.getPlatformClassLoader());
            this.runner = runner;
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            synchronized (getClassLoadingLock(name)) {
                Class<?> c = findLoadedClass(name);
                if (c == null && name.equals(RUNNER)) {
                    c = defineClass(name, runner, 0, runner.length);
                }
                if (c == null) {
                    return super.loadClass(name, resolve);
                }
                if (resolve) {
                    resolveClass(c);
                }
                return c;
            }
        }
    }
}
