package dev.warden.proxy.session;

import dev.warden.proxy.catalog.CatalogCache;
import dev.warden.proxy.catalog.Exposure;
import dev.warden.proxy.catalog.StatementWalk;
import dev.warden.sql.Analysis;
import dev.warden.sql.StatementFacts;
import dev.warden.sql.StatementKind;

import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The exposure each statement of a session was judged with, and what may have made a clear judgement stale since:
 * DDL that redefined a name the statement reaches (a view replaced), in this session or, through Warden, in another
 * one, or a statement that may have changed the search_path. The server re-plans a prepared statement in all these
 * cases, so it may read other relations than at Parse. Event loop only.
 */
final class JudgedExposures {

    /**
     * An exposure, the search_path it was judged with (null: every candidate), the DDL generation and
     * search_path epoch it was judged in (generation -1: a cursor's, whose plan nothing later changes), the
     * names it reaches through views, and the catalog's invalidation count it was judged at (DDL of any session).
     */
    record Judged(Exposure exposure, List<String> path, long generation, long pathEpoch, Set<String> reached,
                  long catalogInvalidations) {
    }

    /** Where DDL of every session is recorded (see {@link CatalogCache#redefinedSince}); null without a catalog. */
    private final CatalogCache catalog;

    JudgedExposures(CatalogCache catalog) {
        this.catalog = catalog;
    }

    /** By analysis instance (the session keeps the same instance from Parse to each Execute). */
    private final Map<Analysis, Judged> byAnalysis = new IdentityHashMap<>();
    /** Counts the DDL seen (each invalidates the catalog). */
    private long generation;
    /** Counts the statements that may have changed the search_path (see {@link #mayChangeSearchPath}). */
    private long pathEpoch;
    /** The generation of the last DDL that redefined each name. */
    private final Map<String, Long> redefined = new HashMap<>();
    /** The generation of the last DDL whose names are not known (dynamic SQL). */
    private long anyRedefined = -1;

    Judged get(Analysis analysis) {
        return byAnalysis.get(analysis);
    }

    void remember(Analysis analysis, Exposure exposure, List<String> path, Set<String> reached,
                  long catalogInvalidations) {
        put(analysis, new Judged(exposure, path, generation, pathEpoch, reached, catalogInvalidations));
    }

    /** A cursor's query: its plan was made at DECLARE, which no later DDL or search_path changes. */
    void rememberFixed(Analysis analysis, Exposure exposure) {
        put(analysis, new Judged(exposure, null, -1, 0, Set.of(), 0));
    }

    private void put(Analysis analysis, Judged judged) {
        if (byAnalysis.size() > 256) {
            byAnalysis.clear();
        }
        byAnalysis.put(analysis, judged);
    }

    /**
     * Whether {@code judged}, a clear judgement, may no longer hold: DDL since redefined a name it reaches, or it
     * was judged with a search_path a later statement may have changed. A sensitive one is never relaxed.
     */
    boolean stale(Judged judged) {
        if (judged.exposure().sensitive() || judged.generation() < 0) {
            return false;
        }
        if (judged.path() != null && judged.pathEpoch() != pathEpoch || anyRedefined > judged.generation()) {
            return true;
        }
        if (!redefined.isEmpty()) {
            for (String name : judged.reached()) {
                if (redefined.getOrDefault(name, -1L) > judged.generation()) {
                    return true;
                }
            }
        }
        // Another session's DDL through Warden (CREATE OR REPLACE VIEW of a view this statement reads).
        return catalog != null && catalog.redefinedSince(judged.reached(), judged.catalogInvalidations());
    }

    /** The catalog was invalidated: a new DDL generation starts. */
    void newGeneration() {
        generation++;
    }

    /**
     * {@code ran} is forwarded: if it may change the search_path, judgements made with a path may be stale.
     * Returns whether its own judgement was current as it ran (see {@link #redefined}).
     */
    boolean ran(Analysis ran) {
        Judged own = byAnalysis.get(ran); // once: every statement passes here
        boolean wasCurrent = own != null && !stale(own);
        if (changesPath(ran)) {
            pathEpoch++;
            if (wasCurrent) {
                restamp(ran, own);
            }
        }
        return wasCurrent;
    }

