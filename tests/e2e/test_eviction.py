"""A store that stays within its size (issue 10): create --max-entries/--max-bytes evict the least
recently used entries after each write; gc removes expired entries, applies the limits, a
namespace-wide bound, and gives the space back to the file system."""
import json
import os
import signal
import sqlite3
import subprocess
import threading
import unittest

from harness import SCHEMA_VERSION, CachemanTestCase


class Limits(CachemanTestCase):
    def keys(self, cache):
        return self.ok("keys", cache).text.split()

    def test_max_entries_holds_after_set_import_and_run(self):
        self.ok("create", "--max-entries", "2", "c")
        for key in ("k1", "k2", "k3"):
            self.ok("set", "c", key, "v")
        self.assertEqual(self.keys("c"), ["k2", "k3"])
        lines = "".join(json.dumps({"key": "i%d" % i, "value": "v"}) + "\n" for i in range(5))
        self.ok("import", "c", input=lines.encode())
        self.assertEqual(len(self.keys("c")), 2)
        self.ok("create", "--max-entries", "1", "runs")
        self.ok("run", "--cache", "runs", "--", "echo", "one")
        self.ok("run", "--cache", "runs", "--", "echo", "two")
        self.assertEqual(len(self.keys("runs")), 1)
        self.assertEqual(self.ok("run", "--cache", "runs", "--", "echo", "two").out, b"two\n")

    def test_recent_lookups_keep_an_entry(self):
        self.ok("create", "--max-entries", "3", "c")
        for key in ("a", "b", "c"):
            self.ok("set", "c", key, "v")
        self.assertEqual(self.get("c", "a"), b"v")
        self.ok("set", "c", "d", "v")
        self.assertEqual(self.keys("c"), ["a", "c", "d"])

    def test_max_bytes_and_show(self):
        self.ok("create", "--max-bytes", "1K", "c")
        self.ok("set", "c", "a", "x" * 600)
        self.ok("set", "c", "b", "x" * 600)
        self.assertEqual(self.keys("c"), ["b"])
        show = self.ok("show", "c").text
        self.assertIn("max_entries     -\n", show)
        self.assertIn("max_bytes       1K\n", show)
        shown = json.loads(self.ok("--json", "show", "c").text)
        self.assertEqual((shown["max_entries"], shown["max_bytes"]), (None, 1024))
        self.assertIn("autosync_checks", shown)  # the existing members stay

    def test_empty_removes_a_limit(self):
        self.ok("create", "--max-entries", "1", "--max-bytes", "2M", "c")
        self.ok("create", "--max-entries", "", "c")
        shown = json.loads(self.ok("--json", "show", "c").text)
        self.assertEqual((shown["max_entries"], shown["max_bytes"]), (None, 2 * 1024 * 1024))
        for key in ("a", "b", "c"):
            self.ok("set", "c", key, "v")
        self.assertEqual(len(self.keys("c")), 3)

    def test_eviction_keeps_dependents_and_is_not_logged(self):
        self.ok("depend", "c", "child")
        self.ok("set", "child", "k", "derived")
        self.ok("create", "--max-entries", "1", "c")
        self.ok("set", "c", "a", "1")
        self.ok("set", "c", "b", "2")
        self.assertEqual(self.get("child", "k"), b"derived")
        self.assertEqual(self.ok("--json", "log").text.strip(), "[]")

    def test_bad_sizes_and_counts_are_usage_errors(self):
        for bad in ("0", "-1", "1.5M", "10X", "M", "1 K", "abc"):
            self.fails(2, "create", "--max-bytes", bad, "c")
            self.fails(2, "gc", "--max-bytes", bad)
        for bad in ("0", "-3", "2K", "x"):
            self.fails(2, "create", "--max-entries", bad, "c")
        self.assertFalse(os.path.exists(self.store_path()))
        for good in ("512K", "100m", "2GiB", "3tb", "1000"):
            self.ok("create", "--max-bytes", good, "c")

    def test_volatile_caches_are_limited(self):
        self.env["CACHEMAN_RUNTIME_DIR"] = os.path.join(self.tmp, "runtime")
        self.ok("create", "--volatile", "--max-entries", "2", "v")
        for key in ("a", "secret-key", "z"):
            self.ok("set", "v", key, "v")
        self.assertEqual(self.keys("v"), ["secret-key", "z"])
        self.assertEqual(self.get("v", "secret-key"), b"v")
        self.ok("set", "v", "new", "v")
        self.assertEqual(self.keys("v"), ["new", "secret-key"])  # its use was counted
        self.assertEqual(self.get("v", "secret-key"), b"v")
        # The keys of a volatile cache never reach persistent disk, not even in the counts.
        for name in os.listdir(self.dir):
            with open(os.path.join(self.dir, name), "rb") as f:
                self.assertNotIn(b"secret-key", f.read(), name)
        self.assertEqual(self.ok("stats", "v").text.split("\t")[3], "2")  # hits


