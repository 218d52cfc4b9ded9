package dev.warden.pg.message;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** {@code List.copyOf} rejects nulls, but a null element is how SQL NULL values are represented. */
final class ImmutableLists {
    private ImmutableLists() {
    }

    static <T> List<T> copyAllowingNulls(List<T> list) {
        return Collections.unmodifiableList(new ArrayList<>(list));
    }
}
