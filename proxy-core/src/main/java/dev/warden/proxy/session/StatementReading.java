package dev.warden.proxy.session;

import dev.warden.config.Environment;
import dev.warden.identity.Identity;
import dev.warden.proxy.catalog.CatalogCache;
import dev.warden.proxy.guardrails.Decision;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;

/**
 * How a READY session reads a statement text before its gate: the analysis (inline when known, on the analysis
 * pool when cold), the effects of the functions it calls and the relations it names (read from the catalog when
 * not cached), the session's search_path when a name depends on it, and masking's screening. While any of it
 * waits, the client's stream waits too, in order ({@link RelayHandler#holdUntil}).
 */
final class StatementReading {

    private static final Logger log = LoggerFactory.getLogger(FrontendSession.class);

    private final RelaySession session;
    private final RelayHandler relay;
    private final UpstreamRequests writer;
    private final SessionServices services;
    private final Identity identity;
    private final Environment environment;
    private final Channel client;
    private final Channel upstream;
    private final SessionLexing lexing;
    private final CatalogCache catalog;
    private final ResultMasking masking;

    StatementReading(RelaySession session, RelayHandler relay, UpstreamRequests writer) {
        this.session = session;
        this.relay = relay;
        this.writer = writer;
        this.services = session.services;
        this.identity = session.identity;
        this.environment = session.environment;
        this.client = session.client;
        this.upstream = session.upstream;
        this.lexing = session.lexing;
        this.catalog = session.catalog;
        this.masking = session.masking;
    }

    /**
     * Reads a statement text, then runs {@code then} with the reading. Texts whose statements are all known
     * (the cache, the lexer) are read here; a text that needs JSqlParser is read on the analysis pool while
     * the client's stream waits, so one session's new or pathological statements never stall the event loop
     * other sessions share. A full pool refuses the statement.
     */
    void readThen(ByteBuf frame, int textOffset, Consumer<SessionLexing.Reading> then) {
        Consumer<SessionLexing.Reading> next = overridden(then);
        boolean inFlight = relay.requestsInFlight();
        SessionLexing.Settings settings = lexing.settings();
        SessionLexing.Reading known = SessionLexing.read(settings, services.analyzer(), frame, textOffset, inFlight,
                false);
        if (known != null) {
            withFunctionEffects(shallowEnough(narrowEnough(known, frame, textOffset), frame, textOffset), frame, false,
                    next);
            return;
        }
        CompletableFuture<SessionLexing.Reading> cold;
        try {
            cold = AnalysisBudget.submit(client, session.id, identity.username(), frame.readableBytes(),
                    () -> warmed(SessionLexing.read(settings, services.analyzer(), frame, textOffset, inFlight,
                            true)),
                    services.analysisLanes());
        } catch (RejectedExecutionException e) {
            cold = CompletableFuture.failedFuture(e);
        }
        relay.holdUntil(cold, frame, (reading, failure) -> {
            SessionLexing.Reading r = reading;
            if (failure != null) {
                log.warn("analysis.refused session={} user={} reason=\"{}\"", session.id, identity.username(),
                        ClientErrors.unwrap(failure).toString());
                r = new SessionLexing.Reading(notAnalysed(frame, textOffset, "Warden's analysis capacity was "
                        + "exhausted"), null, Decision.block("analysis-capacity", "Warden is analysing too many new "
                        + "statements right now", "try again in a moment"));
            }
            withFunctionEffects(shallowEnough(narrowEnough(r, frame, textOffset), frame, textOffset), frame, true,
                    next);
        });
    }

    /**
     * The most distinct names one text may hold. Every catalog question asked of a statement (what to look up, what
     * is loaded, what it reaches, its exposure, whether the search_path matters) walks its names on the event loop
     * its session shares with others: a helper's pass sent texts of 4.5 MB naming 150,000 distinct columns
     * ({@code (c123::int*0)+(c456::int*1)+...}) from six sessions, and another user's statements waited up to 10 s.
     * No statement a person or a program writes comes near it (a table has at most 1,600 columns); such a text is
     * refused (42501, rule {@code analysis-capacity}) before any of those questions, and its record names it by its
     * length and digest, as a text refused unread.
     */
    static final int MAX_NAMES = 10_000;