class Gc(CachemanTestCase):
    def test_output_and_json_shape(self):
        self.assertEqual(self.ok("gc").out, b"removed 0 entries, 0 bytes\n")
        self.assertEqual(json.loads(self.ok("--json", "gc").text), {"entries": 0, "bytes": 0})

    def test_removes_expired_entries_and_shrinks_the_file(self):
        self.set_now(self.CLOCK_START)
        big = b"x" * 100_000
        for i in range(40):
            self.ok("set", "--ttl", "1m", "c", "k%d" % i, input=big)
        self.ok("set", "c", "keep", "v")
        before = os.path.getsize(self.store_path())
        self.set_now(self.CLOCK_START + 120)
        removed = json.loads(self.ok("--json", "gc").text)
        self.assertEqual(removed, {"entries": 40, "bytes": 40 * 100_000})
        self.assertLess(os.path.getsize(self.store_path()), before / 4)
        self.assertEqual(self.get("c", "keep"), b"v")
        self.assertEqual(self.integrity(), "ok")
        # Again, with a small free list (incremental vacuum).
        for i in range(10):
            self.ok("set", "c", "n%d" % i, input=big)
        grown = os.path.getsize(self.store_path())
        self.ok("del", "c", *["n%d" % i for i in range(10)])
        self.ok("gc")
        self.assertLess(os.path.getsize(self.store_path()), grown / 2)
        self.assertEqual(self.get("c", "keep"), b"v")

    def test_a_reader_in_an_older_snapshot_neither_blocks_nor_breaks_gc(self):
        for i in range(20):
            self.ok("set", "c", "k%d" % i, input=b"x" * 50_000)
        reader = sqlite3.connect(self.store_path(), isolation_level=None)
        try:
            reader.execute("BEGIN")
            self.assertEqual(reader.execute('SELECT count(*) FROM "cache_1"').fetchone(), (20,))
            self.ok("del", "c", *["k%d" % i for i in range(19)])
            self.assertEqual(json.loads(self.ok("--json", "gc").text), {"entries": 0, "bytes": 0})
            self.assertEqual(json.loads(self.ok("--json", "gc", "--max-bytes", "1").text),
                             {"entries": 1, "bytes": 50_000})
            # The reader still sees its snapshot, whole.
            self.assertEqual(reader.execute('SELECT count(*), sum(length(value)) FROM '
                                            '"cache_1"').fetchone(), (20, 20 * 50_000))
            reader.execute("COMMIT")
        finally:
            reader.close()
        self.assertEqual(self.integrity(), "ok")
        self.assertEqual(self.ok("keys", "c").text, "")
        self.ok("set", "c", "again", "v")
        self.assertEqual(self.get("c", "again"), b"v")

    def test_max_bytes_across_caches(self):
        for cache in ("a", "b"):
            for i in range(3):
                self.ok("set", cache, "k%d" % i, input=b"x" * 1000)
        self.assertEqual(self.get("a", "k0"), b"x" * 1000)  # a use: kept
        removed = json.loads(self.ok("--json", "gc", "--max-bytes", "2000").text)
        self.assertEqual(removed, {"entries": 4, "bytes": 4000})
        self.assertEqual(self.ok("keys", "a").text, "k0\n")
        self.assertEqual(self.ok("keys", "b").text, "k2\n")

    def test_volatile_caches(self):
        self.env["CACHEMAN_RUNTIME_DIR"] = os.path.join(self.tmp, "runtime")
        self.set_now(self.CLOCK_START)
        self.ok("create", "--volatile", "v")
        self.ok("set", "--ttl", "1m", "v", "old", "1")
        self.ok("set", "v", "new", "2")
        self.set_now(self.CLOCK_START + 120)
        self.assertEqual(self.ok("gc").text, "removed 1 entry, 1 bytes\n")
        self.assertEqual(self.ok("keys", "v").text, "new\n")
        self.ok("gc", "--max-bytes", "1")
        self.assertEqual(self.ok("keys", "v").text, "new\n")
        self.ok("set", "v", "newer", "22")
        self.ok("gc", "--max-bytes", "2")
        self.assertEqual(self.ok("keys", "v").text, "newer\n")


