package dev.warden.masking;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * Finds sensitive values in text (UTF-8 bytes, scanned without decoding). One pass counts digits and
 * {@code @}; values that are short, have no {@code @} and fewer than nine digits stop there, which is most
 * values. Otherwise the value is split into tokens at whitespace, control bytes and the punctuation that
 * delimits JSON, arrays and records ({@code " ' , ; : ( ) [ ] { } < > \ =}), and each token is tried by the
 * detectors whose cheap pre-filter (a prefix, a length, a character class) it passes.
 *
 * <p>A hit is a span; spans never contain a delimiter, so replacing one with delimiter-free text keeps JSON,
 * array and record literals valid. Matching is per token, and per key inside a token (keys glued by punctuation,
 * see {@link #keyIn}), except for phone numbers, grouped IBANs and cards written with spaces or dashes (whole value,
 * or digit runs), and PEM blocks (marker to marker). A hit that would cut another value is grown over it, and is
 * then masked whole ({@link #JOINED}).
 *
 * <p>{@code high_entropy}: a token of at least 32 bytes with a digit, an upper- and a lower-case letter and
 * Shannon entropy ≥ 4.0 bits per byte. Pure hex tokens (with or without dashes: UUIDs, SHA-1/SHA-256 digests,
 * git ids) are never flagged: they are identifiers far more often than secrets, and hex cannot exceed
 * 4 bits per character anyway.
 */
final class ValueDetectors {

    record Hit(String detector, int start, int end) {
    }

    private static final Set<String> INVALID_SSNS = Set.of("078051120", "219099999");
    private static final Map<String, Integer> IBAN_LENGTHS = ibanLengths();

    private ValueDetectors() {
    }

    /**
     * The first hit in {@code b[off, off + len)} among the {@code enabled} detectors (names as in
     * {@code MaskingSettings.VALUE_DETECTORS}), or null.
     */
    static Hit scan(byte[] b, int off, int len, Set<String> enabled) {
        return new Scanner(b, off, len, enabled).next(off);
    }

    /**
     * Whether {@code b[off, off + len)} may hold a hit at all: the test {@link Scanner#next} makes first (an
     * {@code @}, nine digits, or 16 bytes), without a scanner. Most values (names, cities, codes) stop here, and
     * the DataRow path allocates nothing for them.
     */
    static boolean mayHit(byte[] b, int off, int len) {
        if (len >= 16) {
            return true;
        }
        int digits = 0;
        for (int i = off; i < off + len; i++) {
            byte c = b[i];
            if (c == '@' || c >= '0' && c <= '9' && ++digits >= 9) {
                return true;
            }
        }
        return false;
    }

    /**
     * The detector of a hit grown over another detector's ({@link Scanner#joined}, {@link #token}): one span, masked
     * whole ({@code redact}), as no one detector's strategy fits it (an e-mail's keeps what follows the {@code @}, and
     * would keep a key glued after the address in clear).
     */
    static final String JOINED = "value_detection_joined";

    /** {@code hit} to {@code end}, over a hit of {@code detector}. */
    private static Hit grown(Hit hit, int end, String detector) {
        return new Hit(hit.detector().equals(detector) ? detector : JOINED, hit.start(), end);
    }

    /** What {@link Scanner#next} returns once the tokens of one value took more work than it allows. */
    static final String OVER_BUDGET = "value_detection_budget";

    // One bit per detector: the scanner asks which are enabled for every token, and a set's lookup hashed the name
    // each time.
    private static final int BIT_PEM_KEY = 1;
    private static final int BIT_PHONE = 1 << 1;
    private static final int BIT_CARD = 1 << 2;
    private static final int BIT_US_SSN = 1 << 3;
    private static final int BIT_IBAN = 1 << 4;
    private static final int BIT_EMAIL = 1 << 5;
    private static final int BIT_HIGH_ENTROPY = 1 << 6;
    private static final int BIT_AWS_KEY = 1 << 7;
    private static final int BIT_GITHUB = 1 << 8;
    private static final int BIT_SLACK = 1 << 9;
    private static final int BIT_STRIPE = 1 << 10;
    private static final int BIT_JWT = 1 << 11;
    private static final String[] BIT_NAMES = {"pem_private_key", "phone", "card", "us_ssn", "iban", "email",
        "high_entropy", "aws_access_key", "github_token", "slack_token", "stripe_key", "jwt"};

    /** A set of detector names with its bits; the last one asked for, as each caller passes its one set each time. */
    private record EnabledBits(Set<String> names, int bits) {
    }

    private static volatile EnabledBits lastBits = new EnabledBits(Set.of(), 0);

    /** The bits of the detectors named in {@code enabled}, an immutable set. */
    static int bits(Set<String> enabled) {
        EnabledBits last = lastBits;
        if (last.names() == enabled) {
            return last.bits();
        }
        int bits = 0;
        for (int i = 0; i < BIT_NAMES.length; i++) {
            bits |= enabled.contains(BIT_NAMES[i]) ? 1 << i : 0;
        }
        lastBits = new EnabledBits(enabled, bits);
        return bits;
    }

    /**
     * The hits of one value, left to right: {@link #next} from the end of the last one, each as a fresh
     * {@link #scan} from there would find it. A fresh scan from each hit's end read the rest of the value again
     * (its digit count, and each run detector to its next hit or the value's end), so a value cost its length times
     * its hits: a RAISE of 25,000 SSNs (300 KB) held an event loop, and every other session on it, for 30 s, and
     * an e-mail's domain of n letters took n squared steps. Here:
     * <ul>
     *   <li>the counts that gate the detectors are kept for the rest of the value as it shrinks;
     *   <li>each run detector's (private key, phone, card, SSN) next hit is kept until a hit passes its start, then
     *       sought again from there: runs are cut by the content only, so a parse from a later start agrees with
     *       the kept one except for a run the start cuts, which {@link #cutRun} reads on its own (bounded: such a
     *       run is a hit only when short);
     *   <li>the tokens before the next hit are read once, but a long token holding hits is read again from each
     *       hit's end: past {@code 4 * length + 64 KiB} bytes of tokens read, {@link #next} returns an
     *       {@link #OVER_BUDGET} hit spanning the rest, which callers mask whole.
     * </ul>
     */
    static final class Scanner {
        private static final int PEM = 0;
        private static final int PHONE = 1;
        private static final int CARD = 2;
        private static final int SSN = 3;
        private static final int IBAN = 4;
        private static final int TOKEN = 5;

        private final byte[] b;
        private final int off;
        private final int end;
        /** {@link #end} less its trailing spaces. */
        private final int trimmedEnd;
        /** The enabled detectors' bits ({@link #bits}). */
        private final int on;
        /** The counts below are of {@code b[counted, end)}. */
        private int counted;
        private int digits;
        private int ats;
        private int dashes;
        private final Hit[] kept = new Hit[4];
        /** The hits {@link #next} found from its start: each run detector's, a grouped IBAN, a token's. */
        private final Hit[] found = new Hit[6];
        /** Where each run detector's kept hit was sought from; -1: not yet. */
        private final int[] keptFrom = {-1, -1, -1, -1};
        private long work;
        private final long budget;

        Scanner(byte[] b, int off, int len, Set<String> enabled) {
            this.b = b;
            this.off = off;
            this.end = off + len;
            this.on = bits(enabled);
            int e = end;
            while (e > off && isSpace(b[e - 1])) {
                e--;
            }
            this.trimmedEnd = e;
            for (int i = off; i < end; i++) {
                byte c = b[i];
                if (c >= '0' && c <= '9') {
                    digits++;
                } else if (c == '@') {
                    ats++;
                } else if (dashAt(i)) {
                    dashes++;
                }
            }
            this.counted = off;
            this.budget = 4L * len + 65536;
        }

        private boolean dashAt(int i) {
            return b[i] == '-' && i + 4 < end && b[i + 4] == '-' && b[i + 1] == '-';
        }

        /** The first hit at or after {@code pos} (at least every earlier call's), or null. */
        Hit next(int pos) {
            for (; counted < pos && counted < end; counted++) {
                byte c = b[counted];
                if (c >= '0' && c <= '9') {
                    digits--;
                } else if (c == '@') {
                    ats--;
                } else if (dashAt(counted)) {
                    dashes--;
                }
            }
            int len = end - pos;
            if (len <= 0 || ats == 0 && digits < 9 && len < 16) {
                return null;
            }
            int s = pos;
            int e = trimmedEnd;
            while (s < e && isSpace(b[s])) {
                s++;
            }
            // Several detectors look at the whole value; the caller resumes after the hit it gets, so the hit
            // returned must be the leftmost one, or an earlier secret would be skipped.
            Arrays.fill(found, null);
            if (dashes > 0 && (on & BIT_PEM_KEY) != 0) {
                found[PEM] = run(PEM, s, e);
            }
            if (digits >= 8 && s < e && (on & BIT_PHONE) != 0) {
                found[PHONE] = b[s] == '+' && phone(b, s, e) ? new Hit("phone", s, e) : run(PHONE, s, e);
            }
            if (digits >= 12 && (on & BIT_CARD) != 0) {
                found[CARD] = run(CARD, s, e);
            }
            if (digits >= 9 && (on & BIT_US_SSN) != 0) {
                found[SSN] = run(SSN, s, e);
            }
            if (digits >= 2 && e - s >= 15 && e - s <= 42 && (on & BIT_IBAN) != 0 && groupedIban(b, s, e)) {
                found[IBAN] = new Hit("iban", s, e);
            }
            Hit best = null;
            for (Hit h : found) {
                best = leftmost(best, h);
            }
            int i = s;
            while (i < e && (best == null || i < best.start())) {
                while (i < e && isDelimiter(b[i])) {
                    i++;
                }
                int t = i;
                while (i < e && !isDelimiter(b[i])) {
                    i++;
                }
                if (i > t) {
                    Hit h = token(b, t, i, e, ats > 0, on);
                    work += i - t; // the whole token was read (an e-mail's hit too: a token of glued addresses)
                    if (work > budget) {
                        return new Hit(OVER_BUDGET, pos, end);
                    }
                    if (h != null) {
                        found[TOKEN] = h;
                        return joined(leftmost(best, h));
                    }
                }
            }
            return joined(best);
        }

        /**
         * {@code hit} (the leftmost) grown over each other hit found that starts inside it and ends past it, then over
         * the rest of a run of digits and single separators it ends inside (to the next hit found in it): the scan goes
         * on from its end, where the rest of a cut value is no value at all (a phone's digits ran into a card's first group, {@code +4111 1111 1111 1111},
         * a key's into an SSN's or a printed IBAN's, and the rest passed in clear).
         */
        private Hit joined(Hit hit) {
            for (boolean grown = hit != null; grown; ) {
                grown = false;
                for (Hit other : found) {
                    if (other != null && other.start() < hit.end() && other.end() > hit.end()) {
                        hit = grown(hit, other.end(), other.detector());
                        grown = true;
                    }
                }
                int i = hit.end();
                if (i < end && isDigit(b[i - 1])
                        && (isDigit(b[i]) || isSeparator(b[i]) && i + 1 < end && isDigit(b[i + 1]))) {
                    int stop = runEnd(b, i - 1, end);
                    for (Hit other : found) {
                        stop = other != null && other.start() >= i && other.start() < stop ? other.start() : stop;
                    }
                    if (stop > i + 1) {
                        hit = grown(hit, stop, JOINED); // digits its detector did not read: its strategy may show them
                        grown = true;
                    }
                }
            }
            return hit;
        }

        /** The first hit of run detector {@code kind} in {@code b[s, e)}. */
        private Hit run(int kind, int s, int e) {
            Hit h = kept[kind];
            if (keptFrom[kind] < 0 || h != null && h.start() < s) {
                h = find(kind, s, e);
                kept[kind] = h;
                keptFrom[kind] = s;
                return h;
            }
            if (keptFrom[kind] == s) {
                return h;
            }
            Hit cut = cutRun(kind, s, e);
            return cut != null ? cut : h;
        }

        private Hit find(int kind, int s, int e) {
            return switch (kind) {
                case PEM -> pem(b, s, e);
                case PHONE -> phoneRun(b, s, e);
                case CARD -> cardRun(b, s, e);
                default -> ssnRun(b, s, e);
            };
        }

        /**
         * A hit a parse from {@code s} finds where an earlier start's did not: in the run {@code s} cuts, which
         * that parse read from its own beginning. Past that run the two parses agree.
         */
        private Hit cutRun(int kind, int s, int e) {
            if (s <= off || s >= e) {
                return null;
            }
            if (kind == CARD && isDigit(b[s]) && isSeparator(b[s - 1]) && s - 2 >= off && isDigit(b[s - 2])) {
                return cardAt(b, s, e); // the hit before ended at a separator inside a run (a space, skipped)
            }
            if (!isDigit(b[s - 1])) {
                return null;
            }
            return switch (kind) {
                case PHONE -> b[s] == '+' ? phoneAt(b, s, e) : null;
                case CARD -> isDigit(b[s]) ? cardAt(b, s, e)
                        : isSeparator(b[s]) && s + 1 < e && isDigit(b[s + 1]) ? cardAt(b, s + 1, e) : null;
                case SSN -> isDigit(b[s]) && s + 11 <= e && !(s + 11 < e && isDigit(b[s + 11])) && ssn(b, s)
                        ? new Hit("us_ssn", s, s + 11) : null;
                default -> null;
            };
        }
    }

    private static Hit leftmost(Hit a, Hit b) {
        if (a == null) {
            return b;
        }
        if (b == null) {
            return a;
        }
        return b.start() < a.start() ? b : a;
    }

    static Hit scan(String value, Set<String> enabled) {
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        return scan(bytes, 0, bytes.length, enabled);
    }

    /**
     * The leftmost hit of one token: an e-mail or a key ({@link #keyIn}) inside it, or the whole token (a phone
     * number, high entropy). At one start the longer hit wins; of equal ones the first listed, so a key written alone
     * keeps its own detector. An e-mail or key that starts inside the hit and ends past it extends it: the scan goes
     * on from the hit's end, where the rest of the cut value would be no value at all ({@code ann@acme.com.AKIA...}:
     * the address's top-level domain took the key's first letters). {@code end}: where the value ends, for an IBAN
     * printed in groups past the token.
     */
    private static Hit token(byte[] b, int s, int e, int end, boolean at, int on) {
        boolean email = at && (on & BIT_EMAIL) != 0;
        Hit mail = email ? emailIn(b, s, s, e) : null;
        // In base64 that repeats itself (encoded structured data) a run of letters and digits is no random key: a
        // hash strategy's replacement of one would leave valid base64 of wrong data.
        boolean runsMayBeKeys = e - s < 32 || (on & BIT_HIGH_ENTROPY) == 0 || !repeatsAsEncoded(b, s, e);
        Hit key = e - s >= SHORTEST_KEY || printedIbanMayStart(b, s, e, end)
                ? keyIn(b, s, s, e, end, runsMayBeKeys, on) : null;
        Hit hit = first(mail, key);
        if (e - s >= 9 && b[s] == '+' && (on & BIT_PHONE) != 0 && phone(b, s, e)) {
            hit = first(hit, new Hit("phone", s, e));
        }
        if (e - s >= 32 && (on & BIT_HIGH_ENTROPY) != 0 && highEntropySegment(b, s, e)) {
            hit = first(hit, new Hit("high_entropy", s, e));
        }
        while (hit != null) {
            while (mail != null && mail.end() <= hit.end()) {
                mail = emailIn(b, s, mail.end(), e);
            }
            while (key != null && key.end() <= hit.end()) {
                key = keyIn(b, s, key.end(), e, end, runsMayBeKeys, on);
            }
            Hit past = mail != null && mail.start() < hit.end() ? mail : null;
            if (key != null && key.start() < hit.end() && (past == null || key.end() > past.end())) {
                past = key;
            }
            if (past == null) {
                break;
            }
            hit = grown(hit, past.end(), past.detector());
        }
        return hit;
    }

    /**
     * The fewest bytes a key {@link #keyIn} finds can have: a JWT's (a header of ten, a dot, a payload of two, a dot).
     * A shorter token holds no key, but may be the first group of an IBAN printed in groups.
     */
    private static final int SHORTEST_KEY = 14;

    /**
     * Whether the token {@code b[s, e)} ends with a run of two capitals and two digits that a space follows: where
     * {@link #keyIn} reads an IBAN printed in groups, the one key a token shorter than {@link #SHORTEST_KEY} can start.
     * (The space is a delimiter, so the run of four ends the token.)
     */
    private static boolean printedIbanMayStart(byte[] b, int s, int e, int end) {
        int p = e - 4;
        return p >= s && e < end && b[e] == ' ' && isUpper(b[p]) && isUpper(b[p + 1]) && isDigit(b[p + 2])
                && isDigit(b[p + 3]) && (p == s || !isAlnum(b[p - 1]));
    }

    /** The hit that starts first, of two at one start the longer, of equal ones {@code a}. */
    private static Hit first(Hit a, Hit b) {
        if (a == null) {
            return b;
        }
        if (b == null || a.start() < b.start()) {
            return a;
        }
        return b.start() < a.start() || b.end() > a.end() ? b : a;
    }

    // ---- e-mail -------------------------------------------------------------------------------------------

    /**
     * The first address inside the token {@code b[s, e)} whose {@code @} is at or after {@code from}: text stuck to
     * it before the local part or after the top-level domain ({@code xann@acme.com1}, {@code <ann@acme.com>.}) is not
     * part of the span, so an appended or prepended character does not hide the address. Any case. Addresses glued to
     * it share bytes with it ({@code a@b.coa@c.de}: {@code coa} ends a domain and starts a local part), and
     * {@link #token} joins them to it.
     */
    private static Hit emailIn(byte[] b, int s, int from, int e) {
        for (int atPos = Math.max(s + 1, from); atPos < e - 4; atPos++) {
            if (b[atPos] != '@') {
                continue;
            }
            int start = atPos;
            while (start > s && start > atPos - 64 && isLocalChar(b[start - 1])) {
                start--;
            }
            while (start < atPos && b[start] == '.') {
                start++;
            }
            int end = atPos + 1;
            // No domain holds two dots in a row: a@b.co..GB82WEST... ends before them, or its top-level domain was GB
            // and a@b.co no address.
            while (end < e && (isAlnum(b[end]) || b[end] == '.' && b[end - 1] != '.' || b[end] == '-')) {
                end++;
            }
            // Trim whatever follows the top-level domain's letters: digits, dots, dashes, a letter alone (the local
            // part of an address glued after a dot, a@b.co.a@b.co, which left both addresses unmatched). The last run
            // of two letters or more that follows a dot ends the domain; each run is read once (cutting a letter at a
            // time and reading the run again took a domain of n letters n squared steps).
            int domainEnd = atPos + 1;
            for (int p = end - 1; p > atPos; ) {
                if (!isLetter(b[p])) {
                    p--;
                    continue;
                }
                int r = p;
                while (r > atPos + 1 && isLetter(b[r - 1])) {
                    r--;
                }
                if (r > atPos + 1 && b[r - 1] == '.' && p > r) {
                    domainEnd = p + 1;
                    break;
                }
                p = r - 1;
            }
            end = domainEnd;
            if (start < atPos && end > atPos + 1 && email(b, start, end)) {
                return new Hit("email", start, end);
            }
        }
        return null;
    }

    private static boolean isLocalChar(byte c) {
        return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-' || c == '!' || c == '#'
                || c == '$' || c == '&' || c == '*' || c == '/' || c == '?' || c == '^' || c == '`' || c == '|'
                || c == '~';
    }

    static boolean email(byte[] b, int s, int e) {
        int atPos = -1;
        for (int i = s; i < e; i++) {
            if (b[i] == '@') {
                if (atPos >= 0) {
                    return false;
                }
                atPos = i;
            }
        }
        if (atPos <= s || atPos - s > 64 || e - atPos < 5 || e - s > 254) {
            return false;
        }
        for (int i = s; i < atPos; i++) {
            byte c = b[i];
            if (!(isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-' || c == '!' || c == '#'
                    || c == '$' || c == '&' || c == '*' || c == '/' || c == '?' || c == '^' || c == '`' || c == '|'
                    || c == '~')) {
                return false;
            }
        }
        int lastDot = -1;
        for (int i = atPos + 1; i < e; i++) {
            byte c = b[i];
            if (c == '.') {
                if (i == atPos + 1 || b[i - 1] == '.') {
                    return false;
                }
                lastDot = i;
            } else if (!(isAlnum(c) || c == '-')) {
                return false;
            }
        }
        if (lastDot < 0 || e - lastDot - 1 < 2) {
            return false;
        }
        for (int i = lastDot + 1; i < e; i++) {
            if (!isLetter(b[i])) {
                return false;
            }
        }
        return true;
    }

    // ---- cards --------------------------------------------------------------------------------------------

    /**
     * A card number: a run of 13–19 digits, not inside a longer run of digits, whose first digit is an issuer's
     * (2 to 6: Mir and Mastercard 2-series, Amex, JCB and Diners 3, Visa 4, Mastercard and Maestro 5, Discover,
     * UnionPay and Maestro 6; airline, petroleum and national cards are left out) and that passes the Luhn
     * check. Digits may be grouped by single separators (any of {@link #isSeparator}) as cards are printed: a
     * first group of four, then groups of four to six, the last of three to six (4-4-4-4, 4-6-5, 4-4-4-4-3).
     * That grouping is what tells a card from a decimal fraction ({@code 93901.57763026}) or a row of numbers
     * ({@code 1997 997 97 7 7 44 2}), which pass Luhn one time in ten.
     */
    private static Hit cardRun(byte[] b, int s, int e) {
        int i = s;
        while (i < e) {
            if (!isDigit(b[i]) || (i > s && isDigit(b[i - 1]))) {
                i++;
                continue;
            }
            Hit h = cardAt(b, i, e);
            if (h != null) {
                return h;
            }
            i = runEnd(b, i, e);
        }
        return null;
    }

    /**
     * The card the run of digits and single separators that starts at {@code start} begins with (see
     * {@link #cardRun}): the whole run when it is one; else its shortest part that ends with a group and is one, so
     * that what is written right after a card ({@code 4111 1111 1111 1111 12/27}) does not hide it. Such a part
     * never ends with a group an SSN starts with: it would cut the SSN that follows, and leave it unread (a helper's
     * pass: {@code 4111 1111 1111 1111 128-45-6789}, the card taking 128). It stops reading at the run's twentieth
     * digit, too many for one.
     */
    private static Hit cardAt(byte[] b, int start, int e) {
        int i = start;
        int count = 0;
        int[] digits = new int[19];
        int group = 0;
        int groups = 0;
        int groupStart = start;
        boolean printed = true;
        int first = -1;
        int valid = -1;
        while (i < e && (count < 19 || !isDigit(b[i]))) {
            if (isDigit(b[i])) {
                if (group == 0) {
                    groupStart = i;
                }
                digits[count++] = b[i] - '0';
                group++;
                i++;
                if (i < e && isDigit(b[i])) {
                    continue;
                }
                // A group ends here: the digits so far are a card if they are printed as one.
                if (count >= 13 && printed && (groups == 0 || group >= 3 && group <= 6) && digits[0] >= 2
                        && digits[0] <= 6 && luhn(digits, count) && !allSame(digits, count)) {
                    valid = i;
                    if (first < 0 && !(groupStart + 11 <= e && (groupStart + 11 == e || !isDigit(b[groupStart + 11]))
                            && ssn(b, groupStart))) {
                        first = i;
                    }
                }
            } else if (isSeparator(b[i]) && i + 1 < e && isDigit(b[i + 1]) && isDigit(b[i - 1])) {
                printed &= groups == 0 ? group == 4 : group >= 4 && group <= 6;
                groups++;
                group = 0;
                i++;
            } else {
                break;
            }
        }
        boolean whole = valid >= 0 && valid == i && !(i < e && isDigit(b[i]));
        int end = whole ? valid : first;
        return end < 0 ? null : new Hit("card", start, end);
    }

    /** Where the run of digits and single separators that starts at {@code start} (a digit) ends. */
    private static int runEnd(byte[] b, int start, int e) {
        int i = start + 1;
        while (i < e && (isDigit(b[i]) || isSeparator(b[i]) && i + 1 < e && isDigit(b[i + 1]) && isDigit(b[i - 1]))) {
            i++;
        }
        return i;
    }

    static boolean luhn(int[] digits, int count) {
        int sum = 0;
        for (int k = 0; k < count; k++) {
            int d = digits[count - 1 - k];
            if ((k & 1) == 1) {
                d *= 2;
                if (d > 9) {
                    d -= 9;
                }
            }
            sum += d;
        }
        return sum % 10 == 0;
    }

    private static boolean allSame(int[] digits, int count) {
        for (int k = 1; k < count; k++) {
            if (digits[k] != digits[0]) {
                return false;
            }
        }
        return true;
    }

    // ---- SSN, phone, IBAN ---------------------------------------------------------------------------------

    /** Card and SSN digit groups may be separated by a space, dash, dot, slash or underscore. */
    private static boolean isSeparator(byte c) {
        return c == ' ' || c == '-' || c == '.' || c == '/' || c == '_';
    }

    /**
     * The first SSN in the value: AAA-GG-SSSS with the same separator twice (any of {@link #isSeparator}), not
     * inside a longer run of digits; letters may touch it ({@code ssn078-05-1121x}).
     */
    private static Hit ssnRun(byte[] b, int s, int e) {
        for (int i = s; i + 11 <= e; i++) {
            if (!isDigit(b[i]) || (i > s && isDigit(b[i - 1])) || (i + 11 < e && isDigit(b[i + 11]))) {
                continue;
            }
            if (ssn(b, i)) {
                return new Hit("us_ssn", i, i + 11);
            }
        }
        return null;
    }

    /** AAA-GG-SSSS; area 000, 666 and 900–999, group 00 and serial 0000 are never issued. */
    private static boolean ssn(byte[] b, int s) {
        byte separator = b[s + 3];
        if (!isSeparator(separator) || b[s + 6] != separator) {
            return false;
        }
        for (int k = 0; k < 11; k++) {
            if (k != 3 && k != 6 && !isDigit(b[s + k])) {
                return false;
            }
        }
        int area = num(b, s, 3);
        int group = num(b, s + 4, 2);
        int serial = num(b, s + 7, 4);
        if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0) {
            return false;
        }
        String plain = new String(b, s, 3, StandardCharsets.US_ASCII) + new String(b, s + 4, 2, StandardCharsets.US_ASCII)
                + new String(b, s + 7, 4, StandardCharsets.US_ASCII);
        return !INVALID_SSNS.contains(plain);
    }

    /**
     * E.164-ish: '+', a non-zero first digit, 8–15 digits, separated by spaces, dashes, dots or parentheses, at
     * most two groups of a single digit. A
     * single dot and no other separator is a signed decimal ({@code +7799461.4119}, as {@code to_char} prints
     * one) unless it follows a country code of one to three digits ({@code +1.4155550123}, the EPP form).
     */
    private static boolean phone(byte[] b, int s, int e) {
        if (b[s] != '+' || s + 1 >= e || !isDigit(b[s + 1]) || b[s + 1] == '0') {
            return false;
        }
        int digits = 0;
        int dots = 0;
        int others = 0;
        int beforeDot = 0;
        int group = 0;
        int singles = 0;
        if (e - s > 2 * PHONE_SPAN) {
            return false; // more than 15 digits, or separators no number is written with
        }
        for (int i = s + 1; i <= e; i++) {
            byte c = i < e ? b[i] : (byte) ' ';
            if (!isDigit(c)) {
                singles += group == 1 ? 1 : 0;
                group = 0;
            }
            if (i == e) {
                break;
            }
            if (isDigit(c)) {
                digits++;
                group++;
            } else if (c == '.') {
                dots++;
                beforeDot = dots == 1 ? digits : beforeDot;
            } else if (c == ' ' || c == '-' || c == '(' || c == ')') {
                others++;
            } else {
                return false;
            }
        }
        boolean decimal = dots == 1 && others == 0 && beforeDot > 3;
        // Numbering plans group digits in twos to fours; the country code, and one more group at most, is a single
        // digit (+33 1 42 68 53 00). Digits spaced one by one are a formatted number (to_char's 9 9 9 . 9 9).
        return digits >= 8 && digits <= 15 && isDigit(b[e - 1]) && !decimal && singles <= 2;
    }

    /** The most bytes a phone number inside text may span: 15 digits, their separators and parentheses. */
    private static final int PHONE_SPAN = 40;

    /**
     * The first phone number inside text ({@code call +44 20 7946 0958 now}): splitting the text at spaces, as the
     * tokens are, would cut it into groups too short to be anything. From each '+' that follows no digit, the
     * longest run of digits and separators (at most {@link #PHONE_SPAN} bytes) that ends a digit group and that
     * {@link #phone} accepts; shorter runs are tried too, so digits written right after a number do not hide it.
     */
    private static Hit phoneRun(byte[] b, int s, int e) {
        for (int i = s; i + 9 <= e; i++) {
            if (b[i] == '+' && (i == s || !isDigit(b[i - 1]))) {
                Hit h = phoneAt(b, i, e);
                if (h != null) {
                    return h;
                }
            }
        }
        return null;
    }

    /** The phone number that starts with the '+' at {@code i}, if any (see {@link #phoneRun}). */
    private static Hit phoneAt(byte[] b, int i, int e) {
        if (i + 9 > e || !isDigit(b[i + 1]) || b[i + 1] == '0') {
            return null;
        }
        int end = i + 1;
        int limit = Math.min(e, i + PHONE_SPAN);
        while (end < limit && (isDigit(b[end]) || isPhoneSeparator(b[end]))) {
            end++;
        }
        for (int k = end; k >= i + 9; k--) {
            if (isDigit(b[k - 1]) && (k == e || !isDigit(b[k])) && phone(b, i, k)) {
                return new Hit("phone", i, k);
            }
        }
        return null;
    }

    private static boolean isPhoneSeparator(byte c) {
        return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')';
    }

    /** An IBAN written in groups of four ("DE89 3704 0044 0532 0130 00"): the whole value, spaces removed. */
    private static boolean groupedIban(byte[] b, int s, int e) {
        byte[] compact = new byte[e - s];
        int n = 0;
        for (int i = s; i < e; i++) {
            if (b[i] != ' ') {
                compact[n++] = b[i];
            }
        }
        return n >= 15 && n <= 34 && n < e - s && isUpper(compact[0]) && isUpper(compact[1]) && isDigit(compact[2])
                && isDigit(compact[3]) && iban(compact, 0, n);
    }

    /**
     * Where the IBAN printed in groups of four inside text ({@code paid to DE89 3704 0044 0532 0130 00.}) whose first
     * group is at {@code p} ends, or -1: single spaces, groups of four but the last, as many letters and digits as the
     * country's IBANs have, then no letter or digit. Reads at most 42 bytes.
     */
    private static int printedIbanEnd(byte[] b, int p, int e) {
        Integer expected = IBAN_LENGTHS.get(new String(b, p, 2, StandardCharsets.US_ASCII));
        if (expected == null) {
            return -1;
        }
        byte[] compact = new byte[expected];
        int n = 0;
        int i = p;
        while (true) {
            int group = 0;
            while (i < e && group < 4 && n < expected && (isUpper(b[i]) || isDigit(b[i]))) {
                compact[n++] = b[i++];
                group++;
            }
            if (n == expected) {
                break;
            }
            if (group != 4 || i + 1 >= e || b[i] != ' ') {
                return -1;
            }
            i++;
        }
        return (i == e || !isAlnum(b[i])) && iban(compact, 0, n) ? i : -1;
    }

    /** Country code with its IBAN length, then the ISO 13616 mod-97 check. */
    static boolean iban(byte[] b, int s, int e) {
        Integer expected = IBAN_LENGTHS.get(new String(b, s, 2, StandardCharsets.US_ASCII));
        if (expected == null || expected != e - s) {
            return false;
        }
        int mod = 0;
        for (int k = 0; k < e - s; k++) {
            byte c = b[s + (k + 4) % (e - s)];
            if (isDigit(c)) {
                mod = (mod * 10 + (c - '0')) % 97;
            } else if (isUpper(c)) {
                mod = (mod * 100 + (c - 'A' + 10)) % 97;
            } else {
                return false;
            }
        }
        return mod == 1;
    }

    // ---- tokens and keys ----------------------------------------------------------------------------------

    /**
     * The first key inside the token {@code b[s, e)} that starts at or after {@code from}. A key starts the token or
     * follows a byte that is no letter or digit, so keys glued by the punctuation base64, URLs, paths and lists hold
     * ({@code + / - _ . ~ & |}...) are each found, where a glued run was one token that no key's rule took (two AWS
     * keys joined by {@code +} or {@code /} passed in clear); the tail of a longer word ({@code xAKIA...}) is no key.
     * AWS keys and IBANs are a whole run of letters and digits; the others run from their prefix over their own
     * alphabet (a Slack token's dashes, a JWT's dots), so copies of one glued by those bytes are one span. With
     * {@code runsMayBeKeys}, a run of 32 letters and digits or more is tried by the high-entropy rule on its own: a
     * random key glued to other text, which dilutes the token's entropy. Each byte is read a bounded number of times
     * (see {@link #jwtEnd}).
     */
    private static Hit keyIn(byte[] b, int s, int from, int e, int end, boolean runsMayBeKeys, int on) {
        int p = from;
        while (p < e) {
            if (!isAlnum(b[p]) || p > s && isAlnum(b[p - 1])) {
                p++;
                continue;
            }
            int run = p + 1;
            while (run < e && isAlnum(b[run])) {
                run++;
            }
            int n = run - p;
            int next = run;
            Hit hit = null;
            if (n >= 4 && isUpper(b[p]) && isUpper(b[p + 1]) && isDigit(b[p + 2]) && isDigit(b[p + 3])
                    && (on & BIT_IBAN) != 0) {
                int printed = n == 4 && run < end && b[run] == ' ' ? printedIbanEnd(b, p, end) : -1;
                if (n >= 15 && n <= 34 && iban(b, p, run)) {
                    hit = new Hit("iban", p, run);
                } else if (printed > 0) {
                    hit = new Hit("iban", p, printed);
                }
            }
            switch (b[p]) {
                case 'A', 'a' -> {
                    if (n == 20 && (startsWithIgnoreCase(b, p, run, "AKIA") || startsWithIgnoreCase(b, p, run, "ASIA"))
                            && sameCase(b, p, run) && (on & BIT_AWS_KEY) != 0) {
                        hit = new Hit("aws_access_key", p, run);
                    }
                }
                case 'g' -> {
                    int tokenEnd = githubEnd(b, p, e);
                    if (tokenEnd > 0 && (on & BIT_GITHUB) != 0) {
                        hit = new Hit("github_token", p, tokenEnd);
                    }
                }
                case 'x' -> {
                    if (startsWith(b, p, e, "xox") && n == 4 && run < e && b[run] == '-' && "abprs".indexOf(b[p + 3]) >= 0) {
                        int t = alphabetEnd(b, run, e, (byte) '-');
                        if (t - p >= 15 && (on & BIT_SLACK) != 0) {
                            hit = new Hit("slack_token", p, t);
                        }
                    }
                }
                case 's', 'r' -> {
                    if (startsWith(b, p + 1, e, "k_live_")) {
                        int t = alphabetEnd(b, p + 8, e, (byte) 0);
                        if (t - p >= 24 && (on & BIT_STRIPE) != 0) {
                            hit = new Hit("stripe_key", p, t);
                        }
                    }
                }
                case 'e' -> {
                    if (startsWith(b, p, e, "eyJ") && (on & BIT_JWT) != 0) {
                        int t = jwtEnd(b, p, e);
                        if (t > 0) {
                            hit = new Hit("jwt", p, t);
                        } else {
                            next = Math.max(next, -t);
                        }
                    }
                }
                default -> {
                }
            }
            if (hit == null && n >= 32 && runsMayBeKeys && (on & BIT_HIGH_ENTROPY) != 0 && highEntropy(b, p, run)) {
                hit = new Hit("high_entropy", p, run); // a random key glued to text that dilutes the token's entropy
            }
            if (hit != null) {
                return hit;
            }
            p = next;
        }
        return null;
    }

    /** Where the letters and digits from {@code i} end, with {@code extra} as one more letter (0: none). */
    private static int alphabetEnd(byte[] b, int i, int e, byte extra) {
        while (i < e && (isAlnum(b[i]) || extra != 0 && b[i] == extra)) {
            i++;
        }
        return i;
    }

    /** The end of the GitHub token at {@code p}, or -1: {@code gh?_} and 36 letters and digits, or a fine-grained one. */
    private static int githubEnd(byte[] b, int p, int e) {
        if (startsWith(b, p, e, "github_pat_")) {
            int t = alphabetEnd(b, p + 11, e, (byte) '_');
            return t - p >= 11 + 22 ? t : -1;
        }
        if (p + 4 <= e && b[p + 1] == 'h' && b[p + 3] == '_' && "posur".indexOf(b[p + 2]) >= 0) {
            int t = alphabetEnd(b, p + 4, e, (byte) 0);
            return t - p >= 40 ? t : -1;
        }
        return -1;
    }

    /**
     * Where the JWT at {@code p} (which starts {@code eyJ}, a base64url {@code {"}) ends: its base64url parts and dots
     * run to the first byte that is neither; three parts or more (glued tokens, and an encrypted token's five, are one
     * span), a header of ten bytes and a payload of two. When it is none, the negative of where a JWT could start next:
     * past its header, or past the run when that has fewer than three parts (no start inside it has more), so each byte
     * of a run of {@code eyJ}s is read at most twice.
     */
    private static int jwtEnd(byte[] b, int p, int e) {
        int dots = 0;
        int firstDot = -1;
        int partStart = p;
        int i = p;
        for (; i < e && (isAlnum(b[i]) || b[i] == '-' || b[i] == '_' || b[i] == '.'); i++) {
            if (b[i] != '.' || dots >= 2) {
                continue;
            }
            if (i - partStart < (dots == 0 ? 10 : 2)) {
                return -(dots == 0 ? i : firstDot);
            }
            firstDot = dots == 0 ? i : firstDot;
            dots++;
            partStart = i + 1;
        }
        return dots == 2 ? i : -i;
    }

    private static Hit pem(byte[] b, int s, int e) {
        int from = s;
        while (true) {
            int begin = indexOf(b, from, e, "-----BEGIN ");
            if (begin < 0) {
                return null;
            }
            int header = indexOf(b, begin, Math.min(e, begin + 80), "PRIVATE KEY-----");
            if (header < 0) {
                from = begin + 1; // a certificate or public key first: a private key may follow it
                continue;
            }
            int endMarker = indexOf(b, header + 16, e, "-----END ");
            int stop = e;
            if (endMarker >= 0) {
                int close = indexOf(b, endMarker + 9, Math.min(e, endMarker + 80), "KEY-----");
                if (close >= 0) {
                    stop = close + 8;
                }
            }
            return new Hit("pem_private_key", begin, stop);
        }
    }


    /**
     * Whether a dot-separated piece of the token of at least 32 bytes is {@link #highEntropy}: keys and tokens
     * carry no dot inside their random part (JWTs have their own detector), while dotted names do
     * ({@code RowType.regression.testxmlschema.test1}, {@code //www.w3.org/2001/XMLSchema-instance}), and their
     * mixed case and digits are no randomness.
     */
    private static boolean highEntropySegment(byte[] b, int s, int e) {
        int start = s;
        for (int i = s; i <= e; i++) {
            if (i == e || b[i] == '.') {
                if (i - start >= 32 && highEntropy(b, start, i)) {
                    return true;
                }
                start = i + 1;
            }
        }
        return false;
    }

    static boolean highEntropy(byte[] b, int s, int e) {
        boolean digit = false;
        boolean upper = false;
        boolean lower = false;
        boolean hexOnly = true;
        boolean encoded = true;
        int[] counts = new int[256];
        for (int i = s; i < e; i++) {
            byte c = b[i];
            counts[c & 0xff]++;
            if (isDigit(c)) {
                digit = true;
            } else if (isUpper(c)) {
                upper = true;
                hexOnly &= c <= 'F';
            } else if (c >= 'a' && c <= 'z') {
                lower = true;
                hexOnly &= c <= 'f';
            } else if (c != '-') {
                hexOnly = false;
                encoded &= isBase64(c);
            }
        }
        // Only base64 (or base64url) repeats itself as encoded data does: a key glued to itself by other
        // punctuation (k~k) is a key.
        if (hexOnly || !(digit && upper && lower) || encoded && periodic(b, s, e)) {
            return false;
        }
        double n = e - s;
        double entropy = 0;
        for (int count : counts) {
            if (count > 0) {
                double p = count / n;
                entropy -= p * (Math.log(p) / Math.log(2));
            }
        }
        return entropy >= 4.0;
    }

    /** Whether the token is base64 or base64url bytes that repeat themselves ({@link #periodic}). */
    private static boolean repeatsAsEncoded(byte[] b, int s, int e) {
        for (int i = s; i < e; i++) {
            if (!isBase64(b[i])) {
                return false;
            }
        }
        return periodic(b, s, e);
    }

    private static boolean isBase64(byte c) {
        return isAlnum(c) || c == '+' || c == '/' || c == '-' || c == '_';
    }

    /**
     * Whether the token repeats itself: some period p with {@code b[i] == b[i + p]} over at least 16 bytes, that is a
     * border (a prefix that is also a suffix) of 16 bytes or more. That is encoded structured data (base64 of a
     * repeated byte pattern, a fill), never a random key: a random 16-byte coincidence has odds far below one in 2^64.
     * The longest border comes from the prefix function, in one pass: trying each period from the token's start took
     * a token of n bytes that repeats but for its last one ({@code aB1+aB1+...aB1+/}) n squared steps.
     */
    private static boolean periodic(byte[] b, int s, int e) {
        int[] border = new int[e - s]; // border[i]: the longest border of b[s, s + i]
        for (int i = 1, k = 0; i < e - s; i++) {
            while (k > 0 && b[s + i] != b[s + k]) {
                k = border[k - 1];
            }
            if (b[s + i] == b[s + k]) {
                k++;
            }
            border[i] = k;
        }
        return e - s > 0 && border[e - s - 1] >= 16;
    }

    // ---- bytes --------------------------------------------------------------------------------------------

    // Each byte's classes, read once per byte by the scanner's loops (a delimiter was a range test and a switch).
    private static final byte DELIMITER = 1;
    private static final byte DIGIT = 2;
    private static final byte UPPER = 4;
    private static final byte LOWER = 8;
    private static final byte[] CLASSES = new byte[256];

    static {
        for (int c = 0; c <= ' '; c++) {
            CLASSES[c] = DELIMITER;
        }
        for (char c : "\"',;:()[]{}<>\\=\u007f".toCharArray()) {
            CLASSES[c] = DELIMITER;
        }
        for (int c = '0'; c <= '9'; c++) {
            CLASSES[c] = DIGIT;
        }
        for (int c = 'A'; c <= 'Z'; c++) {
            CLASSES[c] = UPPER;
            CLASSES[c + ('a' - 'A')] = LOWER;
        }
    }

    private static boolean isDelimiter(byte c) {
        return (CLASSES[c & 0xFF] & DELIMITER) != 0;
    }

    private static boolean isSpace(byte c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
    }

    private static boolean isDigit(byte c) {
        return (CLASSES[c & 0xFF] & DIGIT) != 0;
    }

    private static boolean isUpper(byte c) {
        return (CLASSES[c & 0xFF] & UPPER) != 0;
    }

    private static boolean isLetter(byte c) {
        return (CLASSES[c & 0xFF] & (UPPER | LOWER)) != 0;
    }

    private static boolean isAlnum(byte c) {
        return (CLASSES[c & 0xFF] & (DIGIT | UPPER | LOWER)) != 0;
    }

    private static int num(byte[] b, int s, int n) {
        int v = 0;
        for (int k = 0; k < n; k++) {
            v = v * 10 + (b[s + k] - '0');
        }
        return v;
    }

    private static boolean startsWithIgnoreCase(byte[] b, int s, int e, String prefix) {
        if (e - s < prefix.length()) {
            return false;
        }
        for (int k = 0; k < prefix.length(); k++) {
            if (Character.toUpperCase((char) b[s + k]) != prefix.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    /** No upper-case letter next to a lower-case one: a key shouted or whispered whole, not a mixed word. */
    private static boolean sameCase(byte[] b, int s, int e) {
        boolean upper = false;
        boolean lower = false;
        for (int i = s; i < e; i++) {
            upper |= isUpper(b[i]);
            lower |= b[i] >= 'a' && b[i] <= 'z';
        }
        return !(upper && lower);
    }

    private static boolean startsWith(byte[] b, int s, int e, String prefix) {
        if (e - s < prefix.length()) {
            return false;
        }
        for (int k = 0; k < prefix.length(); k++) {
            if (b[s + k] != prefix.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    private static int indexOf(byte[] b, int s, int e, String needle) {
        outer:
        for (int i = s; i + needle.length() <= e; i++) {
            for (int k = 0; k < needle.length(); k++) {
                if (b[i + k] != needle.charAt(k)) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private static Map<String, Integer> ibanLengths() {
        String table = "AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BR29 CH21 CR22 CY28 CZ24 DE22 DK18 DO28 EE20 EG29 "
                + "ES24 FI18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HR21 HU28 IE22 IL23 IQ23 IS26 IT27 JO30 KW30 "
                + "KZ20 LB28 LC32 LI21 LT20 LU20 LV21 MC27 MD24 ME22 MK19 MR27 MT31 MU30 NL18 NO15 PK24 PL28 PS29 "
                + "PT25 QA29 RO24 RS22 SA24 SC31 SE24 SI19 SK24 SM27 TL23 TN24 TR26 UA29 VA22 VG24 XK20";
        Map<String, Integer> m = new HashMap<>();
        for (String entry : table.split(" ")) {
            m.put(entry.substring(0, 2), Integer.parseInt(entry.substring(2)));
        }
        return Map.copyOf(m);
    }
}