    /** {@code reading}, or its refusal when its texts hold more than {@link #MAX_NAMES} distinct names. */
    private SessionLexing.Reading narrowEnough(SessionLexing.Reading reading, ByteBuf frame, int textOffset) {
        if (reading.analysis() == null || catalog == null || reading.sql().length() < 2 * MAX_NAMES) {
            // Names are a character at least, one apart: a shorter text holds fewer (and is not walked here:
            // every new text of a steady load, pgbench's among them, comes this way).
            return reading;
        }
        int names = catalog.distinctNames(reading.analysis());
        if (names <= MAX_NAMES) {
            return reading;
        }
        String why = "the text holds " + names + " distinct names, more than Warden looks up for one statement ("
                + MAX_NAMES + ")";
        return new SessionLexing.Reading(notAnalysed(frame, textOffset, why), null, Decision.block(
                "analysis-capacity", why, "split the statement, or name fewer relations, columns and functions in it"));
    }

    /**
     * The deepest nesting of block comments, and the longest run of operator characters, a text may hold.
     * PostgreSQL's scanner takes time growing with the square of either ({@code /}{@code * /}{@code * ... *}{@code /
     * *}{@code /}: 2.9 s at 10,000 levels, 7.1 s at 20,000; 100 KB of {@code +}: 32 s) and checks for no cancel or
     * statement timeout while it scans: an attacker's pass pinned a backend at full CPU for 20 minutes with 800 KB of
     * comments, long after its client and Warden's cancel were gone, and an identity may hold many sessions. No
     * statement a person or a program writes comes near either; such a text is refused (42501, rule
     * {@code analysis-capacity}) and never reaches the server.
     */
    static final int MAX_COMMENT_DEPTH = 1_000;
    static final int MAX_OPERATOR_RUN = 1_000;

    /** The characters an operator is made of (scan.l's {@code op_chars}), by code: this runs on the event loop. */
    private static final boolean[] OPERATOR_CHARS = new boolean[128];

    static {
        for (char c : "+-*/<>=~!@#%^&|`?".toCharArray()) {
            OPERATOR_CHARS[c] = true;
        }
    }

    /** {@code reading}, or its refusal when its comments nest, or an operator run goes, beyond the limits above. */
    private SessionLexing.Reading shallowEnough(SessionLexing.Reading reading, ByteBuf frame, int textOffset) {
        String sql = reading.sql();
        if (reading.refusal() != null || sql == null || sql.length() <= MAX_OPERATOR_RUN) {
            return reading; // each level of comment takes four characters, a run one each: a shorter text is fine
        }
        int opened = 0;
        for (int i = sql.indexOf("/*"); i >= 0 && opened <= MAX_COMMENT_DEPTH; i = sql.indexOf("/*", i + 2)) {
            opened++;
        }
        int run = 0;
        int longest = 0;
        for (int i = 0; i < sql.length() && longest <= MAX_OPERATOR_RUN; i++) {
            char c = sql.charAt(i);
            run = c < 128 && OPERATOR_CHARS[c] ? run + 1 : 0;
            longest = Math.max(longest, run);
        }
        if (opened <= MAX_COMMENT_DEPTH && longest <= MAX_OPERATOR_RUN) {
            return reading; // the text holds neither, even counting what strings hold
        }
        dev.warden.sql.Analyzer.ScannerLoad load = dev.warden.sql.Analyzer.scannerLoad(sql,
                lexing.standardConformingStrings());
        String why;
        if (load.commentDepth() > MAX_COMMENT_DEPTH) {
            why = "the text nests block comments " + load.commentDepth() + " deep, more than Warden relays ("
                    + MAX_COMMENT_DEPTH + ")";
        } else if (load.operatorRun() > MAX_OPERATOR_RUN) {
            why = "the text holds a run of " + load.operatorRun() + " operator characters, more than Warden relays ("
                    + MAX_OPERATOR_RUN + ")";
        } else {
            return reading;
        }
        why += ": PostgreSQL's scanner would take time growing with the square of that, beyond a cancel's reach";
        return new SessionLexing.Reading(notAnalysed(frame, textOffset, why), null, Decision.block(
                "analysis-capacity", why, "nest comments less deeply, or space the operators apart"));
    }

    /** Of a text's bytes, how many a refused text's record names by their SHA-256 (hashed on the event loop). */
    private static final int NAMED_BYTES = 65_536;