class GcConcurrency(CachemanTestCase):
    def test_writers_during_gc_lose_nothing(self):
        self.set_now(self.CLOCK_START)
        for i in range(30):
            self.ok("set", "--ttl", "1m", "c", "old%d" % i, input=b"x" * 20_000)
        self.set_now(self.CLOCK_START + 120)
        done = threading.Event()
        failures = []

        def collect():
            try:
                for _ in range(5):
                    r = self.cm("gc")
                    if r.code != 0:
                        failures.append(r)
            finally:
                done.set()

        thread = threading.Thread(target=collect)
        thread.start()
        written = []
        while not done.is_set() or len(written) < 5:
            key = "new%d" % len(written)
            self.ok("set", "c", key, key)
            written.append(key)
        thread.join()
        self.assertEqual(failures, [])
        self.assertEqual(self.ok("keys", "c").text.split(), sorted(written))
        self.assertEqual(self.integrity(), "ok")

    def test_a_killed_gc_loses_nothing_it_was_not_removing(self):
        for trial in range(3):
            self.set_now(self.CLOCK_START)
            for i in range(40):
                self.ok("set", "--ttl", "1m", "c", "old%d" % i, input=b"x" * 50_000)
            self.ok("set", "c", "keep", "v")
            self.set_now(self.CLOCK_START + 120)
            proc = self.popen("gc", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wal = os.path.realpath(self.store_path() + "-wal")

            def opened_the_store():
                if proc.poll() is not None:
                    return True  # it finished first (a zombie lists no descriptors)
                try:
                    return any(os.path.realpath("/proc/%d/fd/%s" % (proc.pid, fd)) == wal
                               for fd in os.listdir("/proc/%d/fd" % proc.pid))
                except (FileNotFoundError, ProcessLookupError):
                    return proc.poll() is not None

            self.wait_until(opened_the_store, what="gc to open the store")
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            self.assertEqual(self.ok("check").text, "integrity: ok\nschema version: %d\n" % SCHEMA_VERSION, trial)
            self.assertEqual(self.get("c", "keep"), b"v")
            left = json.loads(self.ok("--json", "gc").text)
            self.assertEqual(left["bytes"], left["entries"] * 50_000)
            self.assertEqual(self.ok("keys", "c").text, "keep\n")
            self.ok("drop", "c")


class Migration(CachemanTestCase):
    def entries_tables(self, con):
        return [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'cache_*'")]

    def downgrade_to_v6(self):
        """Turns the store into the layout of schema version 6: values only in their rows."""
        con = sqlite3.connect(self.store_path())
        try:
            for table in self.entries_tables(con):
                con.execute('ALTER TABLE "%s" DROP COLUMN value_content' % table)
            con.execute("PRAGMA user_version = 6")
            con.commit()
        finally:
            con.close()

    def downgrade_to_v3(self):
        """Turns the store into the layout of schema version 3: no limits, no use clock, no
        contents, entries tables (key, expires, value)."""
        self.downgrade_to_v6()
        con = sqlite3.connect(self.store_path())
        try:
            for table in self.entries_tables(con):
                con.execute('ALTER TABLE "%s" DROP COLUMN used' % table)
            con.execute("ALTER TABLE caches DROP COLUMN max_entries")
            con.execute("ALTER TABLE caches DROP COLUMN max_bytes")
            con.execute("DROP TABLE use_clock")
            for table in ("content_refs", "content_chunks", "contents"):  # version 6's
                con.execute("DROP TABLE %s" % table)
            con.execute("PRAGMA user_version = 3")
            con.commit()
        finally:
            con.close()

    def test_a_version_3_store_is_migrated_and_its_entries_are_oldest(self):
        self.ok("set", "c", "z-old", "1")
        self.ok("set", "c", "y-old", "2")
        self.downgrade_to_v3()
        self.assertEqual(self.sql("PRAGMA user_version"), [(3,)])
        self.assertEqual(self.get("c", "z-old"), b"1")  # a reader migrates, keeps the data
        self.assertEqual(self.sql("PRAGMA user_version"), [(SCHEMA_VERSION,)])
        self.ok("set", "c", "a-new", "3")
        self.ok("create", "--max-entries", "2", "c")
        # The entries from before the migration were used least recently, whatever their keys,
        # but for z-old, which the get above used.
        self.assertEqual(self.ok("keys", "c").text, "a-new\nz-old\n")
        self.assertEqual(self.ok("check").text, "integrity: ok\nschema version: %d\n" % SCHEMA_VERSION)
        self.assertEqual(json.loads(self.ok("--json", "gc").text), {"entries": 0, "bytes": 0})

    def test_a_version_6_store_is_migrated_and_takes_large_values(self):
        self.ok("set", "c", "small", "1")
        self.downgrade_to_v6()
        large = os.urandom(3 << 20)
        self.ok("set", "c", "large", input=large)  # a writer migrates, then stores a content
        self.assertEqual(self.sql("PRAGMA user_version"), [(SCHEMA_VERSION,)])
        self.assertEqual(self.get("c", "small"), b"1")
        self.assertEqual(self.get("c", "large"), large)
        self.assertEqual(self.ok("check").text, "integrity: ok\nschema version: %d\n" % SCHEMA_VERSION)


if __name__ == "__main__":
    unittest.main()
