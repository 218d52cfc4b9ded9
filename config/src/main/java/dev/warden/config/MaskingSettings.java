package dev.warden.config;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * The {@code masking} section: built-in detectors on or off, value detection and where it is off, the HMAC
 * key for {@code hash}/{@code tokenize}, explicit rules in file order, and who sees clear values.
 *
 * @param builtinDetectors    {@code defaults: on}: built-in detectors (by column name and by value) apply without rules
 * @param valueDetection      text values are scanned by the value detectors
 * @param valueDetectionOffIn environments where value detection is off even when {@code valueDetection}
 * @param tokenKey            HMAC key from {@code token_key_env}; empty = a random key per process
 * @param rules               explicit rules; within one kind of target the first match wins
 * @param unmaskedFor         identities that see clear values
 * @param notice              {@code notice: on}: once per statement a NoticeResponse names the masked columns
 *                            and the rules that masked them
 * @param protectFilters      {@code protect_filters: true}: a masked identity may not filter, sort, group or
 *                            join on a sensitive column, except by equality with a bound parameter
 */
public record MaskingSettings(boolean builtinDetectors, boolean valueDetection, Set<String> valueDetectionOffIn,
                              Secret tokenKey, List<MaskingRule> rules, Exemption unmaskedFor, boolean notice,
                              boolean protectFilters) {

    /** Notice on, filters not protected: the defaults of the two later settings. */
    public MaskingSettings(boolean builtinDetectors, boolean valueDetection, Set<String> valueDetectionOffIn,
                           Secret tokenKey, List<MaskingRule> rules, Exemption unmaskedFor) {
        this(builtinDetectors, valueDetection, valueDetectionOffIn, tokenKey, rules, unmaskedFor, true, false);
    }

    /** Name detectors (on the column name) and value detectors (on text values), by the names rules use. */
    public static final List<String> NAME_DETECTORS = List.of(
            "email", "phone", "ssn", "passport", "iban", "card", "cvv", "secret", "dob", "address");
    public static final List<String> VALUE_DETECTORS = List.of(
            "email", "card", "us_ssn", "iban", "phone", "jwt", "pem_private_key", "aws_access_key", "github_token",
            "slack_token", "stripe_key", "high_entropy");
    public static final List<String> DETECTORS = List.of(
            "email", "phone", "ssn", "passport", "iban", "card", "cvv", "secret", "dob", "address", "us_ssn", "jwt",
            "pem_private_key", "aws_access_key", "github_token", "slack_token", "stripe_key", "high_entropy");

    /**
     * Type names a {@code type:} rule may use, alias → canonical name (the name in {@code pg_type}). A
     * {@code []} suffix selects the array type.
     */
    public static final Map<String, String> TYPE_NAMES = typeNames();

    public MaskingSettings {
        valueDetectionOffIn = Set.copyOf(valueDetectionOffIn);
        Objects.requireNonNull(tokenKey, "tokenKey");
        rules = List.copyOf(rules);
        Objects.requireNonNull(unmaskedFor, "unmaskedFor");
    }

    /** Defaults on, value detection on everywhere, no rules, nobody exempt, a random per-process key. */
    public static MaskingSettings defaults() {
        return new MaskingSettings(true, true, Set.of(), Secret.none(), List.of(), Exemption.NOBODY);
    }

    /** Whether values are scanned in {@code environment}. */
    public boolean valueDetectionIn(String environment) {
        return valueDetection && !valueDetectionOffIn.contains(environment);
    }

    /**
     * Identities that see clear values. Agents are never exempt, even when in {@code groups} or {@code users},
     * unless {@code agentsAllowed}.
     */
    public record Exemption(Set<String> groups, Set<String> users, boolean agentsAllowed) {

        public static final Exemption NOBODY = new Exemption(Set.of(), Set.of(), false);

        public Exemption {
            groups = Set.copyOf(groups);
            users = Set.copyOf(users);
        }

        public boolean exempts(String username, Set<String> memberOf, boolean agent) {
            if (agent && !agentsAllowed) {
                return false;
            }
            if (users.contains(username)) {
                return true;
            }
            if (groups.isEmpty()) {
                return false;
            }
            // Asked for every result a session receives: a loop, not a stream (no allocation).
            for (String group : memberOf) {
                if (groups.contains(group)) {
                    return true;
                }
            }
            return false;
        }
    }

    private static Map<String, String> typeNames() {
        Map<String, String> m = new LinkedHashMap<>();
        String[][] table = {
                {"bool", "bool", "boolean"}, {"bytea", "bytea"}, {"char", "char", "\"char\""}, {"name", "name"},
                {"int8", "int8", "bigint"}, {"int2", "int2", "smallint"}, {"int4", "int4", "integer", "int"},
                {"text", "text"}, {"oid", "oid"}, {"json", "json"}, {"xml", "xml"},
                {"float4", "float4", "real"}, {"float8", "float8", "double precision", "double"},
                {"money", "money"}, {"cidr", "cidr"}, {"inet", "inet"},
                {"bpchar", "bpchar", "character", "char(n)"}, {"varchar", "varchar", "character varying"},
                {"date", "date"}, {"time", "time", "time without time zone"},
                {"timestamp", "timestamp", "timestamp without time zone"},
                {"timestamptz", "timestamptz", "timestamp with time zone"}, {"interval", "interval"},
                {"timetz", "timetz", "time with time zone"}, {"numeric", "numeric", "decimal"},
                {"uuid", "uuid"}, {"record", "record"}, {"jsonb", "jsonb"}, {"unknown", "unknown"}};
        for (String[] row : table) {
            for (int i = 1; i < row.length; i++) {
                m.put(row[i], row[0]);
            }
        }
        return Map.copyOf(m);
    }

    /**
     * One {@code masking.rules} entry: what it selects ({@link Target}) and how matching values are masked.
     * {@code keep} is only meaningful for {@link Strategy#PARTIAL}; {@code value} only for {@link Strategy#FIXED}.
     */
    public record MaskingRule(Target target, Strategy strategy, int keep, Optional<String> value) {

        public MaskingRule {
            if (keep < 0) {
                throw new IllegalArgumentException("keep must not be negative");
            }
            if (strategy == Strategy.FIXED && value.isEmpty()) {
                throw new IllegalArgumentException("the fixed strategy needs a value");
            }
        }

        /** What a rule selects. Names are compared case-insensitively, as PostgreSQL folds unquoted names. */
        public sealed interface Target permits Column, ColumnNamePattern, TypeName, Detector {
            /** For the audit trail and logs: {@code column:public.users.email}. */
            String describe();
        }

        /** {@code schema.table.column}, schema optional (then any schema matches). */
        public record Column(Optional<String> schema, String table, String column) implements Target {
            @Override
            public String describe() {
                return "column:" + schema.map(s -> s + ".").orElse("") + table + "." + column;
            }
        }

        /** A regular expression searched (not anchored) in the column name; validated at load. */
        public record ColumnNamePattern(String regex) implements Target {
            @Override
            public String describe() {
                return "column_name:" + regex;
            }
        }

        /** A canonical PostgreSQL type name ({@code text}, {@code int4}, {@code bytea}, {@code text[]}…). */
        public record TypeName(String name) implements Target {
            @Override
            public String describe() {
                return "type:" + name;
            }
        }

        /** A built-in detector, by name ({@link MaskingSettings#DETECTORS}). */
        public record Detector(String name) implements Target {
            @Override
            public String describe() {
                return "detector:" + name;
            }
        }

        public enum Strategy {
            REDACT, PARTIAL, EMAIL, HASH, TOKENIZE, NULL, FIXED, KEEP;

            /** The name used in policy files. */
            public String configName() {
                return name().toLowerCase(Locale.ROOT);
            }
        }
    }
}
