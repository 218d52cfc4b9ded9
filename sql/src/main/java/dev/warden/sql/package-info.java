/**
 * Statement analysis: what each statement of a SQL text is and does, for guardrails, audit and masking.
 *
 * <p><b>Entry point.</b> {@link dev.warden.sql.Analyzer#analyze} splits a text into statements and returns one
 * {@link dev.warden.sql.StatementFacts} per statement. It is thread-safe, parses in the calling thread, and never
 * throws.
 *
 * <p><b>How.</b> A PostgreSQL-aware {@code Lexer} (strings of every quoting, dollar quotes, nested comments,
 * quoted identifiers) tokenizes the text; {@code SqlSplitter} cuts it at top-level semicolons, as the server
 * would. Every statement is classified by its leading keywords. Queries, DML, CREATE and ALTER (other than ALTER
 * SYSTEM) then go to JSqlParser 5.4; their facts come from a generic walk of the syntax tree
 * ({@code SyntaxTreeFacts}), and the tree must agree with the keywords (a DELETE must parse as a Delete) or it is
 * discarded. All other statements have a grammar of keywords and names, and the lexer analyses them completely
 * ({@code LexicalAnalysis}): transaction control, SET/RESET/SHOW (including SET ROLE and SET SESSION
 * AUTHORIZATION), COPY, DROP, TRUNCATE, GRANT/REVOKE, COMMENT, LOCK, VACUUM/ANALYZE/CLUSTER/REINDEX, REFRESH,
 * LISTEN/NOTIFY/UNLISTEN, DISCARD, PREPARE/EXECUTE/DEALLOCATE, DECLARE/FETCH/MOVE/CLOSE, EXPLAIN, DO, CALL,
 * CHECKPOINT, LOAD, ALTER SYSTEM. PREPARE, EXPLAIN, DECLARE and COPY (query) analyse their inner statement the
 * same way.
 *
 * <p><b>{@code unparsed}.</b> True when the statement's meaning may be hidden from Warden: its kind is unknown
 * ({@code OTHER}), its text is unterminated, or it is a query, DML or DDL statement that JSqlParser could not
 * parse (or parsed as something else). Such statements still get the lexer's best-effort facts: kind, object
 * type, DML targets (also inside CTEs), FROM/JOIN tables, function calls ({@code name(} that is not a keyword,
 * type or table), and a top-level WHERE. Statements the lexer knows completely (the list above) are not
 * unparsed when they have the expected shape. One deviation from "DDL JSqlParser cannot parse is unparsed":
 * CREATE/ALTER of objects whose definition runs nothing when executed (functions, operators, types, text search
 * objects, roles, schemas, views, sequences, extensions... see {@code LexicalAnalysis.DECLARATIVE_TYPES}) are
 * understood from their keywords; JSqlParser fails on most catalog DDL of this kind (ALTER FUNCTION ...,
 * CREATE OPERATOR ...), and nothing in them can hide a read, a write or a call. CREATE/ALTER of tables, indexes,
 * materialized views, domains, rules, triggers and policies stay unparsed when JSqlParser fails. DO is not
 * unparsed (its kind is certain; its body is never analysed, and it counts as writing); function calls in the
 * body, and in strings inside it, are reported. The other deviation: a SELECT, VALUES, TABLE or WITH query
 * JSqlParser cannot parse is not unparsed when {@code ReadOnlyProof} proves from its tokens that it only reads
 * (no data-modifying statement at any depth, no INTO, only calls of built-in functions that are immutable or
 * stable in the catalog); its tables and columns read are then over-approximated. A query that calls any other
 * function stays unparsed; {@code ReadOnlyProof.unknownFunctions}/{@code proveWithCatalog} let the proxy
 * finish the proof from {@code pg_proc}. {@code functions()} never lists SQL syntax such as {@code COALESCE(},
 * {@code ARRAY(} or {@code ANY(}.
 *
 * <p><b>{@code writes}.</b> True for INSERT, UPDATE, DELETE, MERGE, TRUNCATE, every DDL kind (CREATE, ALTER,
 * DROP, COMMENT, GRANT, REVOKE, SECURITY LABEL, IMPORT FOREIGN SCHEMA, REASSIGN/DROP OWNED), CALL, DO, EXECUTE
 * (the prepared statement is unknown here; the caller that tracks PREPAREs may know better), REFRESH, VACUUM,
 * CLUSTER, REINDEX, LOCK, ALTER SYSTEM, LOAD, ANALYZE, NOTIFY; for COPY FROM, SELECT INTO, data-modifying CTEs; and for PREPARE,
 * DECLARE, EXPLAIN ANALYZE and COPY (query) whose inner statement writes. False for SELECT, SHOW, SET, RESET,
 * transaction control, plain EXPLAIN, LISTEN/UNLISTEN, CHECKPOINT, FETCH; true for a SELECT with a locking clause
 * (FOR UPDATE, FOR SHARE ...). PREPARE, DECLARE, EXPLAIN
 * ANALYZE and COPY (query) take on their inner statement's tables, columns, functions, WHERE and inner kinds;
 * plain EXPLAIN takes on reads and functions only.
 *
 * <p><b>{@code hasWhere}.</b> When the statement contains UPDATE or DELETE, itself or nested (CTE, EXPLAIN
 * ANALYZE, PREPARE, COPY (query)): whether every one of them has a WHERE ({@code WHERE CURRENT OF} counts).
 * MERGE counts as having one when its ON condition references a column other than by comparing it with itself
 * ({@code ON true}, {@code ON 1 = 1} and {@code ON t.id = t.id} choose every row). Otherwise: whether the statement has a top-level WHERE.
 *
 * <p><b>Cache.</b> JSqlParser results are cached by the statement's shape: its tokens rendered with every string
 * as {@code '?'} and every number as {@code 0}. JSqlParser parses exactly that rendering, never the literal
 * values, so a cached result is the result for any statement of that shape; the key is the whole rendering, not
 * a hash. Facts that depend on literal values (the role in {@code SET ROLE 'x'}, functions in a DO body) come
 * from the lexer path, which is not cached. Parse results that hit the time limit are not cached.
 *
 * <p><b>Names.</b> {@link dev.warden.sql.TextReferences} reads what a statement's tokens can name (identifiers,
 * and words inside strings and dollar-quoted bodies, under both string settings), whether a relation is given an
 * alias column list, where a column is used as a filter, sort, group or join key, and which cursor a
 * DECLARE/FETCH/MOVE/CLOSE names: masking's sound over-approximation, with no parse.
 *
 * <p><b>Command tags.</b> {@link dev.warden.sql.CommandTags#agrees} says whether a CommandComplete tag the server
 * reported fits a statement's facts; the proxy's tripwire ends a session when it does not. Checked against the
 * real server's tags (tests) and over PostgreSQL's regression SQL ({@code CommandTagsCorpusRun}).
 *
 * <p><b>Limits.</b> JSqlParser gets at most 200 ms of CPU time per statement (a shared watchdog thread sets its
 * {@code interrupted} flag); statements longer than 64 KiB skip it. Both end {@code unparsed} unless the read-only proof holds. Columns are best
 * effort: unqualified columns are not attributed to a table; aliases are resolved within the statement, not by
 * scope. The lexer is told the session's {@code standard_conforming_strings} (the proxy follows the server's
 * reports); {@link dev.warden.sql.ClientEncoding} decodes bytes as the server does. {@code nested} statements
 * (rule actions, DO static SQL, BEGIN ATOMIC pieces, and function bodies the proxy adds from the catalog) are
 * analysed like top-level ones, at most four levels deep; deeper SQL counts as dynamic. Empty statements between semicolons are dropped; a text with no statement gives
 * one {@code EMPTY}.
 */
package dev.warden.sql;
