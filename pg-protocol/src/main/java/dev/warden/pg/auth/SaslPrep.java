package dev.warden.pg.auth;

import java.nio.charset.StandardCharsets;
import java.text.Normalizer;

/**
 * A practical subset of SASLprep (RFC 4013) for SCRAM passwords, mirroring what PostgreSQL does: map
 * non-ASCII spaces to a space, drop characters "commonly mapped to nothing", normalize to NFKC; if the
 * result has prohibited characters, use the password's raw UTF-8 bytes instead (PostgreSQL falls back the
 * same way when it stores the verifier). Not implemented: the unassigned-code-point and bidirectional
 * checks, so an exotic password mixing RTL and LTR text may be prepared differently from the server.
 */
final class SaslPrep {
    private SaslPrep() {
    }

    static byte[] prepare(String password) {
        if (isPrintableAscii(password)) {
            return password.getBytes(StandardCharsets.UTF_8);
        }
        StringBuilder mapped = new StringBuilder(password.length());
        for (int i = 0; i < password.length(); ) {
            int cp = password.codePointAt(i);
            i += Character.charCount(cp);
            if (isMappedToNothing(cp)) {
                continue;
            }
            mapped.appendCodePoint(isNonAsciiSpace(cp) ? ' ' : cp);
        }
        String normalized = Normalizer.normalize(mapped, Normalizer.Form.NFKC);
        if (normalized.isEmpty() || hasProhibited(normalized)) {
            return password.getBytes(StandardCharsets.UTF_8);
        }
        return normalized.getBytes(StandardCharsets.UTF_8);
    }

    private static boolean isPrintableAscii(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c > 0x7E) {
                return false;
            }
        }
        return true;
    }

    // RFC 3454 table B.1
    private static boolean isMappedToNothing(int cp) {
        return cp == 0x00AD || cp == 0x034F || cp == 0x1806 || (cp >= 0x180B && cp <= 0x180D)
                || (cp >= 0x200B && cp <= 0x200D) || cp == 0x2060 || (cp >= 0xFE00 && cp <= 0xFE0F)
                || cp == 0xFEFF;
    }

    // RFC 3454 table C.1.2
    private static boolean isNonAsciiSpace(int cp) {
        return cp == 0x00A0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200B) || cp == 0x202F || cp == 0x205F
                || cp == 0x3000;
    }

    // Approximates RFC 4013 section 2.3: controls, private use, surrogates, non-characters, tagging.
    private static boolean hasProhibited(String s) {
        return s.codePoints().anyMatch(cp -> {
            int type = Character.getType(cp);
            return type == Character.CONTROL || type == Character.PRIVATE_USE || type == Character.SURROGATE
                    || (cp & 0xFFFE) == 0xFFFE || (cp >= 0xFDD0 && cp <= 0xFDEF)
                    || (cp >= 0xE0001 && cp <= 0xE007F) || (cp >= 0x2FF0 && cp <= 0x2FFB)
                    || (cp >= 0x200E && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E)
                    || (cp >= 0x206A && cp <= 0x206F) || (cp >= 0xFFF9 && cp <= 0xFFFD);
        });
    }
}
