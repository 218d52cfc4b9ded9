/**
 * Approvals: a statement that a guardrail marks {@code require_approval} is held in its session while an
 * authorised person approves or denies it.
 *
 * <p>{@link dev.warden.proxy.approvals.ApprovalService} is plain Java (no Netty): the session asks with
 * {@code request(...)} and gets a future {@link dev.warden.proxy.approvals.Outcome}; approvers decide through
 * {@code approve}/{@code deny} (the admin API calls these). Requests are kept in an
 * {@link dev.warden.proxy.approvals.ApprovalStore} (one JSON file per request, or a PostgreSQL table shared by
 * several Warden instances) so they survive a restart; every transition is a compare-and-set on the stored
 * version, so two instances never both decide one request. An instance holding a statement learns of a decision
 * made elsewhere by polling the shared store every 500 ms: simple, and correct without database notifications.
 *
 * <p>Grants: one approval is one execution unless the approver grants more ({@link dev.warden.proxy.approvals.Grant}:
 * a number of uses, a window, or both, within {@code approvals.max_grant_uses} and {@code max_grant_window}). A
 * grant covers the identical execution (same requester, environment, text and values, by digest), never other
 * values. Each use is one compare-and-set on the record (approving a held statement counts as its first use in
 * the same write), so instances sharing a store cannot overspend it, and is audited as {@code approval.used}.
 *
 * <p>Integrity: distinct approvers are distinct people, judged by the configured username claim (without
 * regard to case) as well as by subject and issuer, so one person holding two tokens counts once; agents approve
 * only when {@code approvals.agents_may_approve} says so; what approvers see of a statement is the audit log's
 * text (literals redacted when it redacts them), escaped when shown ({@code VisibleText}); files are 0600.
 *
 * <p>Limits: the futures complete on whichever thread made the decision (an admin HTTP thread, the approvals
 * scheduler): callers hop back to their own thread. After a restart a held statement's client is gone; its
 * request stays pending (and decidable) until it expires, which is what retry mode needs. Webhooks are best
 * effort: retried with backoff, never waited for. An orphaned held request (its instance restarted) that is
 * approved still counts its first use.
 *
 * <p>Floods: finding a grant or an approved retry searches the requester's own approved requests for the
 * execution's digest, and an approver's list is chosen among the requests they may see before it is cut at 200,
 * so other people's requests, however many, change neither. Each person may have at most
 * {@code approvals.max_pending_per_requester} requests pending (default 20); a further one is refused and
 * nothing runs. Pending requests take turns by requester before the list is cut (each person's newest, then each
 * one's second newest...), so people at their bound fill it only when there are about 200 of them; and every pending
 * request stays reachable, page by page ({@code pendingPage}: newest first, keyed on creation time and id, so a page
 * neither repeats nor skips a request as others arrive or are decided), or by requester.
 */
package dev.warden.proxy.approvals;