    /**
     * {@link #mayChangeSearchPath}, a function of the analysis alone, remembered for the last analysis of each answer
     * (a prepared statement's every Execute sends the same instance).
     */
    private boolean changesPath(Analysis ran) {
        if (ran == leavesPath) {
            return false;
        }
        if (ran == mayChangePath) {
            return true;
        }
        boolean changes = mayChangeSearchPath(ran);
        if (changes) {
            mayChangePath = ran;
        } else {
            leavesPath = ran;
        }
        return changes;
    }

    /** The last analyses {@link #changesPath} found leaving the search_path alone, and maybe changing it. */
    private Analysis leavesPath;
    private Analysis mayChangePath;

    /**
     * Whether running {@code analysis} may change the session's search_path: what the catalog reads with the
     * session's path leaves out (SET, RESET, DISCARD, set_config, function bodies, DO, CALL, several statements),
     * ROLLBACK (undoing a SET) and role changes ({@code $user}), and whatever may run a function without naming
     * it: a statement over a relation (a trigger, a column default, a row security policy, a function a view
     * calls), a user-defined operator or cast, COMMIT (deferred triggers), one Warden could not parse. Only a
     * statement that touches no relation and calls no user function ({@code SELECT 42}) leaves the path alone.
     */
    static boolean mayChangeSearchPath(Analysis analysis) {
        if (!CatalogCache.resolvesWithSessionPath(analysis)) {
            return true;
        }
        return StatementWalk.any(analysis.statements().get(0), f -> switch (f.kind()) {
            case ROLLBACK, COMMIT, SET_ROLE, RESET_ROLE, SET_SESSION_AUTHORIZATION, OTHER -> true;
            default -> f.unparsed() || !f.tablesRead().isEmpty() || !f.tablesWritten().isEmpty()
                    || !f.implicitCalls().isEmpty();
        });
    }

    /**
     * Records which names the DDL of {@code ran} may have redefined ({@code names}: every name it uses), at the
     * current generation. ANALYZE and VACUUM redefine nothing; DDL Warden cannot name (dynamic SQL) touches every
     * name. Its own judgement, if {@code wasCurrent} as it ran ({@link #ran}), stands.
     */
    void redefined(Analysis ran, Set<String> names, boolean wasCurrent) {
        Set<String> redefines = redefinedNames(ran, names);
        if (redefines == null || redefined.size() > 4096) {
            redefined.clear();
            anyRedefined = generation;
        } else {
            for (String name : redefines) {
                redefined.put(name, generation);
            }
        }
        if (wasCurrent) {
            restamp(ran);
        }
    }

    /**
     * Whether {@code f} is a COMMIT PREPARED: it commits DDL that a PREPARE TRANSACTION (of any session) left in no
     * catalog, and Warden did not keep, since the session that prepared it was idle again. What DDL it commits is
     * not known. (A COMMIT whose comment says "prepared" only costs a reading of the catalog.)
     */
    static boolean commitsPrepared(StatementFacts f) {
        if (f.kind() != StatementKind.COMMIT) {
            return false;
        }
        String text = f.text(); // every COMMIT (END) passes here: no lower-cased copy
        for (int i = text.length() - 8; i >= 0; i--) {
            if (text.regionMatches(true, i, "prepared", 0, 8)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The names the DDL of {@code ran} may have redefined ({@code names}: every name it uses): none for ANALYZE and
     * VACUUM alone, null (any name) for DDL Warden cannot name (dynamic SQL, a COMMIT PREPARED).
     */
    static Set<String> redefinedNames(Analysis ran, Set<String> names) {
        boolean redefines = false;
        for (StatementFacts top : ran.statements()) {
            for (StatementFacts f : top.allStatements()) {
                if (f.dynamicSql() || commitsPrepared(f)) {
                    return null;
                }
                // A REFRESH can only make a materialized view's rows match its definition: what was judged of it
                // before stays safe.
                redefines |= f.kind() != StatementKind.ANALYZE && f.kind() != StatementKind.VACUUM
                        && f.kind() != StatementKind.REFRESH;
            }
        }
        return redefines ? names : Set.of();
    }

    /**
     * The statement's own judgement stands: it was made before the statement ran (and changed anything). Only a
     * judgement still current when the statement ran is restamped: a stale one is judged again for its results.
     */
    private void restamp(Analysis analysis) {
        restamp(analysis, byAnalysis.get(analysis));
    }

    private void restamp(Analysis analysis, Judged own) {
        if (own != null && own.generation() >= 0) {
            byAnalysis.put(analysis, new Judged(own.exposure(), own.path(), generation, pathEpoch, own.reached(),
                    catalog == null ? 0 : catalog.stamp()));
        }
    }
}
