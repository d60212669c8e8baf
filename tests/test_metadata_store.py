"""A SQLite metadata store left by a writer killed mid-transaction is recovered, not called damaged."""
import sqlite3
import subprocess
import sys

from tfxp_reports.metadata_store import check_store, sqlite_problem

WRITER = """
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("PRAGMA cache_size=1")  # pages spill to the file before the commit: the journal is hot
c.execute("BEGIN")
for i in range(2000):
    c.execute("INSERT INTO Artifact VALUES (?, ?)", (i, "x" * 200))
print("writing", flush=True)
time.sleep(120)
"""


def test_a_hot_journal_from_a_killed_writer_is_rolled_back_not_reported_as_damage(tmp_path):
    path = tmp_path / "metadata.sqlite"
    with sqlite3.connect(path) as connection:
        for table in ("Artifact", "Execution", "Context"):
            connection.execute(f"CREATE TABLE {table} (id INTEGER, v TEXT)")
        connection.execute("INSERT INTO Context VALUES (1, 'kept')")
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "writing"
    writer.kill()
    writer.wait()
    journal = tmp_path / "metadata.sqlite-journal"
    assert journal.stat().st_size > 0
    # What a read-only look sees, and why the check cannot stop there:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
            connection.execute("PRAGMA quick_check").fetchone()
        read_only_refused = False
    except sqlite3.OperationalError as err:
        read_only_refused = "readonly" in str(err)
    assert read_only_refused

    assert sqlite_problem(str(path)) is None
    check_store(str(path))
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        assert connection.execute("SELECT count(*) FROM Artifact").fetchone()[0] == 0  # the killed transaction
        assert connection.execute("SELECT v FROM Context").fetchall() == [("kept",)]  # what was committed


def test_a_file_that_is_not_sqlite_is_still_named_damaged(tmp_path):
    path = tmp_path / "metadata.sqlite"
    path.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 8)
    assert sqlite_problem(str(path)).startswith("is damaged")
