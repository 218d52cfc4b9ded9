package dev.warden.proxy.catalog;

import dev.warden.masking.Masker;
import dev.warden.sql.Analysis;

import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * One session's recent catalog judgements by statement shape: what {@link CatalogCache#functionsToResolve},
 * {@link CatalogCache#exposure} and {@link CatalogCache#dependsOnSearchPath} said about an analysis that reads the
 * same (see {@link SameReading}), so a session that repeats its statements pays for each judgement once per shape,
 * not once per statement. Each answer is a function of the analysis, the catalog's entries (their
 * {@link CatalogCache#generation}: loads and DDL invalidation bump it), the masker (one per policy) and the
 * search_path it was judged with, and is served only while all of these are the same; "nothing to look up" also
 * only until the oldest entry it consulted is due to be read again ({@link CatalogCache#REFRESH_AT_NANOS}). A miss
 * computes the answer as before. Event loop only.
 */
public final class ScreenedShapes {

    /** Shapes remembered per judgement, replaced round robin (a session repeats a handful of statements). */
    private static final int SLOTS = 16;

    /**
     * An exposure and, for a clear one, the names DDL would have to touch to change it
     * ({@link CatalogCache#reachedNames}); empty for a sensitive one (never relaxed). {@code invalidations}: the
     * catalog's {@link CatalogCache#invalidations} before it was computed, for {@link CatalogCache#redefinedSince}.
     */
    public record Judgement(Exposure exposure, Set<String> reached, long invalidations) {
    }

    private record Resolved(Analysis shape, boolean forMasking, long generation, long oldestLoaded) {
    }

    private record Judged(Analysis shape, Masker masker, List<String> schemas, long generation,
                          Judgement judgement) {
    }

    private record PathDependence(Analysis shape, long generation, boolean depends) {
    }

    private final CatalogCache catalog;
    private final Resolved[] resolved = new Resolved[SLOTS];
    private final Judged[] judged = new Judged[SLOTS];
    private final PathDependence[] paths = new PathDependence[SLOTS];
    private int nextResolved;
    private int nextJudged;
    private int nextPath;

    public ScreenedShapes(CatalogCache catalog) {
        this.catalog = catalog;
    }

    /**
     * {@link CatalogCache#functionsToResolve}: empty without asking when the same shape found nothing to look up
     * in this generation, and none of the entries it consulted is due to be read again since.
     */
    public Set<String> functionsToResolve(Analysis analysis, boolean forMasking) {
        // Read before computing: a change completing meanwhile bumps it, and the answer is not served again.
        long generation = catalog.generation();
        long now = System.nanoTime();
        for (Resolved r : resolved) {
            if (r != null && r.generation() == generation && r.forMasking() == forMasking
                    && now - r.oldestLoaded() < CatalogCache.REFRESH_AT_NANOS && reads(r.shape(), analysis)) {
                return Set.of();
            }
        }
        // Past REFRESH_AT the catalog is asked again (it then reads the entries due, off this thread), until the
        // read bumps the generation.
        Set<String> missing = catalog.functionsToResolve(analysis, forMasking);
        long oldest;
        if (missing.isEmpty() && now - (oldest = catalog.oldestLoaded(analysis, forMasking, now))
                < CatalogCache.REFRESH_AT_NANOS) {
            // Only "nothing to look up" is kept: names to look up are looked up, which bumps the generation.
            resolved[nextResolved] = new Resolved(representative(analysis), forMasking, generation, oldest);
            nextResolved = (nextResolved + 1) % SLOTS;
        }
        return missing;
    }

    /**
     * {@link CatalogCache#exposure(Analysis, Masker, List)} with {@code schemas}, and the names a clear one
     * reaches: the same instance for a shape judged with the same masker and search_path in this generation.
     */
    public Judgement judge(Analysis analysis, Masker masker, List<String> schemas) {
        long generation = catalog.generation();
        long invalidations = catalog.stamp(); // lower while a read overlapped by DDL may leave what it read
        for (Judged j : judged) {
            if (j != null && j.generation() == generation && j.masker() == masker
                    && Objects.equals(j.schemas(), schemas) && reads(j.shape(), analysis)) {
                return j.judgement();
            }
        }
        Exposure exposure = catalog.exposure(analysis, masker, schemas);
        Judgement judgement = new Judgement(exposure,
                exposure.sensitive() ? Set.of() : Set.copyOf(catalog.reachedNames(analysis)), invalidations);
        judged[nextJudged] = new Judged(representative(analysis), masker, schemas == null ? null : List.copyOf(schemas), generation,
                judgement);
        nextJudged = (nextJudged + 1) % SLOTS;
        return judgement;
    }

    /**
     * {@link SameReading#of}, remembering the last match: a statement asks up to three of these questions with the
     * same analysis, and the memos usually hold the same representative, so the texts are walked once.
     */
    private boolean reads(Analysis shape, Analysis analysis) {
        if (analysis == lastAsked && shape == lastMatched) {
            return true;
        }
        if (!SameReading.of(shape, analysis)) {
            return false;
        }
        lastAsked = analysis;
        lastMatched = shape;
        return true;
    }

    private Analysis lastAsked;
    private Analysis lastMatched;

    /**
     * What to remember {@code analysis} by: the shape another memo matched it to, when one did. The memos then hold
     * one representative of a shape, and the next statement of that shape is compared with it once, not once per
     * memo (each comparison walks the texts: about 4 % of the event loops' samples under {@code pgbench -S}).
     */
    private Analysis representative(Analysis analysis) {
        return analysis == lastAsked ? lastMatched : analysis;
    }

    /** {@link CatalogCache#dependsOnSearchPath}, once per shape and generation. */
    public boolean dependsOnSearchPath(Analysis analysis) {
        long generation = catalog.generation();
        for (PathDependence p : paths) {
            if (p != null && p.generation() == generation && reads(p.shape(), analysis)) {
                return p.depends();
            }
        }
        boolean depends = catalog.dependsOnSearchPath(analysis);
        paths[nextPath] = new PathDependence(representative(analysis), generation, depends);
        nextPath = (nextPath + 1) % SLOTS;
        return depends;
    }
}
