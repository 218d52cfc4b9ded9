/**
 * {@link dev.warden.audit.verify.AuditVerifier#verify}: proves a log directory complete and untampered up to its
 * last signed checkpoint and names the first bad record (file, line, seq; altered, removed, reordered,
 * truncated, or a bad signature). Torn bytes at the end of a file (a crash mid-write) pass only when the next
 * record is a {@code recovery} record naming exactly those bytes (file, offset, length, SHA-256).
 * Limits: records after the last checkpoint are chain-checked but unsigned, so cutting them off the end is
 * invisible; the whole file is read into memory (files are bounded by rotation).
 */
package dev.warden.audit.verify;
