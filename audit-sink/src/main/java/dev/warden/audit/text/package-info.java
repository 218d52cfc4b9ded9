/**
 * Showing untrusted text safely: one escaping rule for logs, {@code warden audit tail/search/usage}, CLI tables,
 * the admin API's display fields and webhooks, so a statement or a user name can neither forge a line nor
 * hide part of itself behind terminal control sequences. Stored records keep the exact text; only what is
 * shown is escaped.
 */
package dev.warden.audit.text;
