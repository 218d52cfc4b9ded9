package dev.warden.proxy.session;

import dev.warden.pg.message.BackendMessage;
import dev.warden.pg.message.FrontendMessage;
import dev.warden.proxy.session.OutstandingQueue.Entry;
import dev.warden.proxy.session.OutstandingQueue.Kind;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;

/**
 * The requests Warden itself puts on a session's connection to learn a result's columns, whose answers the
 * client never sees (SKIP entries): what the session sees is what the statement will see, temporary tables and
 * {@code search_path} included.
 */
final class OwnRequests {

    private OwnRequests() {
    }

    /** What is sent instead of a refused statement; {@code marker} makes the server's error for it recognisable. */
    static FrontendMessage standIn(Kind kind, String marker) {
        return switch (kind) {
            // A Parse of text that cannot parse: the server fails it and skips to Sync, as for the client's.
            case PARSE -> new FrontendMessage.Parse(marker, marker, List.of());
            // An Execute of a portal that does not exist: fails without touching the client's statements.
            case EXECUTE -> new FrontendMessage.Execute(marker, 0);
            default -> new FrontendMessage.Query(marker);
        };
    }

    /**
     * A query of Warden's own on the session's connection whose first value (null after an error, such as in a
     * failed transaction) completes {@link #answered} at its ReadyForQuery.
     */
    static final class OwnQuery {
        final CompletableFuture<String> answered = new CompletableFuture<>();
        /** Sent inside the client's unsynced batch (no Sync of its own): answered at its CommandComplete or error. */
        private final boolean inBatch;
        private String value;
        /** The first row's second value, when the query has one (see {@link #second}). */
        private String second;
        private boolean failed;

        OwnQuery() {
            this(false);
        }

        OwnQuery(boolean inBatch) {
            this.inBatch = inBatch;
        }

        void answer(byte type, ByteBuf frame) {
            if (type == 'D' && value == null) {
                List<byte[]> row = ((BackendMessage.DataRow) BackendMessage.decode(frame)).values();
                value = row.get(0) == null ? null : new String(row.get(0), StandardCharsets.UTF_8);
                second = row.size() < 2 || row.get(1) == null ? null : new String(row.get(1), StandardCharsets.UTF_8);
            } else if (type == 'E') {
                failed = true;
                if (inBatch) {
                    answered.complete(null);
                }
            } else if (type == 'Z' || inBatch && type == 'C') {
                answered.complete(failed ? null : value);
            }
        }

        /** The first row's second value once answered (null: none, or the query failed). */
        String second() {
            return failed ? null : second;
        }
    }

    /**
     * Reads the session's search_path as the server resolves it ({@code current_schemas(true)}: the temporary
     * schema and pg_catalog included, schemas that do not exist left out). Sent only between the client's
     * batches, as a batch of its own: Parse, Bind, Execute and Close of a statement and portal named {@code name},
     * then Sync. Extended protocol with names of its own, because a simple Query would drop the client's unnamed
     * statement and portal, which a client may still use in its next batch. It changes nothing (inside a
     * transaction block it runs in it, read-only).
     */
    static OwnQuery readSearchPath(String name, BiConsumer<ByteBuf, Entry> send, ByteBufAllocator alloc) {
        return read(name, "SELECT pg_catalog.current_schemas(true)", send, alloc);
    }

    /**
     * Reads the name of the session's temporary schema, empty when its backend has none: {@code pg_temp_N}, N the
     * backend's number, the same name for the backend's whole life (namespace.c makes it so, and a rollback of the
     * transaction that made it makes the same name again). Sent as {@link #readSearchPath} is; every name in it
     * is schema-qualified, the operator too, as the session chose the search_path it runs under.
     */
    static OwnQuery readTemporarySchema(String name, BiConsumer<ByteBuf, Entry> send, ByteBufAllocator alloc) {
        return read(name, "SELECT coalesce((SELECT nspname::pg_catalog.text FROM pg_catalog.pg_namespace "
                + "WHERE oid OPERATOR(pg_catalog.=) pg_catalog.pg_my_temp_schema()), '')", send, alloc);
    }