    /**
     * What the record of a text refused unread says: nothing of it ran, but the record is the evidence of what was
     * attempted. With {@code statement_literals: keep}, its length and the SHA-256 of its bytes (of its first 64 KiB
     * when longer: the budget is empty, and the event loop is not to spend on it what the analysis would have);
     * without, its length only, as a digest would let a reader confirm a guess of its literals.
     */
    private String notAnalysed(ByteBuf frame, int textOffset, String why) {
        String said = "-- not analysed: " + why;
        int end = frame.indexOf(textOffset, frame.writerIndex(), (byte) 0);
        if (end < 0) {
            return said;
        }
        int length = end - textOffset;
        said += "; the text: " + length + " bytes";
        if (!services.snapshot().get().policy().audit().keepLiterals()) {
            return said;
        }
        int named = Math.min(length, NAMED_BYTES);
        byte[] bytes = new byte[named];
        frame.getBytes(textOffset, bytes);
        return said + ", sha256 " + (named < length ? "of its first " + named + " bytes " : "")
                + dev.warden.audit.event.CanonicalJson.sha256(bytes);
    }

    /** The identity in production; tests of the tripwire make Warden misread on purpose here. */
    private Consumer<SessionLexing.Reading> overridden(Consumer<SessionLexing.Reading> then) {
        return r -> then.accept(r.analysis() == null ? r : r.with(services.readingOverride().apply(r.analysis())));
    }

    /**
     * Until when ({@link System#nanoTime}) the catalog's entries for {@code read} count as current (see
     * CatalogCache#currentUntil); with no catalog, from now on forever.
     */
    long currentUntil(dev.warden.sql.Analysis read) {
        if (catalog == null) {
            return System.nanoTime() + Long.MAX_VALUE / 2;
        }
        boolean forMasking = masking != null && masking.masksAnything()
                || services.snapshot().get().guardrails().namesTables(environment);
        return catalog.currentUntil(read, forMasking);
    }

    /**
     * A prepared statement's reading ({@code read}: its analysis before function effects) with the effects as the
     * catalog has them now, then {@code then}: see RelayHandler#withEffectsNowThen, which has masking screen it when
     * the bodies it runs changed (not here: inside the client's batch the session's search_path cannot be read).
     */
    void appliedAgainThen(SessionLexing.Reading read, ByteBuf frame, Consumer<SessionLexing.Reading> then) {
        withFunctionEffects(read, frame, false, overridden(then), 1, false);
    }

    /**
     * Lexes the reading's statements for the catalog's names here, on the analysis lane, so that looking them
     * up on the event loop next finds them cached (a flood's 40 statements are 250 KB to lex).
     */
    private SessionLexing.Reading warmed(SessionLexing.Reading reading) {
        if (reading != null && reading.analysis() != null && catalog != null) {
            catalog.functionsToResolve(reading.analysis(), true);
        }
        return reading;
    }

    /**
     * Runs {@code next} with the reading once the effects of the functions it calls are known: read from the
     * catalog first when not cached (the client's stream waits meanwhile, in order). If the catalog cannot
     * be read, those functions stay unknown and count as dynamic SQL: Warden fails closed. For a {@code cold}
     * reading (one the analysis lanes made) the effects are applied on the lane too: proving an unparsed query
     * a read lexes each of its statements again, 250 KB for a parse flood's text, and the event loop it
     * shares with other sessions was measured spending 0.5 s on that.
     */
    private void withFunctionEffects(SessionLexing.Reading reading, ByteBuf frame, boolean cold,
                                     Consumer<SessionLexing.Reading> next) {
        withFunctionEffects(reading, frame, cold, next, 1, true);
    }

    /**
     * How many times a statement's functions are read again when DDL ended (in this session or another) between
     * their read and their use: the DDL's end drops what the catalog read, and a function with no entry counts as
     * dynamic SQL. A pipeline's write read while the DDL before it ran was refused that way. Past this many, the
     * functions stay unknown (fail closed), so a flood of DDL cannot hold a statement without end.
     */
    static final int MAX_READS = 4;

