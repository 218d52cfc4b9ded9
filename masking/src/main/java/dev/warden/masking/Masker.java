package dev.warden.masking;

import dev.warden.config.MaskingSettings.MaskingRule;
import dev.warden.config.MaskingSettings.MaskingRule.Strategy;
import dev.warden.config.MaskingSettings;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Turns the masking policy into a {@link MaskPlan} per result. Thread-safe and meant to live as long as
 * the policy it was built from.
 *
 * <p>Per column, the first of these that applies decides:
 * <ol>
 *   <li>the identity is in {@code unmasked_for} (agents only if {@code agents: allowed}): keep everything;</li>
 *   <li>a {@code column:} rule on the column's source ({@code schema.table.column}, schema optional);</li>
 *   <li>a {@code column_name:} rule whose regex is found in the source column name or the result name;</li>
 *   <li>a {@code type:} rule on the column's type;</li>
 *   <li>a name detector on the source column name or result name (all of them with {@code defaults: on},
 *       else those named by {@code detector:} rules), with the rule's strategy or the detector's own;</li>
 *   <li>lineage: an expression column (no source table) when the statement could carry a sensitive value
 *       (the proxy decides that from the catalog and the statement's names, see {@link MaskContext}), and a
 *       column of a view whose definition reads a sensitive column ({@link MaskContext#derivedColumns()}):
 *       {@code redact} (NULL for non-text types). Lineage also overrides an {@code email}, {@code partial},
 *       {@code hash} or {@code tokenize} treatment of steps 2-5 for such an expression, and for a view's column computed over a sensitive read
 *       ({@link MaskContext#computed}): what those strategies keep would be what the expression put there;</li>
 *   <li>value detection (when on for the environment) on text-like columns: {@code detect};</li>
 *   <li>keep.</li>
 * </ol>
 * An explicit {@code strategy: keep} in steps 2–4 keeps the column and also skips value detection. A policy
 * that can mask nothing for the identity and environment ({@link #masksAnything}) keeps everything.
 */
public final class Masker {

    static final Map<String, Treatment> NAME_DEFAULTS = Map.of(
            "email", Treatment.of(Strategy.EMAIL, "builtin:email"),
            "phone", Treatment.of(Strategy.PARTIAL, "builtin:phone"),
            "ssn", Treatment.of(Strategy.REDACT, "builtin:ssn"),
            "passport", Treatment.of(Strategy.REDACT, "builtin:passport"),
            "iban", Treatment.of(Strategy.PARTIAL, "builtin:iban"),
            "card", Treatment.of(Strategy.PARTIAL, "builtin:card"),
            "cvv", Treatment.of(Strategy.REDACT, "builtin:cvv"),
            "secret", Treatment.of(Strategy.REDACT, "builtin:secret"),
            "dob", Treatment.of(Strategy.REDACT, "builtin:dob"),
            "address", Treatment.of(Strategy.REDACT, "builtin:address"));

    static final Map<String, Strategy> VALUE_DEFAULTS = Map.ofEntries(
            Map.entry("email", Strategy.EMAIL), Map.entry("card", Strategy.PARTIAL),
            Map.entry("us_ssn", Strategy.REDACT), Map.entry("iban", Strategy.PARTIAL),
            Map.entry("phone", Strategy.PARTIAL), Map.entry("jwt", Strategy.REDACT),
            Map.entry("pem_private_key", Strategy.REDACT), Map.entry("aws_access_key", Strategy.REDACT),
            Map.entry("github_token", Strategy.REDACT), Map.entry("slack_token", Strategy.REDACT),
            Map.entry("stripe_key", Strategy.REDACT), Map.entry("high_entropy", Strategy.REDACT));

    private static final Treatment LINEAGE = Treatment.of(Strategy.REDACT, "lineage:expression-over-sensitive-read");
    private static final Treatment LINEAGE_VIEW = Treatment.of(Strategy.REDACT, "lineage:view-over-sensitive-read");

    private record ColumnRule(MaskingRule.Column target, Treatment treatment) {
    }

    private record PatternRule(Pattern pattern, Treatment treatment) {
    }

    private final MaskingSettings settings;
    private final ValueMasker values;
    private final List<ColumnRule> columnRules = new ArrayList<>();
    private final List<PatternRule> patternRules = new ArrayList<>();
    private final Map<String, Treatment> typeRules = new java.util.HashMap<>();
    private final Map<String, Treatment> detectorRules = new java.util.HashMap<>();
    private final Set<String> valueDetectors;
    /** Whether some explicit rule masks (rather than keeps). */
    private final boolean maskingRules;

    public Masker(MaskingSettings settings) {
        this.settings = settings;
        this.values = new ValueMasker(new Tokenizer(settings.tokenKey()));
        for (MaskingRule r : settings.rules()) {
            Treatment t = new Treatment(r.strategy(), r.keep(), r.value().orElse(""), r.target().describe());
            MaskingRule.Target target = r.target();
            if (target instanceof MaskingRule.Column c) {
                columnRules.add(new ColumnRule(c, t));
            } else if (target instanceof MaskingRule.ColumnNamePattern p) {
                patternRules.add(new PatternRule(Pattern.compile(p.regex()), t));
            } else if (target instanceof MaskingRule.TypeName n) {
                typeRules.putIfAbsent(n.name(), t);
            } else if (target instanceof MaskingRule.Detector d) {
                detectorRules.putIfAbsent(d.name(), t);
            }
        }
        Set<String> enabled = new LinkedHashSet<>();
        for (String d : MaskingSettings.VALUE_DETECTORS) {
            Treatment rule = valueDetectorRule(d);
            if (rule != null ? rule.strategy() != Strategy.KEEP : settings.builtinDetectors()) {
                enabled.add(d);
            }
        }
        this.valueDetectors = Set.copyOf(enabled);
        this.maskingRules = settings.rules().stream().anyMatch(r -> r.strategy() != Strategy.KEEP);
    }

    /**
     * Text the server sends outside result rows (error and notice fields, notification payloads, parameter
     * values) as this identity may see it: unchanged for an exempt identity; otherwise values PostgreSQL
     * echoes are redacted by construction and detected values are redacted (see {@link MessageText}).
     */
    public String maskMessage(String text, MaskContext context) {
        return maskMessage(text, context, null);
    }

    /**
     * A field of an error or notice about a statement: as {@link #maskMessage(String, MaskContext)}, and when the
     * statement could carry a sensitive value, a quoted text or a looked-up name the message shows is kept only
     * when {@code names} names it (see {@link MessageNames}); null for text about no statement.
     */
    public String maskMessage(String text, MaskContext context, MessageNames names) {
        if (!masksAnything(context)) {
            return text;
        }
        Set<String> detectors = settings.valueDetectionIn(context.environment()) ? valueDetectors : Set.of();
        return MessageText.mask(text, readsSensitive(context.columnsRead()), detectors, names);
    }

    /**
     * Whether a message about a statement in {@code context} is masked as one that could carry a sensitive value
     * (echoed values redacted by construction): the identity is masked, and the statement reads a sensitive column
     * or what it read is not known.
     */
    public boolean echoesSensitive(MaskContext context) {
        return masksAnything(context) && readsSensitive(context.columnsRead());
    }

    /**
     * Whether this policy can change anything this identity receives in this environment: false for an exempt
     * identity, and for a policy with no rule that masks, no built-in detectors and no value detection there.
     * When false, not one byte is changed.
     */
    public boolean masksAnything(MaskContext context) {
        if (settings.unmaskedFor().exempts(context.username(), context.groups(), context.agent())) {
            return false;
        }
        return maskingRules || settings.builtinDetectors()
                || (!valueDetectors.isEmpty() && settings.valueDetectionIn(context.environment()));
    }

    /**
     * Whether the policy has anything that makes a column sensitive (a masking rule, the built-in name detectors):
     * then even an exempt identity's results name the sensitive columns it received in clear, for the audit.
     */
    public boolean identifiesSensitiveColumns() {
        return maskingRules || settings.builtinDetectors();
    }

    /**
     * Whether the policy masks this table column by its source or name (explicit rules and name detectors;
     * value detection aside), for a masked identity: what makes a column sensitive for lineage.
     */
    public boolean masksSourceColumn(String schema, String table, String column, int typeOid) {
        Treatment t = sourceTreatment(Optional.ofNullable(schema), Optional.of(table), Optional.of(column), column,
                PgType.of(typeOid));
        return t != null && t.strategy() != Strategy.KEEP;
    }

    /**
     * Whether the policy masks this table column by its source or name with a strategy that tells something of the
     * value ({@code email}: the domain, {@code partial}: the last characters, {@code hash} and {@code tokenize}: a
     * token equal for equal values): a value computed from a sensitive read and stored there would tell what the
     * computation put there.
     */
    public boolean revealsPartOfSourceColumn(String schema, String table, String column, int typeOid) {
        Treatment t = sourceTreatment(Optional.ofNullable(schema), Optional.of(table), Optional.of(column), column,
                PgType.of(typeOid));
        return t != null && revealing(t.strategy());
    }

    /**
     * Whether the policy masks two table columns (by source or name, as {@link #masksSourceColumn}) alike: the same
     * strategy with the same parameters, or neither at all. A value copied as it is from the first into the second
     * then shows no more there than it did where it was read.
     */
    public boolean masksAlike(String schema, String table, String column, int typeOid, String otherSchema,
                              String otherTable, String otherColumn, int otherTypeOid) {
        Treatment a = sourceTreatment(Optional.ofNullable(schema), Optional.of(table), Optional.of(column), column,
                PgType.of(typeOid));
        Treatment b = sourceTreatment(Optional.ofNullable(otherSchema), Optional.of(otherTable),
                Optional.of(otherColumn), otherColumn, PgType.of(otherTypeOid));
        boolean aKept = a == null || a.strategy() == Strategy.KEEP;
        boolean bKept = b == null || b.strategy() == Strategy.KEEP;
        if (aKept || bKept) {
            return aKept == bKept;
        }
        return a.strategy() == b.strategy() && a.keep() == b.keep() && a.fixedValue().equals(b.fixedValue());
    }

    /**
     * Whether a {@code column:} rule names a column of this relation: the only way the policy makes a column of a
     * system catalog ({@code pg_catalog}, {@code information_schema}) sensitive for lineage, whose names are the
     * server's (a {@code passwd} or {@code address} there is no personal data) and whose views wrap functions
     * of the same name (a definition lineage cannot follow).
     */
    public boolean namesRelation(String schema, String table) {
        String s = schema == null ? null : schema.toLowerCase(Locale.ROOT);
        String t = table.toLowerCase(Locale.ROOT);
        for (ColumnRule r : columnRules) {
            MaskingRule.Column target = r.target();
            if (target.table().equals(t) && r.treatment().strategy() != Strategy.KEEP
                    && (target.schema().isEmpty() || s == null || target.schema().get().equals(s))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether a {@code column:} rule that masks names this schema: its columns are masked only while their
     * relations stay in it (a rule without a schema follows its table wherever it is).
     */
    public boolean namesSchema(String schema) {
        String s = schema.toLowerCase(Locale.ROOT);
        for (ColumnRule r : columnRules) {
            if (r.target().schema().isPresent() && r.target().schema().get().equals(s)
                    && r.treatment().strategy() != Strategy.KEEP) {
                return true;
            }
        }
        return false;
    }

    /** Whether {@code masking.protect_filters} is on. */
    public boolean protectsFilters() {
        return settings.protectFilters();
    }

    /** The plan for one result description, for one identity and statement. */
    public MaskPlan plan(List<ResultColumn> columns, MaskContext context) {
        int n = columns.size();
        MaskPlan.Action[] actions = new MaskPlan.Action[n];
        Treatment[] treatments = new Treatment[n];
        List<ColumnDecision> decisions = new ArrayList<>(n);
        boolean[] masksNulls = new boolean[n];
        boolean exempt = !masksAnything(context);
        boolean scan = !exempt && !valueDetectors.isEmpty() && settings.valueDetectionIn(context.environment());
        Boolean sensitiveReads = null;
        for (int i = 0; i < n; i++) {
            ResultColumn c = columns.get(i);
            PgType type = PgType.of(c.typeOid());
            MaskPlan.Action action;
            Treatment t;
            String exemptFrom = null;
            if (exempt) {
                action = MaskPlan.Action.KEEP;
                t = new Treatment(Strategy.KEEP, 0, "", "unmasked_for");
                // For the audit: which columns this identity received in clear that others get masked.
                Treatment others = sourceTreatment(c.schema(), c.table(), c.column(), c.name(), type);
                exemptFrom = others == null || others.strategy() == Strategy.KEEP ? null : others.rule();
            } else {
                t = sourceTreatment(c.schema(), c.table(), c.column(), c.name(), type);
                if (t != null && revealing(t.strategy())) {
                    // What email and partial keep (the domain, the last characters), and what a hash tells, is of the
                    // value's own only when the value is the column's: an expression over a sensitive read named
                    // like the column ('a@' || translate(email, '@', '-') AS email) puts whatever it likes there.
                    if (c.isExpression()) {
                        if (sensitiveReads == null) {
                            sensitiveReads = readsSensitive(context.columnsRead());
                        }
                        t = sensitiveReads ? LINEAGE : t;
                    } else if (context.derivedColumns().contains(MaskContext.computed(qualified(c)))
                            || context.derivedColumns().contains(MaskContext.EVERY_COLUMN)) {
                        t = LINEAGE_VIEW;
                    }
                }
                if (t == null && !c.isExpression() && (context.derivedColumns().contains(qualified(c))
                        || context.derivedColumns().contains(MaskContext.EVERY_COLUMN))) {
                    t = LINEAGE_VIEW;
                }
                if (t == null && c.isExpression()) {
                    if (sensitiveReads == null) {
                        sensitiveReads = readsSensitive(context.columnsRead());
                    }
                    t = sensitiveReads ? LINEAGE : null;
                }
                if (t != null && t.strategy() != Strategy.KEEP) {
                    action = MaskPlan.Action.MASK;
                } else if (t == null && scan && scannable(type, c.binary())) {
                    action = MaskPlan.Action.SCAN;
                    t = new Treatment(Strategy.KEEP, 0, "", "value_detection");
                } else {
                    action = MaskPlan.Action.KEEP;
                    t = t == null ? Treatment.KEEP : t;
                }
            }
            actions[i] = action;
            treatments[i] = t;
            // A masked column's NULLs are masked too: an expression, a view's computed column, or a table's column
            // filled from a computation (CASE WHEN <bit of the SSN> THEN 'x' END into a temporary table's ssn, a view
            // column named ssn, a generated column) is NULL by what it read (a140 F4, a141 F1 and F3).
            masksNulls[i] = action == MaskPlan.Action.MASK;
            decisions.add(new ColumnDecision(c.name(), action == MaskPlan.Action.MASK, action == MaskPlan.Action.SCAN,
                    action == MaskPlan.Action.SCAN ? "detect" : t.describe(), t.rule(), exemptFrom));
        }
        return new MaskPlan(columns, actions, treatments, decisions, values, valueDetectors, this::valueTreatment,
                settings.notice(), masksNulls);
    }

    /**
     * Strategies whose output tells something of the value: part of it (email keeps the domain, partial the last
     * characters), or a token equal for equal values (hash, tokenize: a dictionary of one character's tokens, made
     * from literals, reads substr(email, i, 1) back). Safe only on a value the column itself holds.
     */
    private static boolean revealing(Strategy s) {
        return s == Strategy.EMAIL || s == Strategy.PARTIAL || s == Strategy.HASH || s == Strategy.TOKENIZE;
    }

    private static String qualified(ResultColumn c) {
        return (c.schema().orElse("") + "." + c.table().orElse("") + "." + c.column().orElse(""))
                .toLowerCase(Locale.ROOT);
    }

    /**
     * Steps 2 to 5 for a column identified by name (and its source, when known): an explicit rule, or a
     * name detector. Null when nothing applies; a KEEP treatment when a rule explicitly keeps it.
     */
    private Treatment sourceTreatment(Optional<String> schema, Optional<String> table, Optional<String> column,
                                      String resultName, PgType type) {
        // Every statement asks again about the same columns; the rules are immutable, so an answer is kept. A
        // lookup is then one hash probe instead of a pass over the rules, their patterns and the name detectors.
        SourceKey key = new SourceKey(schema.orElse(null), table.orElse(null), column.orElse(null), resultName,
                type == null ? null : type.name());
        Treatment known = sourceTreatments.get(key);
        if (known == null) {
            if (sourceTreatments.size() >= MAX_REMEMBERED) {
                sourceTreatments.clear(); // result names are the client's to choose: stay bounded
            }
            known = computeSourceTreatment(schema, table, column, resultName, type);
            sourceTreatments.put(key, known == null ? NOTHING : known);
        }
        return known == NOTHING ? null : known;
    }

    private record SourceKey(String schema, String table, String column, String resultName, String type) {
    }

    /** Stands for "no treatment" in {@link #sourceTreatments}, which holds no nulls. */
    private static final Treatment NOTHING = new Treatment(Strategy.KEEP, 0, "", "none");
    private static final int MAX_REMEMBERED = 4096;
    private final Map<SourceKey, Treatment> sourceTreatments = new java.util.concurrent.ConcurrentHashMap<>();

    private Treatment computeSourceTreatment(Optional<String> schema, Optional<String> table, Optional<String> column,
                                             String resultName, PgType type) {
        if (table.isPresent() && column.isPresent()) {
            String s = schema.map(x -> x.toLowerCase(Locale.ROOT)).orElse(null);
            String tb = table.get().toLowerCase(Locale.ROOT);
            String col = column.get().toLowerCase(Locale.ROOT);
            for (ColumnRule r : columnRules) {
                MaskingRule.Column target = r.target();
                boolean schemaMatches = target.schema().isEmpty() || s == null || target.schema().get().equals(s);
                if (schemaMatches && target.table().equals(tb) && target.column().equals(col)) {
                    return r.treatment();
                }
            }
        }
        String source = column.orElse(resultName);
        for (PatternRule r : patternRules) {
            if (r.pattern().matcher(source).find() || r.pattern().matcher(resultName).find()) {
                return r.treatment();
            }
        }
        if (type != null && typeRules.containsKey(type.name())) {
            return typeRules.get(type.name());
        }
        Optional<String> detector = NameDetectors.detect(table.orElse(null), source);
        if (detector.isEmpty() && !source.equals(resultName)) {
            detector = NameDetectors.detect(resultName);
        }
        if (detector.isPresent()) {
            Treatment rule = detectorRules.get(detector.get());
            if (rule != null) {
                return rule.strategy() == Strategy.KEEP ? null : rule;
            }
            if (settings.builtinDetectors()) {
                return NAME_DEFAULTS.get(detector.get());
            }
        }
        return null;
    }

    /** Whether any read column is sensitive, or a wildcard (whole rows, or reads the analyser lost). */
    boolean readsSensitive(Set<String> columnsRead) {
        for (String entry : columnsRead) {
            String[] parts = entry.split("\\.");
            String column = parts[parts.length - 1];
            if (column.equals("*")) {
                return true;
            }
            Optional<String> table = parts.length >= 2 ? Optional.of(parts[parts.length - 2]) : Optional.empty();
            Optional<String> schema = parts.length >= 3 ? Optional.of(parts[parts.length - 3]) : Optional.empty();
            Treatment t = sourceTreatment(schema, table, Optional.of(column), column, null);
            if (t != null && t.strategy() != Strategy.KEEP) {
                return true;
            }
        }
        return false;
    }

    /** Treatment for a value-detector hit: the policy's detector rule, else the detector's default. */
    Treatment valueTreatment(String detector) {
        Treatment rule = valueDetectorRule(detector);
        return rule != null ? rule : new Treatment(VALUE_DEFAULTS.get(detector), 4, "", "value:" + detector);
    }

    private Treatment valueDetectorRule(String detector) {
        Treatment rule = detectorRules.get(detector);
        if (rule == null && detector.equals("us_ssn")) {
            rule = detectorRules.get("ssn");
        }
        return rule;
    }

    private static boolean scannable(PgType type, boolean binary) {
        return type.textLike() || (!binary && (type.kind() == PgType.Kind.OTHER || type.kind() == PgType.Kind.RECORD
                || type.noFreeText()));
    }
}
