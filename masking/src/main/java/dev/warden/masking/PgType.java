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
        TIME, TIMETZ, TIMESTAMP, TIMESTAMPTZ, INTERVAL, UUID, INET, CIDR, ARRAY, RECORD, OTHER
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

    /** Whole-row and container values: a masked one is replaced whole. */
    boolean container() {
        return kind == Kind.ARRAY || kind == Kind.RECORD || kind == Kind.JSON || kind == Kind.JSONB
                || kind == Kind.OTHER;
    }
}