    /** {@code screen}: whether masking screens the reading too (not when a prepared statement's are applied again). */
    private void withFunctionEffects(SessionLexing.Reading reading, ByteBuf frame, boolean cold,
                                     Consumer<SessionLexing.Reading> next, int read, boolean screen) {
        if (reading.analysis() == null || catalog == null) {
            next.accept(reading);
            return;
        }
        long invalidations = catalog.invalidations();
        // The effects are applied anew from here: the judgement's stamp. Lower than the count while a catalog read
        // that DDL's end overlapped is in progress (CatalogCache#stamp): when it has ended meanwhile (this read
        // waited behind it), the effects are read again, so that the stamp is the count and DDL the judgement did
        // see is not counted as unseen (a function's replacement refused every statement read meanwhile).
        long stamped = catalog.stamp();
        relay.readingFrom(stamped);
        // Relations are looked up for masking, and for guardrails on tables (the schemas an unqualified name
        // could mean, the tables a view reads).
        boolean forMasking = masking != null && masking.masksAnything()
                || services.snapshot().get().guardrails().namesTables(environment);
        // A repeated shape asks the catalog once (see ScreenedShapes); the analysis lanes above do not share it.
        java.util.Set<String> named = masking != null && masking.shapes() != null
                ? masking.shapes().functionsToResolve(reading.analysis(), forMasking)
                : catalog.functionsToResolve(reading.analysis(), forMasking);
        java.util.Set<String> missing = withBodies(withPrepared(named, reading, forMasking), reading.analysis(),
                forMasking);
        if (missing.isEmpty() && !cold) {
            SessionLexing.Reading applied = withEffects(reading);
            if ((catalog.invalidations() != invalidations || catalog.stamp() != stamped) && read < MAX_READS) {
                withFunctionEffects(reading, frame, false, next, read + 1, screen);
                return;
            }
            screenThen(applied, frame, next, screen, reading, false, invalidations, read);
            return;
        }
        CompletableFuture<Void> resolved = missing.isEmpty() ? CompletableFuture.completedFuture(null)
                : catalog.resolveFunctions(missing, services.analyzer()).exceptionally(failure -> {
                    log.warn("catalog.functions_unavailable session={} env={} functions={} reason=\"{}\"",
                            session.id, environment.name(), missing, ClientErrors.unwrap(failure).getMessage());
                    return null;
                });
        CompletableFuture<SessionLexing.Reading> applied;
        if (cold) {
            boolean scs = lexing.standardConformingStrings();
            java.util.concurrent.Executor lane = services.analysisLanes().forText(frame.readableBytes());
            applied = resolved.thenApplyAsync(done -> reading.with(catalog.withFunctionEffects(reading.analysis(),
                    scs)), lane);
        } else {
            applied = resolved.thenApply(done -> null);
        }
        relay.holdUntil(applied, frame, (withEffects, failure) -> {
            if ((catalog.invalidations() != invalidations || catalog.stamp() != stamped) && read < MAX_READS) {
                withFunctionEffects(reading, frame, cold, next, read + 1, screen);
                return;
            }
            // Not applied on the lane (a full queue): here then, slower but the same result.
            screenThen(withEffects != null ? withEffects : withEffects(reading), frame, next, screen, reading, cold,
                    invalidations, read);
        });
    }

    /**
     * {@code named} and, for an EXECUTE, what the statement SQL PREPARE made names: it is screened with that
     * statement, and DDL since may have dropped those names from the catalog (a name not looked up is refused by
     * masking); for a FETCH or MOVE, what its cursor's query names (masking judges it with the bodies it runs now).
     */
    private java.util.Set<String> withPrepared(java.util.Set<String> named, SessionLexing.Reading reading,
                                               boolean forMasking) {
        dev.warden.sql.Analysis executed = relay.preparedExecuted(reading.analysis());
        dev.warden.sql.Analysis fetched = relay.cursorsFetched(reading.analysis());
        if (fetched != null) {
            executed = executed == null ? fetched : new dev.warden.sql.Analysis(java.util.stream.Stream.concat(
                    executed.statements().stream(), fetched.statements().stream()).toList());
        }
        if (executed == null) {
            return named;
        }
        // Through the memo too: a session that repeats its EXECUTEs asks the catalog once per shape.
        java.util.Set<String> more = masking != null && masking.shapes() != null
                ? masking.shapes().functionsToResolve(executed, forMasking)
                : catalog.functionsToResolve(executed, forMasking);
        if (more.isEmpty()) {
            return named;
        }
        java.util.Set<String> all = new java.util.LinkedHashSet<>(named);
        all.addAll(more);
        return all;
    }

