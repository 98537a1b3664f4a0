"""Several processes on one namespace, a SIGKILL mid-write, and a lock held too long
(CONTRACT.md, "Concurrency and durability"; issue 2, "Concurrency and crashes").

Each worker thread below runs cacheman processes one after another, so several cacheman processes
run at once; the thread only records exit codes and the monotonic times around each process, which
bound when its transaction can have happened.
"""
import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
import unittest

from harness import BIN, CachemanTestCase, is_sleeping


class Call:
    def __init__(self, args, start, end, code, err):
        self.args, self.start, self.end, self.code, self.err = args, start, end, code, err

    def __repr__(self):
        return "Call(%r, code=%r, err=%r)" % (self.args, self.code, self.err[:300])


class ConcurrencyTestCase(CachemanTestCase):
    def full_env(self, extra=None):
        env = dict(self.env)
        env.update(extra or {})
        return env

    def run_workers(self, scripts, env=None):
        """scripts: one list of argv lists per worker; the workers run at once, each running its
        commands in order. Returns one list of Call per worker."""
        results = [[] for _ in scripts]
        full_env = self.full_env(env)
        barrier = threading.Barrier(len(scripts))

        def work(i):
            barrier.wait()
            for args in scripts[i]:
                start = time.monotonic()
                proc = subprocess.run([BIN, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, env=full_env, cwd=self.tmp, timeout=120)
                results[i].append(Call(args, start, time.monotonic(), proc.returncode, proc.stderr))

        threads = [threading.Thread(target=work, args=(i,)) for i in range(len(scripts))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results

    def assert_all_succeeded(self, results):
        failed = [c for worker in results for c in worker if c.code != 0]
        self.assertEqual(failed, [], "concurrent commands must not fail")

    def keys(self, cache):
        r = self.ok("keys", cache)
        return set(r.out.decode().split("\n")[:-1]) if r.out else set()


class ParallelWriters(ConcurrencyTestCase):
    def test_eight_processes_writing_at_once(self):
        self.ok("set", "shared", "pre", "existing")
        scripts = []
        for w in range(8):
            scripts.append([("set", "shared", "w%d-k%02d" % (w, i), "value %d/%d" % (w, i))
                            for i in range(50)])
        results = self.run_workers(scripts)
        self.assert_all_succeeded(results)
        expected = {"w%d-k%02d" % (w, i) for w in range(8) for i in range(50)} | {"pre"}
        self.assertEqual(self.keys("shared"), expected)
        dump = self.ok("export", "shared").out.decode().splitlines()
        values = {json.loads(l)["key"]: json.loads(l)["value"] for l in dump}
        for w in range(8):
            for i in range(50):
                self.assertEqual(values["w%d-k%02d" % (w, i)], "value %d/%d" % (w, i))
        self.assertEqual(values["pre"], "existing")
        self.assertEqual(self.integrity(), "ok")

    def test_parallel_writers_creating_caches_and_edges(self):
        # Each worker creates its own caches and edges onto one shared root: schema changes race.
        scripts = []
        for w in range(6):
            script = []
            for i in range(8):
                script.append(("depend", "root", "w%d-c%d" % (w, i)))
                script.append(("set", "w%d-c%d" % (w, i), "k", "v"))
            scripts.append(script)
        results = self.run_workers(scripts)
        self.assert_all_succeeded(results)
        listed = {c["name"]: c for c in json.loads(self.ok("list", "--json").out)}
        self.assertEqual(len(listed), 1 + 6 * 8)
        self.assertEqual(len(listed["root"]["children"]), 6 * 8)
        for w in range(6):
            for i in range(8):
                self.assertEqual(self.get("w%d-c%d" % (w, i), "k"), b"v")
        self.assertEqual(self.integrity(), "ok")
        self.ok("invalidate", "root")
        self.assertEqual(sum(c["entries"] for c in json.loads(self.ok("list", "--json").out)), 0)


class WritersRacingInvalidators(ConcurrencyTestCase):
    CACHES = ["root", "mid", "leaf", "side"]  # root -> mid -> leaf ; root -> side

    def test_writers_and_invalidators(self):
        self.ok("depend", "root", "mid")
        self.ok("depend", "mid", "leaf")
        self.ok("depend", "root", "side")
        self.ok("set", "upstream", "k", "untouched")
        self.ok("depend", "upstream", "root")
        writers = []
        for w in range(4):
            script = []
            for i in range(25):
                cache = self.CACHES[(w + i) % len(self.CACHES)]
                script.append(("set", cache, "w%d-%03d" % (w, i), "%s:%d:%d" % (cache, w, i)))
            writers.append(script)
        invalidators = [[("invalidate", "root")] * 12, [("invalidate", "mid")] * 6 +
                        [("invalidate", "root", "somekey")] * 6]
        results = self.run_workers(writers + invalidators)
        self.assert_all_succeeded(results)
        self.assertEqual(self.integrity(), "ok")

        sets = {c.args[2]: c for worker in results[:4] for c in worker}
        invalidations = [c for worker in results[4:] for c in worker]
        root_invalidations = [c for c in invalidations if c.args[1] == "root"]
        last_start = max(c.start for c in root_invalidations)
        for cache in ["mid", "leaf", "side"]:
            # Every invalidation that clears this cache: any of root, and (for mid, leaf) of mid.
            clearing = root_invalidations + ([c for c in invalidations if c.args[1] == "mid"]
                                             if cache != "side" else [])
            last_end = max(c.end for c in clearing)
            present = self.keys(cache)
            for key, call in sets.items():
                if call.args[1] != cache:
                    continue
                if key in present:
                    # It survived every invalidation of root, so it cannot have been committed
                    # before the last one began.
                    self.assertGreater(call.end, last_start,
                                       "%s/%s was written before the last invalidate of root "
                                       "and survived it" % (cache, key))
                    self.assertEqual(self.get(cache, key), call.args[3].encode())
                elif call.start > last_end:
                    self.fail("%s/%s was written after the last invalidation and is lost" % (cache, key))
        # Whole-cache invalidations of root cleared root's own keys too.
        whole = [c for c in root_invalidations if len(c.args) == 2]
        whole_start = max(c.start for c in whole)
        whole_end = max(c.end for c in whole)
        root_keys = self.keys("root")
        for key in root_keys:
            self.assertGreater(sets[key].end, whole_start, key)
        for key, call in sets.items():
            if call.args[1] == "root" and call.start > whole_end:
                self.assertIn(key, root_keys, "written after the last invalidation and lost")
        self.assertEqual(self.get("upstream", "k"), b"untouched")
        self.assertEqual(sorted(self.sql("SELECT parent, child FROM depends")),
                         [("mid", "leaf"), ("root", "mid"), ("root", "side"), ("upstream", "root")])
        # The graph still cascades after the storm.
        self.ok("invalidate", "root")
        for cache in self.CACHES:
            self.assertEqual(self.keys(cache), set(), cache)


class KilledImport(ConcurrencyTestCase):
    LINES = 300_000

    def write_input(self):
        path = os.path.join(self.tmp, "big.jsonl")
        with open(path, "w") as f:
            for i in range(self.LINES):
                f.write('{"key": "imp%06d", "value": "value %d of the big import"}\n' % (i, i))
            f.write('{"key": "overwritten", "value": "new"}\n')
        return path

    def write_locked(self):
        """Whether another process holds the store's write lock (a transaction is under way)."""
        con = sqlite3.connect(self.store_path(), isolation_level=None, timeout=0)
        try:
            con.execute("BEGIN IMMEDIATE")
            con.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError as error:
            if "locked" not in str(error):
                raise
            return True
        finally:
            con.close()

    def test_sigkill_during_import(self):
        path = self.write_input()
        for attempt in range(8):
            # A fresh cache per attempt, holding entries from before the import.
            cache = "c%d" % attempt
            self.ok("set", cache, "pre", "existing")
            self.ok("set", cache, "overwritten", "old")
            self.ok("depend", cache, cache + "-child")
            proc = self.popen("import", cache, path, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            # Killed once its transaction holds the store's write lock: mid-write.
            self.wait_until(lambda: proc.poll() is not None or self.write_locked(),
                            what="the import to take the write lock")
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            _, err = proc.communicate()
            if proc.returncode == -signal.SIGKILL:
                break  # killed while it was running
            self.assertEqual(proc.returncode, 0, "import finished before the kill but failed: %r" % err)
        else:
            self.fail("import always finished before it could be killed")

        self.assertEqual(self.integrity(), "ok")
        keys = self.keys(cache)
        imported = {k for k in keys if k.startswith("imp")}
        self.assertIn(len(imported), (0, self.LINES), "the import must be all or nothing")
        self.assertEqual(self.get(cache, "pre"), b"existing")
        if imported:
            self.assertEqual(self.get(cache, "overwritten"), b"new")
            self.assertEqual(self.get(cache, "imp123456"), b"value 123456 of the big import")
        else:
            self.assertEqual(self.get(cache, "overwritten"), b"old")
            self.assertEqual(keys, {"pre", "overwritten"})
        # The store keeps working after the crash.
        self.ok("set", cache, "after", "crash")
        self.assertEqual(self.get(cache, "after"), b"crash")
        self.assertEqual(self.sql("SELECT parent, child FROM depends WHERE parent = '%s'" % cache),
                         [(cache, cache + "-child")])
        self.assertEqual(self.integrity(), "ok")


class Locks(ConcurrencyTestCase):
    def hold_write_lock(self):
        con = sqlite3.connect(self.store_path(), isolation_level=None, timeout=0)
        con.execute("BEGIN IMMEDIATE")
        return con

    def start_waiting_writer(self, *args, busy_timeout):
        """Starts a write while the lock is held; returns once it sleeps in SQLite's busy
        handler, waiting for the lock."""
        proc = self.popen(*args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env={"CACHEMAN_BUSY_TIMEOUT": busy_timeout})
        self.wait_until(lambda: proc.poll() is not None or is_sleeping(proc.pid),
                        what="%s to wait for the lock" % (args,))
        if proc.poll() is not None:
            self.fail("%s gave up at once: %r" % (args, proc.communicate()))
        return proc

    def test_lock_held_past_busy_timeout(self):
        self.ok("set", "c", "k", "before")
        con = self.hold_write_lock()
        try:
            # Two writers wait for the same lock; the one that started waiting first has the
            # longer busy timeout. Only if CACHEMAN_BUSY_TIMEOUT is honoured does the second
            # give up while the first still waits.
            patient = self.start_waiting_writer("set", "c", "k", "patient", busy_timeout="1d")
            r = self.fails(3, "set", "c", "k", "during", env={"CACHEMAN_BUSY_TIMEOUT": "300ms"})
            self.assertIsNone(patient.poll(), "the writer with a 1d busy timeout still waits")
        finally:
            con.rollback()
            con.close()
        self.assertRegex(r.errtext.lower(), r"lock|busy")
        out, err = patient.communicate(timeout=60)
        self.assertEqual((patient.returncode, out), (0, b""), err)
        self.assertEqual(self.get("c", "k"), b"patient", "the write that gave up changed nothing")
        self.assertEqual(self.integrity(), "ok")

    def test_other_writers_wait_for_lock_then_succeed(self):
        self.ok("set", "c", "k", "before")
        con = self.hold_write_lock()
        procs = []
        try:
            for i in range(3):
                procs.append(self.start_waiting_writer("set", "c", "k%d" % i, "v%d" % i,
                                                       busy_timeout="1d"))
            procs.append(self.start_waiting_writer("invalidate", "c", "k", busy_timeout="1d"))
            self.assertEqual([p.poll() for p in procs], [None] * 4, "writers wait for the lock")
        finally:
            con.rollback()
            con.close()
        for p in procs:
            out, err = p.communicate(timeout=30)
            self.assertEqual((p.returncode, out), (0, b""), err)
        self.assertEqual(self.ok("keys", "c").out, b"k0\nk1\nk2\n")


if __name__ == "__main__":
    unittest.main()
