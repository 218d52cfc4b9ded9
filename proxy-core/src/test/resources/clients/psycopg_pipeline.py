"""psycopg 3 pipeline mode through Warden: 50 queries in flight, then an error in mid-pipeline that recovers.

Usage: python3 psycopg_pipeline.py CONNINFO   (the password in PGPASSWORD). Prints one line per check.
"""
import sys

import psycopg

with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    cursors = []
    with conn.pipeline():
        for i in range(1, 51):
            cur = conn.cursor()
            cur.execute("SELECT id, email FROM pipeline_people WHERE id = %s", (i,))
            cursors.append(cur)
    rows = [c.fetchone() for c in cursors]
    print("rows", len(rows), "ids", ",".join(str(r[0]) for r in rows[:3]))
    print("clear emails", sum(1 for r in rows if r[1] == "user%d@example.com" % r[0]))

    try:
        with conn.pipeline():
            a = conn.cursor()
            a.execute("SELECT 1")
            b = conn.cursor()
            b.execute("SELECT 1 / (%s - 1)", (1,))
            c = conn.cursor()
            c.execute("SELECT 2")
        print("no error")
    except psycopg.errors.DivisionByZero:
        print("error division_by_zero")

    with conn.pipeline():
        d = conn.cursor()
        d.execute("SELECT id, email FROM pipeline_people WHERE id = %s", (7,))
    row = d.fetchone()
    print("after error", row[0], "clear" if row[1] == "user7@example.com" else "masked")
