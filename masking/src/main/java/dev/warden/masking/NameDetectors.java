package dev.warden.masking;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Built-in detectors on the column name. A name is split into words at {@code _}, non-alphanumerics and
 * camelCase boundaries ({@code customerEmail} → {@code customer email}); a single-word keyword must equal
 * one word ({@code tel} matches {@code home_tel}, not {@code hotel}), a multi-word keyword must appear as
 * consecutive words ({@code date_of_birth}). Detectors are tried in a fixed order, so
 * {@code email_address} is an e-mail, not an address.
 */
final class NameDetectors {

    private static final Map<String, List<String>> KEYWORDS = new LinkedHashMap<>();

    static {
        KEYWORDS.put("email", List.of("email", "e_mail", "mail", "emailaddress"));
        KEYWORDS.put("ssn", List.of("ssn", "social_security", "socialsecurity"));
        KEYWORDS.put("passport", List.of("passport", "passport_no", "passportnumber"));
        KEYWORDS.put("iban", List.of("iban"));
        KEYWORDS.put("card", List.of("card", "card_number", "cardnumber", "pan", "credit_card", "creditcard",
                "cc_number", "ccnumber", "ccnum"));
        KEYWORDS.put("cvv", List.of("cvv", "cvc", "cvv2", "cvc2"));
        KEYWORDS.put("secret", List.of("password", "passwd", "pwd", "secret", "token", "api_key", "apikey",
                "access_key", "private_key", "client_secret", "password_hash"));
        KEYWORDS.put("phone", List.of("phone", "mobile", "tel", "telephone", "cellphone", "msisdn", "phonenumber"));
        KEYWORDS.put("dob", List.of("dob", "date_of_birth", "birth_date", "birthdate", "birthday"));
        KEYWORDS.put("address", List.of("address", "street", "postcode", "zip", "zipcode", "postal_code",
                "postalcode"));
    }

    /** The keywords as searched for, {@code _email_}: built once, not per column name. */
    private static final Map<String, List<String>> DELIMITED = new java.util.LinkedHashMap<>();

    static {
        KEYWORDS.forEach((detector, words) -> DELIMITED.put(detector,
                words.stream().map(w -> "_" + w + "_").toList()));
    }

    private NameDetectors() {
    }

    /** The detector whose keywords the column name contains, if any. */
    static Optional<String> detect(String columnName) {
        String words = "_" + words(columnName) + "_";
        for (Map.Entry<String, List<String>> e : DELIMITED.entrySet()) {
            for (String keyword : e.getValue()) {
                if (words.contains(keyword)) {
                    return Optional.of(e.getKey());
                }
            }
        }
        return Optional.empty();
    }

    /** Column names that say nothing alone, and hold a secret in a table named for one ({@code api_keys.key}). */
    private static final java.util.Set<String> GENERIC_COLUMNS = java.util.Set.of("key", "value", "val", "hash",
            "digest", "data", "raw", "payload", "blob", "encrypted", "ciphertext", "key_value");

    /** Table names (their words, plurals made singular) that say what their generic column holds is a secret. */
    private static final List<String> SECRET_TABLES = List.of("_api_key_", "_apikey_", "_access_key_",
            "_private_key_", "_secret_", "_client_secret_", "_token_", "_credential_", "_password_", "_passwd_");

    /**
     * The detector for {@code column} of {@code table} where the column's own name says nothing: {@code key},
     * {@code value} or {@code hash} of a table named for secrets ({@code api_keys}, {@code credentials},
     * {@code access_tokens}) is a secret. Value detection alone guarded {@code api_keys.key}, and {@code reverse(key)}
     * came out in clear (a helper's pass): a column a name detector matches is masked in whatever computes over it.
     */
    static Optional<String> detect(String table, String column) {
        Optional<String> own = detect(column);
        if (own.isPresent() || table == null || !GENERIC_COLUMNS.contains(words(column))) {
            return own;
        }
        StringBuilder singular = new StringBuilder("_");
        for (String word : words(table).split("_")) {
            singular.append(word.length() > 3 && word.endsWith("s") ? word.substring(0, word.length() - 1) : word)
                    .append('_');
        }
        String t = singular.toString();
        for (String keyword : SECRET_TABLES) {
            if (t.contains(keyword)) {
                return Optional.of("secret");
            }
        }
        return Optional.empty();
    }

    /** {@code customerEMail2} → {@code customer_e_mail_2}; {@code "Card-Number"} → {@code card_number}. */
    static String words(String name) {
        StringBuilder sb = new StringBuilder(name.length() + 8);
        char previous = '_';
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (!Character.isLetterOrDigit(c)) {
                c = '_';
            } else if (Character.isUpperCase(c) && Character.isLowerCase(previous)) {
                sb.append('_');
            } else if (Character.isDigit(c) != Character.isDigit(previous) && previous != '_') {
                sb.append('_');
            }
            if (c != '_' || (sb.length() > 0 && sb.charAt(sb.length() - 1) != '_')) {
                sb.append(c);
            }
            previous = c;
        }
        return sb.toString().toLowerCase(Locale.ROOT);
    }
}
