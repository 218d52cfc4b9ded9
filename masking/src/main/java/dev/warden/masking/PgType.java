package dev.warden.masking;

import java.util.HashMap;
import java.util.Map;

/**
 * The built-in PostgreSQL types masking knows, by OID: how a value is classed, and its array element type.
 * Domains need no entry: RowDescription reports a domain's base type.
 */
record PgType(int oid, String name, Kind kind, int elementOid) {

    enum Kind {
        TEXT, JSON, JSONB, XML, BYTEA, BOOL, CHAR, INT2, INT4, INT8, OID, FLOAT4, FLOAT8, NUMERIC, MONEY, DATE,
        TIME, TIMETZ, TIMESTAMP, TIMESTAMPTZ, INTERVAL, UUID, INET, CIDR, ARRAY, RECORD,
        /**
         * A built-in type whose input takes no free text (geometry, bit strings, ranges, text search, MAC addresses,
         * LSNs, transaction ids, the reg* names...): {@code [redacted]} is no value of it, so a masked one is NULL.
         */
        SCALAR, OTHER
    }

    static final int TEXT = 25;
    static final int VARCHAR = 1043;
    static final int BPCHAR = 1042;
    static final int INT4 = 23;
    static final int INT8 = 20;
    static final int JSON = 114;
    static final int JSONB = 3802;
    static final int RECORD = 2249;
    static final int BYTEA = 17;
    static final int NUMERIC = 1700;

    private static final Map<Integer, PgType> BY_OID = new HashMap<>();

    static {
        scalar(16, "bool", Kind.BOOL, 1000);
        scalar(17, "bytea", Kind.BYTEA, 1001);
        scalar(18, "char", Kind.CHAR, 1002);
        scalar(19, "name", Kind.TEXT, 1003);
        scalar(20, "int8", Kind.INT8, 1016);
        scalar(21, "int2", Kind.INT2, 1005);
        scalar(23, "int4", Kind.INT4, 1007);
        scalar(25, "text", Kind.TEXT, 1009);
        scalar(26, "oid", Kind.OID, 1028);
        scalar(114, "json", Kind.JSON, 199);
        scalar(142, "xml", Kind.XML, 143);
        scalar(650, "cidr", Kind.CIDR, 651);
        scalar(700, "float4", Kind.FLOAT4, 1021);
        scalar(701, "float8", Kind.FLOAT8, 1022);
        scalar(705, "unknown", Kind.TEXT, 0);
        scalar(790, "money", Kind.MONEY, 791);
        scalar(869, "inet", Kind.INET, 1041);
        scalar(1042, "bpchar", Kind.TEXT, 1014);
        scalar(1043, "varchar", Kind.TEXT, 1015);
        scalar(1082, "date", Kind.DATE, 1182);
        scalar(1083, "time", Kind.TIME, 1183);
        scalar(1114, "timestamp", Kind.TIMESTAMP, 1115);
        scalar(1184, "timestamptz", Kind.TIMESTAMPTZ, 1185);
        scalar(1186, "interval", Kind.INTERVAL, 1187);
        scalar(1266, "timetz", Kind.TIMETZ, 1270);
        scalar(1700, "numeric", Kind.NUMERIC, 1231);
        scalar(2950, "uuid", Kind.UUID, 2951);
        scalar(2249, "record", Kind.RECORD, 2287);
        scalar(3802, "jsonb", Kind.JSONB, 3807);
        // Built-in types no other kind covers whose text is not free text (pg_type of PostgreSQL 15, categories A, G,
        // N, R, U, V, Z): before, they were OTHER, and a masked one was sent as [redacted] in text format, which their
        // input refuses (attacker pass a140, F6); binary already gave NULL.
        int[][] noFreeText = {{22, 1006}, {30, 1013}, {600, 1017}, {601, 1018}, {602, 1019}, {603, 1020},
                {604, 1027}, {628, 629}, {718, 719}, {24, 1008}, {2202, 2207}, {2203, 2208}, {2204, 2209},
                {2205, 2210}, {2206, 2211}, {3734, 3735}, {3769, 3770}, {4089, 4090}, {4096, 4097}, {4191, 4192},
                {3904, 3905}, {3906, 3907}, {3908, 3909}, {3910, 3911}, {3912, 3913}, {3926, 3927}, {4451, 6150},
                {4532, 6151}, {4533, 6152}, {4534, 6153}, {4535, 6155}, {4536, 6157}, {27, 1010}, {28, 1011},
                {29, 1012}, {774, 775}, {829, 1040}, {1033, 1034}, {2970, 2949}, {3220, 3221}, {3614, 3643},
                {3615, 3645}, {3642, 3644}, {4072, 4073}, {5038, 5039}, {5069, 271}, {1560, 1561}, {1562, 1563},
                {194, 0}, {3361, 0}, {3402, 0}, {4600, 0}, {4601, 0}, {5017, 0}};
        for (int[] t : noFreeText) {
            scalar(t[0], "oid:" + t[0], Kind.SCALAR, t[1]);
        }
    }

    private static void scalar(int oid, String name, Kind kind, int arrayOid) {
        BY_OID.put(oid, new PgType(oid, name, kind, 0));
        if (arrayOid != 0) {
            BY_OID.put(arrayOid, new PgType(arrayOid, name + "[]", Kind.ARRAY, oid));
        }
    }

    /** The type for {@code oid}; unknown OIDs (user types, enums, extensions) are {@link Kind#OTHER}. */
    static PgType of(int oid) {
        PgType t = BY_OID.get(oid);
        return t != null ? t : new PgType(oid, "oid:" + oid, Kind.OTHER, 0);
    }

    static Iterable<PgType> known() {
        return BY_OID.values();
    }

    /** Values whose text is worth scanning: strings, JSON, XML, and arrays of them. */
    boolean textLike() {
        return switch (kind) {
            case TEXT, JSON, JSONB, XML -> true;
            case ARRAY -> of(elementOid).textLike();
            default -> false;
        };
    }

    /** A {@link Kind#SCALAR} type, or an array of one: its text has no span a masked value could replace. */
    boolean noFreeText() {
        return kind == Kind.SCALAR || kind == Kind.ARRAY && of(elementOid).kind == Kind.SCALAR;
    }

    /** Whole-row and container values: a masked one is replaced whole. */
    boolean container() {
        return kind == Kind.ARRAY || kind == Kind.RECORD || kind == Kind.JSON || kind == Kind.JSONB
                || kind == Kind.OTHER;
    }
}
