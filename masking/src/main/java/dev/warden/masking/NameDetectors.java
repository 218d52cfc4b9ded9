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
