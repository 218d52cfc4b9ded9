/**
 * Guardrails: decisions over plain values (identity, environment, statement facts, policy), testable
 * without a socket. The baseline only blocks; policy rules block or require approval. Until the approval
 * engine exists, REQUIRE_APPROVAL is enforced as a block whose message says approval is required.
 *
 * <p>Rules on tables see what the catalog says a statement reaches ({@code Guardrails.NamedRelations}): the
 * schemas an unqualified name may mean or land in, the relations views read and tables' children, and what the
 * server runs besides (rules, triggers, the functions of defaults, constraints, views and policies, foreign keys'
 * cascades), judged by the rules that name tables only. Where the catalog cannot say, they fail closed. Limits:
 * DDL made outside Warden counts once the catalog's entries expire (5 s); functions are followed three calls deep
 * and relations a few levels deep; DELETE FROM ONLY a parent is judged as reaching its children; a nextval in a
 * column DEFAULT or a view is not followed (one the statement calls writes its sequence, see the sql module's
 * {@code LexicalAnalysis.sequencesChanged}).
 */
package dev.warden.proxy.guardrails;
