package dev.warden.pg.message;

import java.util.AbstractList;
import java.util.List;
import java.util.RandomAccess;

/**
 * An immutable list of type OIDs kept as an {@code int[]}: four bytes each, as on the wire. A Parse may declare 65,535
 * of them, and a session may keep any number of named statements; as a {@code List<Integer>} each OID above 127
 * cost a 16-byte Integer and a reference, five times the wire bytes, in the heap every session shares (a helper's
 * pass, a135 F1: 400 Parse messages pinned 656 MB).
 */
final class OidList extends AbstractList<Integer> implements RandomAccess {

    private static final OidList EMPTY = new OidList(new int[0]);

    private final int[] oids;

    private OidList(int[] oids) {
        this.oids = oids;
    }

    /** {@code types} as an OidList (itself when it is one); a null element is an error, as List.copyOf's. */
    static OidList of(List<Integer> types) {
        if (types instanceof OidList o) {
            return o;
        }
        if (types.isEmpty()) {
            return EMPTY;
        }
        int[] oids = new int[types.size()];
        for (int i = 0; i < oids.length; i++) {
            oids[i] = types.get(i); // unboxing: a null throws, as List.copyOf does
        }
        return new OidList(oids);
    }

    /** Built from what the decoder read (the array is kept, not copied). */
    static OidList wrap(int[] oids) {
        return oids.length == 0 ? EMPTY : new OidList(oids);
    }

    @Override
    public Integer get(int index) {
        return oids[index];
    }

    /** The OID at {@code index}, unboxed. */
    int oid(int index) {
        return oids[index];
    }

    @Override
    public int size() {
        return oids.length;
    }
}
