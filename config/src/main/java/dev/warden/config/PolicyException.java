package dev.warden.config;

/**
 * A policy that cannot be loaded. The message reads
 * {@code policy.yaml:12:7: environments.prod.upstream.port: must be between 1 and 65535}: file, line and column
 * of the offending node, its dotted path (omitted for YAML syntax errors), and the reason.
 */
public final class PolicyException extends Exception {

    private final String source;
    private final int line;
    private final int column;
    private final String path;
    private final String reason;

    PolicyException(String source, int line, int column, String path, String reason) {
        super(format(source, line, column, path, reason));
        this.source = source;
        this.line = line;
        this.column = column;
        this.path = path;
        this.reason = reason;
    }

    PolicyException(String source, String reason, Throwable cause) {
        super(source + ": " + reason, cause);
        this.source = source;
        this.line = 0;
        this.column = 0;
        this.path = "";
        this.reason = reason;
    }

    /** This error with every occurrence of a substituted value replaced by the {@code ${VAR}} that produced it. */
    PolicyException scrubbed(java.util.Map<String, String> substituted) {
        String clean = reason;
        // Longest first, so a value that contains another is replaced whole.
        java.util.List<String> values = new java.util.ArrayList<>(substituted.keySet());
        values.sort(java.util.Comparator.comparingInt(String::length).reversed());
        for (String value : values) {
            clean = clean.replace(value, substituted.get(value));
        }
        if (clean.equals(reason)) {
            return this;
        }
        return line == 0 ? new PolicyException(source, clean, getCause())
                : new PolicyException(source, line, column, path, clean);
    }

    private static String format(String source, int line, int column, String path, String reason) {
        StringBuilder sb = new StringBuilder(source).append(':').append(line).append(':').append(column).append(": ");
        if (!path.isEmpty()) {
            sb.append(path).append(": ");
        }
        return sb.append(reason).toString();
    }

    public String source() {
        return source;
    }

    /** 1-based; 0 when the error is not about a place in the file (e.g. it cannot be read). */
    public int line() {
        return line;
    }

    /** 1-based; 0 when the error is not about a place in the file. */
    public int column() {
        return column;
    }

    /** Dotted path such as {@code environments.prod.upstream.port}, or empty. */
    public String path() {
        return path;
    }

    public String reason() {
        return reason;
    }
}