    /**
     * {@code named} and what the definitions of the views and functions this transaction made name, when the
     * statement names one (see {@link dev.warden.proxy.guardrails.Unreadable#definitionsNamedBy}).
     */
    private java.util.Set<String> withBodies(java.util.Set<String> named, dev.warden.sql.Analysis analysis,
                                             boolean forMasking) {
        dev.warden.sql.Analysis bodies = session.openDdl().definitionsNamedBy(analysis);
        if (bodies == null) {
            return named;
        }
        java.util.Set<String> more = catalog.functionsToResolve(bodies, forMasking);
        if (more.isEmpty()) {
            return named;
        }
        java.util.Set<String> all = new java.util.LinkedHashSet<>(named);
        all.addAll(more);
        return all;
    }

    /**
     * Screens the reading (its function effects applied) for masking, then runs {@code next}. When a name in it
     * could mean relations of several schemas (or a temporary table), the session's search_path is read first on
     * its own connection, between the client's batches, so each name means what the server will read; inside a
     * batch every candidate counts.
     *
     * @param read0 the reading as it came (before its effects), {@code cold} as it was: read again (at most
     *     {@link #MAX_READS} times) when DDL ended (and dropped what was read) between their
     *     read ({@code invalidations} the count before it) and the screening, which may wait on the server for
     *     the session's temporary schema and search_path. Masking judges a name not looked up as sensitive: a
     *     plain read then came back masked, and a flood of notifications on the catalog channel had its
     *     {@code pg_notify} refused (at most {@link #MAX_READS} reads; the last judgement stands).
     */
    private void screenThen(SessionLexing.Reading reading, ByteBuf frame, Consumer<SessionLexing.Reading> next,
                            boolean screen, SessionLexing.Reading read0, boolean cold, long invalidations,
                            int read) {
        // Before masking follows its EXECUTEs into what they run (withPrepared looked up their names).
        relay.executedWithEffectsNow(reading.analysis());
        if (!screen) {
            next.accept(reading);
            return;
        }
        if (masking == null || !masking.masksAnything()) {
            // Nothing masked: no judgement for a dropped name to spoil, and nothing allocated to read it again.
            relay.temporarySchemaThen(reading.analysis(), frame, () -> screenPathThen(reading, frame, next));
            return;
        }
        Runnable again = () -> withFunctionEffects(read0, frame, cold, next, read + 1, true);
        // Judged again, not only refused again: a name dropped before the judgement masks every column it reads.
        Consumer<SessionLexing.Reading> afterScreen = screened -> {
            if (read < MAX_READS && catalog.invalidations() != invalidations) {
                again.run();
                return;
            }
            next.accept(screened);
        };
        relay.temporarySchemaThen(reading.analysis(), frame, () -> {
            if (read < MAX_READS && catalog.invalidations() != invalidations) {
                again.run();
                return;
            }
            screenPathThen(reading, frame, afterScreen);
        });
    }

    private void screenPathThen(SessionLexing.Reading reading, ByteBuf frame, Consumer<SessionLexing.Reading> next) {
        if (masking != null && reading.analysis() != null && writer.betweenBatches()
                && masking.masksAnything() && worthReadingPath(reading.analysis())) {
            OwnRequests.OwnQuery read = OwnRequests.readSearchPath(relay.ownNames + "_path", writer::send,
                    upstream.alloc());
            upstream.flush();
            relay.holdUntil(read.answered, frame, (schemas, failure) -> {
                session.searchPath.read(schemas);
                next.accept(screened(reading));
            });
            return;
        }
        next.accept(screened(reading));
    }

    /** {@link SessionSearchPath#worthReading}, with the catalog's answer once per statement shape. */
    private boolean worthReadingPath(dev.warden.sql.Analysis analysis) {
        if (masking.shapes() == null) {
            return session.searchPath.worthReading(catalog, analysis);
        }
        // schemas() is null exactly when the path is not current (see SessionSearchPath#read).
        return session.searchPath.schemas() == null && masking.shapes().dependsOnSearchPath(analysis);
    }

    private SessionLexing.Reading withEffects(SessionLexing.Reading reading) {
        return reading.with(catalog.withFunctionEffects(reading.analysis(), lexing.standardConformingStrings()));
    }

    /** Masking refuses, for a masked identity, what hands sensitive values to something it cannot follow. */
    private SessionLexing.Reading screened(SessionLexing.Reading r) {
        return masking == null ? r : masking.screen(r);
    }
}
