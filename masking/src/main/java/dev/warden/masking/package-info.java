/**
 * Dynamic masking: sensitive values are masked in results before they leave Warden.
 *
 * <p>Job: {@link dev.warden.masking.Masker} turns the {@code masking} policy into a
 * {@link dev.warden.masking.MaskPlan} for each result description ({@link dev.warden.masking.ResultColumn}s
 * resolved by the proxy from RowDescription and the catalog, plus a {@link dev.warden.masking.MaskContext}: who
 * asks, in which environment, and which columns the statement reads). The plan says, per column, keep, mask
 * (with a strategy and the rule that chose it, see {@link dev.warden.masking.ColumnDecision}) or scan values;
 * {@link dev.warden.masking.MaskPlan#maskDataRow} masks DataRow messages and
 * {@link dev.warden.masking.CopyMasker} masks COPY TO STDOUT streams (text, CSV, binary). When
 * {@link dev.warden.masking.MaskPlan#masksNothing()} the proxy relays rows without decoding them.
 *
 * <p>Decisions and limits:
 * <ul>
 *   <li>Lineage is per statement and fails closed where a sensitive value could flow: an expression column (no
 *       source table) is masked whole ({@code redact}, NULL for non-text types) when the proxy judged the
 *       statement sensitive (it passes {@link dev.warden.masking.MaskContext#UNKNOWN_READS}); columns of a view
 *       over sensitive columns come as {@link dev.warden.masking.MaskContext#derivedColumns()}. Expression columns
 *       of other statements are kept and value-scanned when text-like. A policy that can mask nothing for the
 *       identity and environment ({@link dev.warden.masking.Masker#masksAnything}) changes nothing.</li>
 *   <li>Message text: values the server echoes are redacted by construction only for sensitive statements;
 *       detected values always. Each plan can phrase the notice that names its masked columns.</li>
 *   <li>Masked values are valid for the column's type and format (see {@code ValueMasker}); the one exception
 *       is a type unknown to masking (user types, enums, extensions) in binary format, which becomes NULL.
 *       varchar(n)/char(n) placeholders are cut to n characters; value-detection replacements are not (clients
 *       do not check type modifiers on results).</li>
 *   <li>Value detection scans text, varchar, bpchar, name, unknown, json, jsonb, xml and arrays of them (both
 *       formats), and unknown types and records in text format. A hit masks that value (the matched span; a
 *       binary array whole) with the detector's strategy. See {@code ValueDetectors} for each detector's rule.</li>
 *   <li>{@code hash}/{@code tokenize} are HMAC-SHA256 with {@code token_key_env}'s key, else a random key per
 *       process (tokens then match only within one process). Integers and UUIDs hash alike in text and binary
 *       format; other binary values (floats, numeric) hash as sent, so their tokens differ between formats.</li>
 *   <li>A plan counts detector hits per column; use one plan per result stream, on one thread.</li>
 * </ul>
 */
package dev.warden.masking;