    /**
     * Reads the settings that change what a statement means and that the server does not report: the search_path
     * (as set, and the schemas it resolves to, the temporary one and pg_catalog included) and {@code
     * transform_null_equals}, as one text; then an MD5 of the definitions of what the statement reaches, what an
     * approval of it covers. A second value ({@link OwnQuery#second}) holds, as {@code SessionLexing#meaningSettings}
     * writes them, the settings the server reports only at a batch's end (DateStyle, TimeZone ...) as they are now. Sent as {@link #readSearchPath} is, every name and operator qualified.
     *
     * <p>What it reaches is closed over on the server, as the session sees the catalog: the relations it names
     * ({@code relations}, qualified or not, resolved by the session's search_path: which relation each name is); from
     * a relation, what its view query, rules, column defaults, triggers, policies and constraints depend on
     * ({@code pg_depend}: relations, functions, operators' functions, types), its columns' types, and its partitions
     * and inheritance children; from a type outside pg_catalog, its domain constraints' functions and its casts;
     * from a function, what a {@code BEGIN ATOMIC} body depends on, and, as its text is not parsed here, every
     * function and relation outside pg_catalog whose name occurs in its text (the session's own temporary schema
     * included, other sessions' left out), whatever search_path the function sets; the functions outside pg_catalog
     * and types whose names occur in {@code text} (the statement), and every operator outside pg_catalog with its
     * function.
     * A relation is taken with its owner, kind, columns with their types and collations, view query, triggers (a
     * foreign key's internal ones by its constraint), rules, row security, policies, defaults, constraints and
     * sequence parameters, and the tables whose foreign keys reference it are reached (a DELETE's cascade); a
     * function with its signature, owner, kind, security, volatility, settings, language and body;
     * a type with its kind, base type, constraints, casts and enum labels. Every event trigger is taken too. (After
     * a helper's pass, a124: also a relation's options, privileges and indexes, a function's strictness, return type,
     * argument defaults and privileges, a domain's default, the settings made for the session, role or database and
     * those the reached code reads by name; the temporary schema's name is replaced injectively.)
     * The session's temporary schema is left out of the schemas (it exists once the session makes a temporary object,
     * and which relation a name is, is in the digest) and written {@code pg_temp} in the definitions, so an approval
     * filed by one session covers the same statement over the same definitions in another. Before, the digest was
     * of the named relations alone: a view over a redefined view, a function called by a view, a default or a
     * trigger function, a function setting its own search_path, and a function or operator made within the
     * catalog cache's window ran under an approval of what they replaced (a helper's pass, a123), and an approval
     * filed by a session with temporary objects was usable only in that session.
     */
    static OwnQuery readUnreportedSettings(String name, List<String> relations, String text,
                                           boolean inTransactionBlock, BiConsumer<ByteBuf, Entry> send,
                                           ByteBufAllocator alloc) {
        return readUnreportedSettings(name, relations, text, inTransactionBlock, false, send, alloc);
    }

