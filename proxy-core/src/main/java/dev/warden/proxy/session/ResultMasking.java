package dev.warden.proxy.session;

import dev.warden.identity.Identity;
import dev.warden.masking.CopyMasker;
import dev.warden.masking.MaskContext;
import dev.warden.masking.MaskPlan;
import dev.warden.masking.Masker;
import dev.warden.masking.ResultColumn;
import dev.warden.pg.message.BackendMessage.RowDescription.Field;
import dev.warden.proxy.catalog.CatalogCache;
import dev.warden.proxy.catalog.ColumnName;
import dev.warden.sql.Analysis;
import dev.warden.sql.ColumnRef;
import dev.warden.sql.CopySpec;
import dev.warden.sql.StatementFacts;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Builds mask plans for one session's results: RowDescription fields resolved through the catalog, the
 * statement's reads for lineage, and the identity for exemptions. Plain values in, plans out; the session
 * decides when to call it and holds the stream while the catalog answers.
 */
final class ResultMasking {

    /** Read per result, so a policy reload applies to the next statement. */
    private final java.util.function.Supplier<Masker> masker;
    private final CatalogCache catalog;
    private final Identity identity;
    private final String environment;

    ResultMasking(java.util.function.Supplier<Masker> masker, CatalogCache catalog, Identity identity, String environment) {
        this.masker = masker;
        this.catalog = catalog;
        this.identity = identity;
        this.environment = environment;
    }

    /** Tables in {@code fields} the catalog cache does not know yet; empty when a plan can be made now. */
    Set<Integer> unknownTables(List<Field> fields) {
        Set<Integer> unknown = new LinkedHashSet<>();
        for (Field f : fields) {
            if (f.tableOid() != 0 && !catalog.knows(f.tableOid())) {
                unknown.add(f.tableOid());
            }
        }
        return unknown;
    }

    CompletableFuture<Void> resolve(Set<Integer> tables) {
        return catalog.resolve(tables);
    }

    /**
     * @param formats the result formats from Bind (empty: all text; one: for every column), or null to take
     *                the formats in {@code fields} (a RowDescription answering Execute or a portal Describe)
     */
    MaskPlan plan(List<Field> fields, List<Short> formats, Analysis analysis) {
        // A session repeats its statements: the same columns, formats, reads and policy give the same plan.
        // Plans are used by one session on one thread, one result at a time, so reusing one is safe.
        MaskContext context = context(analysis);
        Masker current = masker.get();
        PlanKey key = new PlanKey(current, fields, formats, context.columnsRead());
        MaskPlan cached = plans.get(key);
        if (cached != null) {
            return cached;
        }
        MaskPlan plan = current.plan(columns(fields, formats), context);
        plans.put(key, plan);
        return plan;
    }

    private record PlanKey(Masker masker, List<Field> fields, List<Short> formats, Set<String> reads) {
    }

    /** Recent plans of this session, least recently used dropped first. */
    private final java.util.Map<PlanKey, MaskPlan> plans = new java.util.LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(java.util.Map.Entry<PlanKey, MaskPlan> eldest) {
            return size() > 64;
        }
    };

    private List<ResultColumn> columns(List<Field> fields, List<Short> formats) {
        List<ResultColumn> columns = new ArrayList<>(fields.size());
        for (int i = 0; i < fields.size(); i++) {
            Field f = fields.get(i);
            short format = formats == null ? f.format()
                    : formats.isEmpty() ? 0 : formats.size() == 1 ? formats.get(0) : formats.get(i);
            Optional<ColumnName> source = f.tableOid() == 0 ? Optional.empty()
                    : catalog.cached(f.tableOid(), f.columnNumber());
            columns.add(source.map(s -> ResultColumn.fromTable(s.schema(), s.table(), s.column(), f.name(),
                            f.typeOid(), f.typeModifier(), format))
                    .orElseGet(() -> ResultColumn.expression(f.name(), f.typeOid(), format)));
        }
        return columns;
    }

    /** The COPY TO STDOUT of {@code analysis}, if it has one, with the query that describes its columns. */
    static Optional<String> copyDescribeQuery(Analysis analysis) {
        if (analysis == null) {
            return Optional.empty();
        }
        for (StatementFacts f : analysis.statements()) {
            if (f.copy().isEmpty() || f.copy().get().direction() != CopySpec.Direction.TO) {
                continue;
            }
            CopySpec copy = f.copy().get();
            if (copy.query() && f.inner().isPresent()) {
                return Optional.of(f.inner().get().text());
            }
            if (copy.table().isPresent()) {
                List<String> named = f.columnsRead().stream().map(ColumnRef::column)
                        .filter(c -> !c.equals("*")).toList();
                String list = named.isEmpty() ? "*" : String.join(", ", named.stream().map(ResultMasking::quote).toList());
                return Optional.of("SELECT " + list + " FROM " + qualified(copy.table().get()));
            }
        }
        return Optional.empty();
    }

    static String copyFormat(Analysis analysis) {
        for (StatementFacts f : analysis.statements()) {
            if (f.copy().isPresent()) {
                return f.copy().get().format();
            }
        }
        return "text";
    }

    CompletableFuture<List<CatalogCache.DescribedColumn>> describe(String query) {
        return catalog.describe(query);
    }

    CopyMasker copyMasker(List<CatalogCache.DescribedColumn> described, String format, Analysis analysis) {
        short wire = (short) (format.equals("binary") ? 1 : 0);
        List<ResultColumn> columns = new ArrayList<>();
        for (CatalogCache.DescribedColumn d : described) {
            columns.add(d.source().map(s -> ResultColumn.fromTable(s.schema(), s.table(), s.column(), d.name(),
                    d.typeOid(), d.typeModifier(), wire))
                    .orElseGet(() -> ResultColumn.expression(d.name(), d.typeOid(), wire)));
        }
        MaskPlan plan = masker.get().plan(columns, context(analysis));
        return switch (format) {
            case "csv" -> CopyMasker.csv(plan, ',', '"', '"', "");
            case "binary" -> CopyMasker.binary(plan);
            default -> CopyMasker.text(plan, '\t', "\\N");
        };
    }

    void invalidate() {
        catalog.invalidate();
        plans.clear();
    }

    private MaskContext context(Analysis analysis) {
        Set<String> reads = new LinkedHashSet<>();
        if (analysis == null) {
            reads.addAll(MaskContext.UNKNOWN_READS);
        } else {
            for (StatementFacts f : analysis.statements()) {
                addReads(f, reads);
                if (f.unparsed()) {
                    reads.addAll(MaskContext.UNKNOWN_READS);
                }
            }
        }
        return new MaskContext(identity.username(), identity.groups(), identity.kind() == Identity.Kind.AGENT,
                environment, reads);
    }

    private static void addReads(StatementFacts f, Set<String> reads) {
        for (ColumnRef c : f.columnsRead()) {
            if (c.table() == null && c.column().equals("*")) {
                // SELECT * reads whole rows of every table in FROM.
                f.tablesRead().forEach(t -> reads.add(t.name() + ".*"));
            } else {
                reads.add(c.table() == null ? c.column() : c.table() + "." + c.column());
            }
        }
        f.inner().ifPresent(inner -> addReads(inner, reads));
    }

    private static String qualified(dev.warden.sql.TableRef t) {
        return t.schema() == null ? quote(t.name()) : quote(t.schema()) + "." + quote(t.name());
    }

    private static String quote(String identifier) {
        return "\"" + identifier.replace("\"", "\"\"") + "\"";
    }
}
