package dev.warden.proxy.demo;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * The demo schema and its fake people: {@code customers} (names, e-mails, phones, Luhn-valid card numbers, SSNs,
 * cities), {@code orders} and {@code api_keys} (AWS-style access keys). Rows come from a seeded random source so
 * every fresh demo shows the same data; none of it belongs to anyone.
 */
final class ShopSeed {

    static final int CUSTOMERS = 200;
    static final int ORDERS = 400;
    static final int API_KEYS = 20;

    private static final List<String> FIRST = List.of("Ann", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace",
            "Hiro", "Ines", "Jonas", "Kemi", "Liam", "Maya", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sami", "Tara",
            "Umar", "Vera", "Wen", "Ximena", "Yusuf", "Zoe");
    private static final List<String> LAST = List.of("Lee", "Okafor", "Novak", "Garcia", "Smith", "Tanaka",
            "Müller", "Rossi", "Khan", "Dubois", "Silva", "Cohen", "Larsen", "Nguyen", "Brown", "Kowalski");
    private static final List<String> DOMAINS = List.of("example.com", "mail.example.org", "example.net");
    private static final List<String> CITIES = List.of("Lisbon", "Austin", "Osaka", "Lagos", "Berlin", "Toronto",
            "Melbourne", "Bogotá", "Dublin", "Pune");
    private static final String KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

    private ShopSeed() {
    }

    /** Creates and fills the tables unless {@code customers} exists; returns whether it seeded. */
    static boolean seedIfEmpty(Connection c, long seed) throws SQLException {
        try (Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT to_regclass('public.customers') IS NOT NULL")) {
            rs.next();
            if (rs.getBoolean(1)) {
                return false;
            }
        }
        boolean autoCommit = c.getAutoCommit();
        c.setAutoCommit(false);
        try {
            createTables(c);
            Random random = new Random(seed);
            insertCustomers(c, random);
            insertOrders(c, random);
            insertApiKeys(c, random);
            c.commit();
        } catch (SQLException | RuntimeException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(autoCommit);
        }
        return true;
    }

    private static void createTables(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email text NOT NULL, "
                    + "phone text, card_number text, ssn text, city text)");
            s.execute("CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL REFERENCES customers, "
                    + "total numeric(10,2) NOT NULL, created_at timestamptz NOT NULL)");
            s.execute("CREATE TABLE api_keys (id int PRIMARY KEY, owner text NOT NULL, key text NOT NULL)");
        }
    }

    private static void insertCustomers(Connection c, Random random) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?)")) {
            for (int id = 1; id <= CUSTOMERS; id++) {
                String first = pick(random, FIRST);
                String last = pick(random, LAST);
                ps.setInt(1, id);
                ps.setString(2, first + " " + last);
                ps.setString(3, emailLocalPart(first, last, id) + "@" + pick(random, DOMAINS));
                ps.setString(4, String.format(Locale.ROOT, "+1%03d555%04d", 200 + random.nextInt(700),
                        random.nextInt(10_000)));
                ps.setString(5, cardNumber(random));
                ps.setString(6, String.format(Locale.ROOT, "%03d-%02d-%04d", ssnArea(random),
                        1 + random.nextInt(99), 1 + random.nextInt(9999)));
                ps.setString(7, pick(random, CITIES));
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    private static void insertOrders(Connection c, Random random) throws SQLException {
        Instant start = Instant.parse("2025-01-01T00:00:00Z");
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO orders VALUES (?, ?, ?, ?)")) {
            for (int id = 1; id <= ORDERS; id++) {
                ps.setInt(1, id);
                ps.setInt(2, 1 + random.nextInt(CUSTOMERS));
                ps.setBigDecimal(3, BigDecimal.valueOf(500 + random.nextInt(49_500), 2));
                ps.setTimestamp(4, Timestamp.from(start.plus(Duration.ofMinutes(random.nextInt(500_000)))));
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    private static void insertApiKeys(Connection c, Random random) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO api_keys VALUES (?, ?, ?)")) {
            for (int id = 1; id <= API_KEYS; id++) {
                StringBuilder key = new StringBuilder("AKIA");
                for (int i = 0; i < 16; i++) {
                    key.append(KEY_ALPHABET.charAt(random.nextInt(KEY_ALPHABET.length())));
                }
                ps.setInt(1, id);
                ps.setString(2, "svc-" + pick(random, List.of("billing", "search", "mailer", "reports")) + "-" + id);
                ps.setString(3, key.toString());
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    private static String emailLocalPart(String first, String last, int id) {
        String ascii = (first + "." + last).toLowerCase(Locale.ROOT).replace("ü", "ue");
        return id % 3 == 0 ? ascii + id : ascii;
    }

    /** Visa (4, 16 digits), Mastercard (51–55, 16) or Amex (34/37, 15), with a valid Luhn check digit. */
    static String cardNumber(Random random) {
        String prefix;
        int length;
        switch (random.nextInt(3)) {
            case 0 -> {
                prefix = "4";
                length = 16;
            }
            case 1 -> {
                prefix = Integer.toString(51 + random.nextInt(5));
                length = 16;
            }
            default -> {
                prefix = random.nextBoolean() ? "34" : "37";
                length = 15;
            }
        }
        StringBuilder digits = new StringBuilder(prefix);
        while (digits.length() < length - 1) {
            digits.append(random.nextInt(10));
        }
        return digits.append(luhnCheckDigit(digits)).toString();
    }

    /** The digit that makes {@code body + digit} pass the Luhn check. */
    static int luhnCheckDigit(CharSequence body) {
        int sum = 0;
        boolean twice = true; // the rightmost body digit is doubled once the check digit is appended
        for (int i = body.length() - 1; i >= 0; i--) {
            int d = body.charAt(i) - '0';
            if (twice) {
                d *= 2;
                if (d > 9) {
                    d -= 9;
                }
            }
            sum += d;
            twice = !twice;
        }
        return (10 - sum % 10) % 10;
    }

    /** Area numbers 001–899 except 666, as issued. */
    private static int ssnArea(Random random) {
        int area = 1 + random.nextInt(899);
        return area == 666 ? 667 : area;
    }

    private static <T> T pick(Random random, List<T> items) {
        return items.get(random.nextInt(items.size()));
    }
}