    /**
     * {@link #readUnreportedSettings(String, List, String, boolean, BiConsumer, ByteBufAllocator)}, sent {@code
     * inBatch}: inside the client's unsynced batch (see {@link #read(String, String, boolean, BiConsumer,
     * ByteBufAllocator)}), where it runs in the batch's transaction, counted as a transaction block (its isolation
     * level is then read: in a repeatable read or serializable one the read is null).
     */
    static OwnQuery readUnreportedSettings(String name, List<String> relations, String text,
                                           boolean inTransactionBlock, boolean inBatch,
                                           BiConsumer<ByteBuf, Entry> send, ByteBufAllocator alloc) {
        StringBuilder array = new StringBuilder("{");
        for (String relation : relations) {
            array.append(array.length() > 1 ? "," : "").append('"')
                    .append(relation.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
        }
        array.append('}');
        String names = utf8Literal(array.toString());
        String statement = utf8Literal(text);
        // One pass over the template: what is put in is not looked at again.
        String sql = PLACEHOLDER.matcher(REACHED).replaceAll(m -> java.util.regex.Matcher.quoteReplacement(
                switch (m.group()) {
                    case "%NAMES%" -> names;
                    case "%TEXT%" -> statement;
                    default -> inTransactionBlock || inBatch ? "true" : "false";
                }));
        return read(name, sql, inBatch, send, alloc);
    }

    /**
     * {@code text} as an SQL expression of ASCII only, read alike whatever the session's client_encoding and
     * standard_conforming_strings are: its UTF-8 bytes in hex, converted to the database's encoding by the server.
     * The read's text is sent as UTF-8: under a LATIN1 client encoding a helper's pass (a124) had the names arrive
     * garbled, resolve to nothing, and a redefined view with a non-ASCII name run under the approval.
     */
    static String utf8Literal(String text) {
        return "pg_catalog.convert_from(pg_catalog.decode('"
                + java.util.HexFormat.of().formatHex(text.getBytes(StandardCharsets.UTF_8)) + "', 'hex'), 'UTF8')";
    }

    private static final java.util.regex.Pattern PLACEHOLDER = java.util.regex.Pattern.compile(
            "%NAMES%|%TEXT%|%IN_BLOCK%");

    /**
     * The query of {@link #readUnreportedSettings}; {@code %NAMES%} and {@code %TEXT%} are literals put in, {@code
     * %IN_BLOCK%} whether the session is in a transaction block. Null (not read) in a repeatable read or serializable
     * transaction block: the catalog rows it reads are those of the transaction's snapshot, while the statement runs
     * on the catalog as it is (a helper's pass, a124, replaced a function a view calls after such a transaction
     * began, and the retry ran the new body under the approval of the old).
     */
    private static final String REACHED = """
            WITH RECURSIVE
             own(nsp) AS (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname OPERATOR(pg_catalog.<>) ALL \
            ('{pg_catalog,information_schema}'::pg_catalog.name[]) AND (nspname OPERATOR(pg_catalog.!~) \
            '^pg_(toast_)?temp_' OR oid OPERATOR(pg_catalog.=) pg_catalog.pg_my_temp_schema())),
             mine(t) AS (SELECT COALESCE((SELECT nspname::pg_catalog.text FROM pg_catalog.pg_namespace \
            WHERE oid OPERATOR(pg_catalog.=) pg_catalog.pg_my_temp_schema()), '')),
             named(n, r) AS (SELECT n, pg_catalog.to_regclass(n) FROM pg_catalog.unnest(%NAMES%::pg_catalog.text[]) n),
             obj(k, o) AS (
              SELECT 'r', r FROM named WHERE r IS NOT NULL
              UNION SELECT 'f', p.oid FROM pg_catalog.pg_proc p WHERE p.pronamespace OPERATOR(pg_catalog.=) ANY \
            (SELECT nsp FROM own) AND pg_catalog.strpos(pg_catalog.lower(%TEXT%), pg_catalog.lower(p.proname)) \
            OPERATOR(pg_catalog.>) 0
              UNION SELECT 'f', op.oprcode::pg_catalog.oid FROM pg_catalog.pg_operator op WHERE op.oprnamespace \
            OPERATOR(pg_catalog.=) ANY (SELECT nsp FROM own)
              UNION SELECT 'f', e.evtfoid FROM pg_catalog.pg_event_trigger e
              UNION SELECT 't', t.oid FROM pg_catalog.pg_type t WHERE t.typnamespace OPERATOR(pg_catalog.=) ANY \
            (SELECT nsp FROM own) AND pg_catalog.strpos(pg_catalog.lower(%TEXT%), pg_catalog.lower(t.typname)) \
            OPERATOR(pg_catalog.>) 0
              UNION SELECT x.k, x.o FROM obj, LATERAL (
               SELECT CASE WHEN d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass \
            THEN 'r' WHEN d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_type'::pg_catalog.regclass THEN 't' \
            ELSE 'f' END, CASE WHEN d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_operator'::pg_catalog.regclass \
            THEN (SELECT \
            op.oprcode::pg_catalog.oid FROM pg_catalog.pg_operator op WHERE op.oid OPERATOR(pg_catalog.=) d.refobjid) \
            ELSE d.refobjid END
               FROM pg_catalog.pg_depend d WHERE d.refclassid OPERATOR(pg_catalog.=) ANY \
            ('{pg_catalog.pg_class,pg_catalog.pg_proc,pg_catalog.pg_operator,pg_catalog.pg_type}'::\
            pg_catalog.regclass[]) AND \
            EXISTS (SELECT FROM (
                SELECT 'pg_catalog.pg_rewrite'::pg_catalog.regclass, oid FROM pg_catalog.pg_rewrite WHERE obj.k \
            OPERATOR(pg_catalog.=) 'r' AND ev_class OPERATOR(pg_catalog.=) obj.o
                UNION ALL SELECT 'pg_catalog.pg_attrdef'::pg_catalog.regclass, oid FROM pg_catalog.pg_attrdef WHERE \
            obj.k OPERATOR(pg_catalog.=) 'r' AND adrelid OPERATOR(pg_catalog.=) obj.o
                UNION ALL SELECT 'pg_catalog.pg_trigger'::pg_catalog.regclass, oid FROM pg_catalog.pg_trigger WHERE \
            obj.k OPERATOR(pg_catalog.=) 'r' AND tgrelid OPERATOR(pg_catalog.=) obj.o
                UNION ALL SELECT 'pg_catalog.pg_policy'::pg_catalog.regclass, oid FROM pg_catalog.pg_policy WHERE \
            obj.k OPERATOR(pg_catalog.=) 'r' AND polrelid OPERATOR(pg_catalog.=) obj.o
                UNION ALL SELECT 'pg_catalog.pg_constraint'::pg_catalog.regclass, oid FROM pg_catalog.pg_constraint \
            WHERE obj.k OPERATOR(pg_catalog.=) 'r' AND conrelid OPERATOR(pg_catalog.=) obj.o
                UNION ALL SELECT 'pg_catalog.pg_constraint'::pg_catalog.regclass, oid FROM pg_catalog.pg_constraint \
            WHERE obj.k OPERATOR(pg_catalog.=) 't' AND contypid OPERATOR(pg_catalog.=) obj.o
                UNION ALL SELECT 'pg_catalog.pg_type'::pg_catalog.regclass, obj.o WHERE obj.k OPERATOR(pg_catalog.=) 't'
                UNION ALL SELECT 'pg_catalog.pg_proc'::pg_catalog.regclass, obj.o WHERE obj.k \
            OPERATOR(pg_catalog.=) 'f') \
            m(c, o) WHERE m.c OPERATOR(pg_catalog.=) d.classid AND m.o OPERATOR(pg_catalog.=) d.objid)
               UNION ALL SELECT 't', a.atttypid FROM pg_catalog.pg_attribute a WHERE obj.k OPERATOR(pg_catalog.=) \
            'r' AND a.attrelid OPERATOR(pg_catalog.=) obj.o AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
               UNION ALL SELECT 'f', c.castfunc FROM pg_catalog.pg_cast c WHERE obj.k OPERATOR(pg_catalog.=) 't' AND \
            (c.castsource OPERATOR(pg_catalog.=) obj.o OR c.casttarget OPERATOR(pg_catalog.=) obj.o)
               UNION ALL SELECT 'r', i.inhrelid FROM pg_catalog.pg_inherits i WHERE obj.k OPERATOR(pg_catalog.=) 'r' \
            AND i.inhparent OPERATOR(pg_catalog.=) obj.o
               UNION ALL SELECT 'r', k.conrelid FROM pg_catalog.pg_constraint k WHERE obj.k OPERATOR(pg_catalog.=) 'r' \
            AND k.confrelid OPERATOR(pg_catalog.=) obj.o AND k.contype OPERATOR(pg_catalog.=) 'f'
               UNION ALL SELECT 'f', q.oid FROM pg_catalog.pg_proc p, pg_catalog.pg_proc q WHERE obj.k \
            OPERATOR(pg_catalog.=) 'f' AND p.oid OPERATOR(pg_catalog.=) obj.o AND p.pronamespace \
            OPERATOR(pg_catalog.=) ANY (SELECT nsp FROM own) AND q.pronamespace OPERATOR(pg_catalog.=) ANY (SELECT nsp \
            FROM own) AND (pg_catalog.strpos(pg_catalog.lower(p.prosrc), pg_catalog.lower(q.proname)) \
            OPERATOR(pg_catalog.>) 0 OR pg_catalog.strpos(pg_catalog.lower(p.prosrc), 'u&') OPERATOR(pg_catalog.>) 0)
               UNION ALL SELECT 'r', c.oid FROM pg_catalog.pg_proc p, pg_catalog.pg_class c WHERE obj.k \
            OPERATOR(pg_catalog.=) 'f' AND p.oid OPERATOR(pg_catalog.=) obj.o AND p.pronamespace \
            OPERATOR(pg_catalog.=) ANY (SELECT nsp FROM own) AND c.relnamespace OPERATOR(pg_catalog.=) ANY (SELECT nsp \
            FROM own) AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,v,m,f,p}'::pg_catalog."char"[]) AND \
            (pg_catalog.strpos(pg_catalog.lower(p.prosrc), pg_catalog.lower(c.relname)) OPERATOR(pg_catalog.>) 0 OR \
            pg_catalog.strpos(pg_catalog.lower(p.prosrc), 'u&') OPERATOR(pg_catalog.>) 0)
              ) x(k, o) WHERE x.o IS NOT NULL AND x.o OPERATOR(pg_catalog.<>) 0 AND (x.k OPERATOR(pg_catalog.<>) 't' \
            OR EXISTS (SELECT FROM pg_catalog.pg_type t WHERE t.oid OPERATOR(pg_catalog.=) x.o AND t.typnamespace \
            OPERATOR(pg_catalog.=) ANY (SELECT nsp FROM own)))),
             code(src) AS (SELECT p.prosrc FROM obj JOIN pg_catalog.pg_proc p ON obj.k OPERATOR(pg_catalog.=) 'f' AND \
            p.oid OPERATOR(pg_catalog.=) obj.o UNION ALL SELECT pg_catalog.pg_get_viewdef(obj.o) FROM obj WHERE obj.k \
            OPERATOR(pg_catalog.=) 'r' UNION ALL SELECT pg_catalog.pg_get_expr(a.adbin, a.adrelid) FROM obj JOIN \
            pg_catalog.pg_attrdef a ON obj.k OPERATOR(pg_catalog.=) 'r' AND a.adrelid OPERATOR(pg_catalog.=) obj.o \
            UNION ALL SELECT pg_catalog.concat(pg_catalog.pg_get_expr(o.polqual, o.polrelid), ' ', \
            pg_catalog.pg_get_expr(o.polwithcheck, o.polrelid)) FROM obj JOIN pg_catalog.pg_policy o ON obj.k \
            OPERATOR(pg_catalog.=) 'r' AND o.polrelid OPERATOR(pg_catalog.=) obj.o UNION ALL SELECT %TEXT%)
            SELECT CASE WHEN %IN_BLOCK% AND pg_catalog.current_setting('transaction_isolation') \
            OPERATOR(pg_catalog.<>) 'read committed' THEN NULL WHEN EXISTS (SELECT FROM code c WHERE (SELECT \
            pg_catalog.count(*) FROM pg_catalog.regexp_matches(c.src, 'current_setting', 'gi')) \
            OPERATOR(pg_catalog.<>) (SELECT pg_catalog.count(*) FROM pg_catalog.regexp_matches(c.src, \
            'current_setting[[:space:]]*[(][[:space:]]*''[^'']+''(::[[:alnum:]_ ]+)?[[:space:]]*[,)]', 'gi'))) THEN \
            NULL ELSE pg_catalog.concat('search_path=', \
            pg_catalog.current_setting('search_path'), ' (schemas: ', \
            pg_catalog.array_to_string(ARRAY(SELECT s FROM pg_catalog.unnest(pg_catalog.current_schemas(true)) s WHERE \
            s OPERATOR(pg_catalog.<>) (SELECT t FROM mine)), ', '), '); transform_null_equals=', \
            pg_catalog.current_setting('transform_null_equals'), '; set for the session, role or database: ', (SELECT \
            pg_catalog.string_agg(pg_catalog.format('%s=%s', g.name, g.setting), ', ' ORDER BY g.name) FROM \
            pg_catalog.pg_settings g WHERE g.source OPERATOR(pg_catalog.=) ANY \
            ('{session,client,user,database,"database user"}'::pg_catalog.text[]) AND g.name OPERATOR(pg_catalog.<>) \
            'application_name'), '; settings its code reads: ', (SELECT pg_catalog.string_agg( \
            pg_catalog.format('%s=%s', y.k, pg_catalog.current_setting(y.k, true)), ', ' ORDER BY y.k) FROM (SELECT \
            DISTINCT \
            (pg_catalog.regexp_matches(x.src, 'current_setting[[:space:]]*[(][[:space:]]*''([^'']+)''', 'gi'))[1] \
            FROM code x(src)) \
            y(k)), E'\n-- definitions of what it reaches (relations, \
            views, triggers, rules, policies, defaults, functions, operators): md5 ', (SELECT \
            pg_catalog.md5(COALESCE(pg_catalog.string_agg(CASE WHEN (SELECT t FROM mine) OPERATOR(pg_catalog.=) '' \
            THEN d ELSE pg_catalog.replace(pg_catalog.replace(d, '#', '##'), (SELECT t FROM mine), '#T') END, ';;' \
            ORDER BY d), '')) FROM (
              SELECT pg_catalog.format('name %L %L %L', n, (SELECT nspname FROM pg_catalog.pg_namespace WHERE oid \
            OPERATOR(pg_catalog.=) (SELECT relnamespace FROM pg_catalog.pg_class WHERE oid OPERATOR(pg_catalog.=) r)), \
            r::pg_catalog.regclass) FROM named
              UNION ALL SELECT pg_catalog.format('relation %L %L %L %L %L %L %L %L %L %L %L %L %L %L %L %L %L', \
            c.relnamespace::pg_catalog.regnamespace, c.oid::pg_catalog.regclass, \
            c.relowner::pg_catalog.regrole, \
            c.relkind, pg_catalog.pg_get_viewdef(c.oid), c.relrowsecurity, c.relforcerowsecurity, c.reloptions, \
            c.relacl, (SELECT pg_catalog.string_agg(pg_catalog.pg_get_indexdef(i.indexrelid), ';' ORDER BY \
            i.indexrelid) FROM pg_catalog.pg_index i WHERE i.indrelid OPERATOR(pg_catalog.=) c.oid), (SELECT \
            pg_catalog.string_agg(pg_catalog.format('%L %L %L %L', a.attname, pg_catalog.format_type(a.atttypid, \
            a.atttypmod), a.attgenerated, a.attcollation::pg_catalog.regcollation), ',' ORDER BY a.attnum) FROM \
            pg_catalog.pg_attribute a WHERE a.attrelid \
            OPERATOR(pg_catalog.=) c.oid AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped), (SELECT \
            pg_catalog.string_agg(pg_catalog.format('%L %L', pg_catalog.pg_get_triggerdef(t.oid), t.tgenabled), ';' \
            ORDER BY t.tgname) FROM pg_catalog.pg_trigger t WHERE t.tgrelid OPERATOR(pg_catalog.=) c.oid AND NOT \
            t.tgisinternal), (SELECT \
            pg_catalog.string_agg(pg_catalog.format('%L %L', pg_catalog.pg_get_ruledef(r.oid), r.ev_enabled), ';' \
            ORDER BY r.rulename) FROM pg_catalog.pg_rewrite r WHERE r.ev_class OPERATOR(pg_catalog.=) c.oid), (SELECT \
            pg_catalog.string_agg(pg_catalog.format('%L %L %L %L %L %L', o.polname, o.polcmd, o.polpermissive, \
            o.polroles, pg_catalog.pg_get_expr(o.polqual, o.polrelid), pg_catalog.pg_get_expr(o.polwithcheck, \
            o.polrelid)), ';' ORDER BY o.polname) FROM pg_catalog.pg_policy o WHERE o.polrelid OPERATOR(pg_catalog.=) \
            c.oid), (SELECT pg_catalog.string_agg(pg_catalog.format('%L %L', a.adnum, pg_catalog.pg_get_expr(a.adbin, \
            a.adrelid)), ';' ORDER BY a.adnum) FROM pg_catalog.pg_attrdef a WHERE a.adrelid OPERATOR(pg_catalog.=) \
            c.oid), (SELECT pg_catalog.string_agg(pg_catalog.format('%L %L', k.conname, \
            pg_catalog.pg_get_constraintdef(k.oid)), ';' ORDER BY k.conname) FROM pg_catalog.pg_constraint k WHERE \
            k.conrelid OPERATOR(pg_catalog.=) c.oid), (SELECT pg_catalog.format('%L %L %L %L %L', q.seqtypid, \
            q.seqincrement, q.seqmin, q.seqmax, q.seqcycle) FROM pg_catalog.pg_sequence q WHERE q.seqrelid \
            OPERATOR(pg_catalog.=) c.oid)) FROM obj JOIN pg_catalog.pg_class c ON obj.k OPERATOR(pg_catalog.=) 'r' \
            AND c.oid \
            OPERATOR(pg_catalog.=) obj.o
              UNION ALL SELECT pg_catalog.format('function %L %L %L %L %L %L %L %L %L %L %L %L %L %L %L %L %L %L', \
            p.pronamespace::pg_catalog.regnamespace, p.oid::pg_catalog.regprocedure, p.proowner::pg_catalog.regrole, \
            p.prokind, p.prosecdef, p.provolatile, p.proconfig, p.prolang, p.prosrc, p.probin, p.proisstrict, \
            p.proretset, p.prorettype::pg_catalog.regtype, p.proleakproof, p.proparallel, p.proacl, \
            pg_catalog.pg_get_function_arguments(p.oid), (SELECT pg_catalog.format('%L %L %L %L %L %L %L', \
            g.aggtransfn, g.aggfinalfn, g.aggcombinefn, g.aggtranstype::pg_catalog.regtype, g.agginitval, \
            g.aggsortop, g.aggkind) FROM pg_catalog.pg_aggregate g WHERE g.aggfnoid OPERATOR(pg_catalog.=) p.oid)) \
            FROM obj JOIN \
            pg_catalog.pg_proc p ON obj.k OPERATOR(pg_catalog.=) 'f' AND p.oid OPERATOR(pg_catalog.=) obj.o
              UNION ALL SELECT pg_catalog.format('type %L %L %L %L %L %L %L %L %L', \
            t.typnamespace::pg_catalog.regnamespace, \
            t.oid::pg_catalog.regtype, t.typtype, t.typbasetype::pg_catalog.regtype, t.typnotnull, \
            pg_catalog.pg_get_expr(t.typdefaultbin, 0), (SELECT \
            pg_catalog.string_agg(pg_catalog.format('%L %L', c.conname, pg_catalog.pg_get_constraintdef(c.oid)), ';' \
            ORDER BY c.conname) FROM pg_catalog.pg_constraint c WHERE c.contypid OPERATOR(pg_catalog.=) t.oid), \
            (SELECT \
            pg_catalog.string_agg(pg_catalog.format('%L %L %L %L %L', c.castsource::pg_catalog.regtype, \
            c.casttarget::pg_catalog.regtype, c.castfunc::pg_catalog.regprocedure, c.castcontext, c.castmethod), ';' \
            ORDER BY c.oid) FROM pg_catalog.pg_cast c WHERE c.castsource OPERATOR(pg_catalog.=) t.oid OR c.casttarget \
            OPERATOR(pg_catalog.=) t.oid), (SELECT pg_catalog.string_agg(e.enumlabel::pg_catalog.text, ',' ORDER BY \
            e.enumsortorder) FROM pg_catalog.pg_enum e WHERE e.enumtypid OPERATOR(pg_catalog.=) t.oid)) FROM obj JOIN \
            pg_catalog.pg_type t ON obj.k OPERATOR(pg_catalog.=) 't' AND t.oid OPERATOR(pg_catalog.=) obj.o
              UNION ALL SELECT pg_catalog.format('event trigger %L %L %L %L %L', e.evtname, e.evtevent, \
            e.evtfoid::pg_catalog.regprocedure, e.evtenabled, e.evttags) FROM pg_catalog.pg_event_trigger e
              UNION ALL SELECT pg_catalog.format('operator %L %L %L', op.oprnamespace::pg_catalog.regnamespace, \
            op.oid::pg_catalog.regoperator, \
            op.oprcode::pg_catalog.regprocedure) FROM pg_catalog.pg_operator op WHERE op.oprnamespace \
            OPERATOR(pg_catalog.=) ANY (SELECT nsp FROM own)) s(d))) END, pg_catalog.format('client_encoding=%s; \
            DateStyle=%s; IntervalStyle=%s; standard_conforming_strings=%s; TimeZone=%s', \
            pg_catalog.current_setting('client_encoding'), pg_catalog.current_setting('DateStyle'), \
            pg_catalog.current_setting('IntervalStyle'), pg_catalog.current_setting('standard_conforming_strings'), \
            pg_catalog.current_setting('TimeZone'))""";

    private static OwnQuery read(String name, String sql, BiConsumer<ByteBuf, Entry> send, ByteBufAllocator alloc) {
        return read(name, sql, false, send, alloc);
    }

    /**
     * The batch of {@link #read(String, String, BiConsumer, ByteBufAllocator)}; {@code inBatch}, it goes inside the
     * client's unsynced batch instead: no Sync (one would commit the batch's implicit transaction or end its
     * portals), a Flush for the answers, completed at its CommandComplete. There an error of its own makes the server
     * skip to the client's Sync, the client's statement included: the error is relayed (non-silent entries), standing
     * for that statement's. An earlier error of the client's drops it unanswered: completed with null then (see
     * UpstreamRelay#skippedAfter).
     */
    private static OwnQuery read(String name, String sql, boolean inBatch, BiConsumer<ByteBuf, Entry> send,
                                 ByteBufAllocator alloc) {
        OwnQuery query = new OwnQuery(inBatch);
        java.util.function.Function<Kind, Entry> entry = kind -> inBatch ? Entry.ownQueryInBatch(kind, query)
                : Entry.ownQuery(kind, query);
        // What a read whose run failed left (the server skipped its Closes to the Sync), else its Parse would fail
        // on the name from then on. Closing what does not exist is not an error.
        send.accept(new FrontendMessage.Close('S', name).toByteBuf(alloc), entry.apply(Kind.CLOSE));
        send.accept(new FrontendMessage.Parse(name, sql, List.of()).toByteBuf(alloc), entry.apply(Kind.PARSE));
        send.accept(new FrontendMessage.Bind(name, name, List.of(), List.of(), List.of()).toByteBuf(alloc),
                entry.apply(Kind.BIND));
        send.accept(new FrontendMessage.Execute(name, 0).toByteBuf(alloc), entry.apply(Kind.EXECUTE));
        send.accept(new FrontendMessage.Close('P', name).toByteBuf(alloc), entry.apply(Kind.CLOSE));
        send.accept(new FrontendMessage.Close('S', name).toByteBuf(alloc), entry.apply(Kind.CLOSE));
        if (!inBatch) {
            send.accept(new FrontendMessage.Sync().toByteBuf(alloc), entry.apply(Kind.SYNC));
        }
        return query;
    }

    /** A Describe of a portal the client bound without describing it, so its rows can still be masked. */
    static ByteBuf describePortal(String portal, ByteBufAllocator alloc) {
        return new FrontendMessage.Describe('P', portal).toByteBuf(alloc);
    }

    /**
     * Before the first Execute of a cursor from SQL DECLARE whose columns are not known: a Describe of its portal
     * (no Bind ever told Warden its columns), sent once, so its rows can be masked.
     */
    static void describeCursor(PreparedStatements.Portal portal, BiConsumer<ByteBuf, Entry> send,
                               ByteBufAllocator alloc) {
        if (portal != null && portal.declared && portal.describedFields() == null && !portal.describeSent) {
            portal.describeSent = true;
            send.accept(describePortal(portal.name, alloc), Entry.skip(portal));
        }
    }

    /**
     * Before a COPY TO STDOUT whose rows may be masked: Parse, Describe, Close of its query under {@code name}, on
     * the session's own connection, so the columns are those of the relations the session sees (its temporary
     * tables, its {@code search_path}); they land in {@code execution.copyDescription}. Between the client's
     * batches ({@code ownBatch}) a Sync of its own follows, so it never joins the client's transaction control or
     * error flow and its answers, errors included, are consumed. Inside the client's unsynced batch (a pipeline,
     * an extended-protocol COPY) it joins that batch with no Sync: an error of Warden's Describe is then relayed,
     * standing for the COPY's own (a COPY of a relation that does not exist fails the same way), and the server
     * skips to the client's Sync as it would have after the COPY.
     */
    static void describeCopy(Execution execution, String name, boolean ownBatch, BiConsumer<ByteBuf, Entry> send,
                             ByteBufAllocator alloc) {
        Optional<String> query = CopyStatements.copyDescribeQuery(execution.analysis);
        if (query.isEmpty()) {
            return;
        }
        PreparedStatements.Statement described = new PreparedStatements.Statement(name, query.get(), null,
                PreparedStatements.Origin.PROTOCOL, null);
        execution.copyDescription = described;
        java.util.function.Function<Kind, Entry> entry = kind -> ownBatch ? Entry.silent(kind, described)
                : Entry.inBatch(kind, described);
        send.accept(new FrontendMessage.Parse(name, query.get(), List.of()).toByteBuf(alloc), entry.apply(Kind.PARSE));
        send.accept(new FrontendMessage.Describe('S', name).toByteBuf(alloc), entry.apply(Kind.DESCRIBE_STATEMENT));
        send.accept(new FrontendMessage.Close('S', name).toByteBuf(alloc), entry.apply(Kind.CLOSE));
        if (ownBatch) {
            send.accept(new FrontendMessage.Sync().toByteBuf(alloc), entry.apply(Kind.SYNC));
        }
    }
}
