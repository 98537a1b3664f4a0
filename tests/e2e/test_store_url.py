"""The shared store (CONTRACT.md "The shared store (PostgreSQL)"): choosing it with --store or
CACHEMAN_STORE, what is refused before anything connects, and (with a test server: ctest starts
one and sets CACHEMAN_PG_TEST_URL) two machines sharing one cache graph."""
import json
import os
import shutil
import subprocess
import unittest
import uuid

from harness import BIN, CachemanTestCase, psql, server_database

SERVER = os.environ.get("CACHEMAN_PG_TEST_URL")


def with_user(url, user):
    """The URL with another user (the test server trusts every role on its socket)."""
    prefix, _, rest = url.partition("://")
    _, _, host_and_path = rest.rpartition("@")
    return "%s://%s@%s" % (prefix, user, host_and_path)
NEEDS_SERVER = unittest.skipUnless(SERVER, "no test server (CACHEMAN_PG_TEST_URL)")


class ChoosingTheStore(CachemanTestCase):
    def refused(self, *args, env=None):
        result = self.cm(*args, env=env)
        self.assertEqual(result.code, 2, result)
        self.assertEqual(len(result.errtext.splitlines()), 1, result)
        return result.errtext

    def test_a_url_with_a_password_is_refused_before_any_connection(self):
        for url in ("postgresql://alice:s3cret@db.example.com/ci",
                    "postgres://alice:s3cret@/ci?host=/nowhere",
                    "postgresql:///ci?host=/nowhere&password=s3cret"):
            with self.subTest(url=url):
                message = self.refused("--store", url, "get", "c", "k")
                self.assertNotIn("s3cret", message)
                for way in ("PGPASSFILE", ".pgpass", "PGPASSWORD", "service", "certificate"):
                    self.assertIn(way, message)
                message = self.refused("get", "c", "k", env={"CACHEMAN_STORE": url})
                self.assertNotIn("s3cret", message)

    def test_store_and_dir_together_are_a_usage_error(self):
        message = self.refused("--store", "postgresql:///ci?host=/nowhere", "--dir", self.dir,
                               "get", "c", "k")
        self.assertIn("--store", message)
        self.assertIn("--dir", message)

    def test_an_explicit_dir_wins_over_cacheman_store(self):
        self.ok("--dir", self.dir, "set", "c", "k", "v",
                env={"CACHEMAN_STORE": "postgresql:///ci?host=/nowhere"})
        self.assertEqual(self.ok("--dir", self.dir, "get", "c", "k").out, b"v")

    def test_what_is_not_a_postgresql_url_is_refused_without_echoing_it(self):
        for store in ("mysql://h/db", "host=db password=s3cret", "/var/cache/x",
                      "postgresql://ci@h/db?%70assword=s3cret"):
            with self.subTest(store=store):
                self.assertNotIn("s3cret", self.refused("--store", store, "get", "c", "k"))

    def test_without_the_engine_program_the_store_error_says_what_to_install(self):
        alone = os.path.join(self.tmp, "alone")
        os.makedirs(alone)
        shutil.copy(BIN, os.path.join(alone, "cacheman"))
        proc = subprocess.run([os.path.join(alone, "cacheman"), "--store",
                               "postgresql:///ci?host=/nowhere", "get", "c", "k"],
                              env={"PATH": alone, "HOME": self.tmp}, capture_output=True)
        self.assertEqual(proc.returncode, 3, proc)
        self.assertIn(b"cacheman-postgresql", proc.stderr)

    def test_an_unreachable_server_is_exit_3_naming_the_store(self):
        socket_dir = os.path.join(self.tmp, "no-server")
        os.makedirs(socket_dir)
        result = self.cm("--store", "postgresql://ci@/builds?host=%s&port=1" % socket_dir,
                         "set", "c", "k", "v")
        self.assertEqual(result.code, 3, result)
        self.assertEqual(len(result.errtext.splitlines()), 1, result)
        self.assertIn("ci@%s:1/builds" % socket_dir, result.errtext)


@NEEDS_SERVER
class TwoMachines(CachemanTestCase):
    """Two "machines": processes with different HOMEs and checkouts, one server."""

    def setUp(self):
        super().setUp()
        self.env.pop("CACHEMAN_DIR")
        self.env["CACHEMAN_STORE"] = SERVER
        self.env["CACHEMAN_NAMESPACE"] = "e2e-" + uuid.uuid4().hex
        self.homes = [os.path.join(self.tmp, "home-a"), os.path.join(self.tmp, "home-b")]

    def on(self, machine, *args, **kwargs):
        return self.cm(*args, env={"HOME": self.homes[machine]}, **kwargs)

    def test_values_written_on_one_machine_are_read_on_the_other(self):
        self.assertEqual(self.on(0, "set", "c", "k", "v").code, 0)
        got = self.on(1, "get", "c", "k")
        self.assertEqual((got.code, got.out), (0, b"v"), got)
        self.assertEqual(self.on(1, "keys", "c").out, b"k\n")

    def test_lookups_on_every_machine_are_counted_on_the_server(self):
        self.assertEqual(self.on(0, "set", "c", "k", "v").code, 0)
        self.assertEqual(self.on(0, "set", "--ttl", "1ms", "c", "short", "v").code, 0)
        for machine in (0, 1):
            self.assertEqual(self.on(machine, "get", "c", "k").out, b"v")
            self.assertEqual(self.on(machine, "get", "c", "missing").code, 1)
        self.wait_until(lambda: self.on(1, "get", "c", "short").code == 1,
                        what="the 1 ms entry to expire by the server's clock")
        self.assertEqual(self.on(1, "get", "nosuch", "k").code, 1)  # not a cache: not counted
        stats = json.loads(self.on(1, "--json", "stats").text)
        (c,) = [entry for entry in stats if entry["name"] == "c"]
        self.assertEqual(c["hits"], 2, stats)
        self.assertGreaterEqual(c["misses"], 3, stats)  # the expiry may have taken a few looks
        self.assertNotIn("nosuch", [entry["name"] for entry in stats])

    def test_an_invalidation_on_one_machine_clears_the_dependents_everywhere(self):
        for cache in ("root", "mid", "leaf"):
            self.assertEqual(self.on(0, "set", cache, "k", cache).code, 0)
        self.assertEqual(self.on(0, "depend", "root", "mid").code, 0)
        self.assertEqual(self.on(0, "depend", "mid", "leaf").code, 0)
        cleared = self.on(1, "invalidate", "root")
        self.assertEqual(cleared.code, 0, cleared)
        for cache in ("root", "mid", "leaf"):
            self.assertEqual(self.on(0, "get", cache, "k").code, 1, cache)

    def test_a_step_memoized_on_one_checkout_replays_with_its_outputs_on_another(self):
        checkouts = [os.path.join(self.tmp, "runner-a", "work", "x"),
                     os.path.join(self.tmp, "builds", "x")]
        for checkout in checkouts:
            os.makedirs(checkout)
            with open(os.path.join(checkout, "in.txt"), "w") as f:
                f.write("input\n")
        step = ["run", "--root", ".", "--watch", "in.txt", "--output", "out.txt", "--",
                "sh", "-c", "tr a-z A-Z < in.txt > out.txt; echo made"]
        first = self.on(0, *step, cwd=checkouts[0])
        self.assertEqual((first.code, first.out), (0, b"made\n"), first)
        second = self.on(1, *step, cwd=checkouts[1])
        self.assertEqual((second.code, second.out), (0, b"made\n"), second)
        with open(os.path.join(checkouts[1], "out.txt")) as f:
            self.assertEqual(f.read(), "INPUT\n")
        with open(os.path.join(checkouts[0], "out.txt"), "w") as f:
            f.write("changed by hand\n")  # the first checkout's hit restores its output too
        third = self.on(0, *step, cwd=checkouts[0])
        self.assertEqual((third.code, third.out), (0, b"made\n"), third)
        with open(os.path.join(checkouts[0], "out.txt")) as f:
            self.assertEqual(f.read(), "INPUT\n")

    def test_identical_steps_started_on_both_machines_execute_once(self):
        checkouts = [os.path.join(self.tmp, "a", "x"), os.path.join(self.tmp, "b", "x")]
        for checkout in checkouts:
            os.makedirs(checkout)
        gate = self.gate()
        count = os.path.join(self.tmp, "executions")
        step = ["run", "--root", ".", "--", "sh", "-c",
                "echo x >> '%s'; %s; echo done" % (count, gate.wait_cmd)]
        procs = [self.popen(*step, cwd=checkouts[i % 2], env={"HOME": self.homes[i % 2]},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(4)]
        pids = {p.pid for p in procs}

        def followers():
            waiting = set()
            for pid in pids:
                try:
                    with open("/proc/%d/wchan" % pid) as f:
                        if "nanosleep" in f.read():
                            waiting.add(pid)
                except OSError:
                    pass
            return waiting

        try:
            self.wait_until(lambda: gate.waiters() and len(followers()) == 3,
                            what="one step at the gate and three runs waiting for it")
        finally:
            gate.release()
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            self.assertEqual((proc.returncode, out), (0, b"done\n"), err)
        with open(count) as f:
            self.assertEqual(f.read(), "x\n")

    def test_a_leader_whose_lease_connection_is_lost_still_hands_its_result_over(self):
        gate = self.gate()
        count = os.path.join(self.tmp, "executions")
        step = ["run", "--", "sh", "-c", "echo x >> '%s'; %s; echo done" % (count, gate.wait_cmd)]
        leader = self.popen(*step, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        follower = None
        try:
            self.wait_until(gate.waiters, what="the leader at the gate")
            follower = self.popen("-v", *step, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

            def lease_backends(*queries):
                return subprocess.run(
                    ["psql", "-X", "-At", "-d", SERVER, "-c",
                     "SELECT pid FROM pg_stat_activity WHERE application_name = 'cacheman' AND "
                     "datname = current_database() AND (%s)" % " OR ".join(
                         "query LIKE '%s%%'" % query for query in queries)],
                    capture_output=True, text=True, check=True).stdout.split()

            # The follower polls the lease; the leader's lease connection last took it (or,
            # after 10 s, renewed it).
            self.wait_until(lambda: lease_backends("SELECT holder"), what="the follower to poll")
            taker = self.wait_until(
                lambda: lease_backends("INSERT INTO cacheman.leases", "UPDATE cacheman.leases"),
                what="the leader's lease connection")
            self.assertEqual(len(taker), 1, taker)
            psql(SERVER, "SELECT pg_terminate_backend(%s)" % taker[0])
        finally:
            gate.release()
        errs = []
        for proc in (leader, follower):
            out, err = proc.communicate(timeout=120)
            self.assertEqual((proc.returncode, out), (0, b"done\n"), err)
            errs.append(err)
        with open(count) as f:
            self.assertEqual(f.read(), "x\n")
        # Handed over by the leader (not found after its lease lapsed, 30 s later).
        self.assertIn(b"another run executed it; replayed its result", errs[1])

    def test_a_connection_lost_mid_cascade_leaves_nothing_half_done(self):
        for cache in ("root", "mid", "leaf"):
            self.assertEqual(self.on(0, "set", cache, "k", cache).code, 0)
        self.assertEqual(self.on(0, "depend", "root", "mid").code, 0)
        self.assertEqual(self.on(0, "depend", "mid", "leaf").code, 0)
        # Another session holds the leaf's rows: the cascade's one deletion of the entries of
        # all three has removed root's and mid's, and waits for the leaf's.
        holder = subprocess.Popen(["psql", "-X", "-q", "-At", "-d", SERVER],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            holder.stdin.write("BEGIN; SELECT 'locked' FROM cacheman.entries e JOIN "
                               "cacheman.caches c ON c.id = e.cache_id JOIN cacheman.namespaces n "
                               "ON n.id = c.ns WHERE n.name = '%s' AND c.name = 'leaf' FOR UPDATE;\n"
                               % self.env["CACHEMAN_NAMESPACE"])
            holder.stdin.flush()
            self.assertEqual(holder.stdout.readline(), "locked\n")
            cascade = self.popen("invalidate", "root", stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)

            def blocked():
                rows = subprocess.run(
                    ["psql", "-X", "-At", "-d", SERVER, "-c",
                     "SELECT pid FROM pg_stat_activity WHERE application_name = 'cacheman' AND "
                     "wait_event_type = 'Lock' AND query LIKE 'WITH refs AS (DELETE%'"],
                    capture_output=True, text=True).stdout.split()
                return rows

            backend = self.wait_until(blocked, what="the cascade to wait for the leaf's rows")[0]
            subprocess.run(["psql", "-X", "-q", "-d", SERVER, "-c",
                            "SELECT pg_terminate_backend(%s)" % backend],
                           check=True, stdout=subprocess.DEVNULL)
            out, err = cascade.communicate(timeout=60)
        finally:
            holder.stdin.write("ROLLBACK;\n")
            holder.stdin.close()
            holder.wait(timeout=60)
            holder.stdout.close()
        self.assertEqual(cascade.returncode, 3, err)
        self.assertEqual(len(err.splitlines()), 1, err)
        for cache in ("root", "mid", "leaf"):
            got = self.on(0, "get", cache, "k")
            self.assertEqual((got.code, got.out), (0, cache.encode()), cache)
        self.assertEqual(self.on(0, "log").out, b"")

    def test_an_invalidation_is_announced_with_its_log_id(self):
        self.assertEqual(self.on(0, "set", "root", "k", "v").code, 0)
        self.assertEqual(self.on(0, "depend", "root", "leaf").code, 0)
        listener = subprocess.Popen(["psql", "-X", "-q", "-At", "-d", SERVER],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
        try:
            listener.stdin.write("LISTEN cacheman; SELECT 'listening';\n")
            listener.stdin.flush()
            self.assertEqual(listener.stdout.readline(), "listening\n")
            self.assertEqual(self.on(1, "invalidate", "root").code, 0)
            listener.stdin.write("SELECT 'asked';\n")  # psql prints notices as it runs one
            listener.stdin.close()
            output = listener.stdout.read()
        finally:
            listener.wait(timeout=60)
            listener.stdout.close()
        payloads = [line.split('payload "')[1].split('"')[0]
                    for line in output.splitlines() if "notification" in line]
        self.assertEqual(len(payloads), 1, output)
        logged = subprocess.run(["psql", "-X", "-At", "-d", SERVER, "-c",
                                 "SELECT cache || ':' || replace(cleared, E'\\n', ',') FROM "
                                 "cacheman.log WHERE id = %d" % int(payloads[0])],
                                capture_output=True, text=True, check=True)
        self.assertEqual(logged.stdout, "root:root,leaf\n")

    def test_a_writer_waits_for_another_no_longer_than_the_busy_timeout(self):
        self.assertEqual(self.on(0, "set", "c", "k", "v").code, 0)
        holder = subprocess.Popen(["psql", "-X", "-q", "-At", "-d", SERVER],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            holder.stdin.write("BEGIN; SELECT pg_advisory_xact_lock(hashtextextended("
                               "'cacheman namespace %s', 0)); SELECT 'locked';\n"
                               % self.env["CACHEMAN_NAMESPACE"])
            holder.stdin.flush()
            self.assertEqual(holder.stdout.readline(), "\n")  # the lock function's void
            self.assertEqual(holder.stdout.readline(), "locked\n")
            locked = self.cm("set", "c", "k", "w", env={"CACHEMAN_BUSY_TIMEOUT": "200ms"})
            got = self.cm("get", "c", "k")  # readers never wait for writers
        finally:
            holder.stdin.write("ROLLBACK;\n")
            holder.stdin.close()
            holder.wait(timeout=60)
            holder.stdout.close()
        self.assertEqual(locked.code, 3, locked)
        self.assertIn("locked", locked.errtext)
        self.assertEqual(len(locked.errtext.splitlines()), 1, locked)
        self.assertEqual((got.code, got.out), (0, b"v"))

    def test_volatile_caches_are_refused(self):
        made = self.cm("create", "--no-volatile", "v")
        self.assertEqual(made.code, 0, made)
        for args in (("create", "--volatile", "v"), ("create", "--volatile", "w")):
            result = subprocess.run([BIN, *args], env=dict(self.env, HOME=self.homes[0]),
                                    capture_output=True)
            self.assertEqual(result.returncode, 2, result)
            self.assertIn(b"volatile caches are not available", result.stderr)
        self.assertEqual(self.on(0, "list").out.split(), [b"v"])

    def test_values_from_stdin_reach_the_server(self):
        # cacheman hands the command to cacheman-postgresql before it reads anything.
        value = bytes(range(256)) * 10
        self.assertEqual(self.on(0, "set", "c", "bin", input=value).code, 0)
        self.assertEqual(self.on(1, "get", "c", "bin").out, value)
        lines = b'{"key": "a", "value": "1"}\n{"key": "b", "value": "2"}\n'
        self.assertEqual(self.on(0, "import", "d", "-", input=lines).code, 0)
        self.assertEqual(self.on(1, "keys", "d").out, b"a\nb\n")


@NEEDS_SERVER
class Layout(CachemanTestCase):
    """The server's layout (the cacheman schema): made by the first write, migrated whole."""

    def setUp(self):
        super().setUp()
        self.env.pop("CACHEMAN_DIR")
        self.layout_db = "layout_" + uuid.uuid4().hex[:12]
        psql(SERVER, "CREATE DATABASE %s" % self.layout_db)
        self.url = server_database(SERVER, self.layout_db)
        self.env["CACHEMAN_STORE"] = self.url

    def tearDown(self):
        psql(SERVER, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.layout_db)
        super().tearDown()

    def query(self, sql):
        return subprocess.run(["psql", "-X", "-At", "-d", self.url, "-c", sql],
                              capture_output=True, text=True, check=True).stdout

    def test_a_read_makes_nothing_and_a_write_makes_the_layout(self):
        self.assertEqual(self.cm("get", "c", "k").code, 1)
        self.assertEqual(self.query("SELECT count(*) FROM pg_namespace WHERE nspname = 'cacheman'"),
                         "0\n")
        self.assertEqual(self.cm("set", "c", "k", "v").code, 0)
        self.assertEqual(self.query("SELECT max(version) FROM cacheman.version"), "2\n")

    def test_a_layout_of_version_1_is_migrated_by_the_next_write_keeping_everything(self):
        out = os.path.join(self.tmp, "out")
        step = ("run", "--output", out, "--", "sh", "-c", "echo made > '%s'; echo ran" % out)
        self.assertEqual(self.cm(*step).code, 0)
        self.assertEqual(self.cm("set", "c", "k", "v").code, 0)
        # Back to layout 1: references to contents kept by a foreign key to their entry.
        psql(self.url, "ALTER TABLE cacheman.content_refs DROP CONSTRAINT content_refs_cache_id_fkey; "
                       "ALTER TABLE cacheman.content_refs ADD FOREIGN KEY (cache_id, key) "
                       "REFERENCES cacheman.entries(cache_id, key) ON DELETE CASCADE; "
                       "UPDATE cacheman.version SET version = 1")
        got = self.cm("get", "c", "k")  # a reader reads layout 1 as it is
        self.assertEqual((got.code, got.out), (0, b"v"), got)
        self.assertEqual(self.query("SELECT max(version) FROM cacheman.version"), "1\n")
        self.assertEqual(self.cm("set", "c", "k2", "w").code, 0)
        self.assertEqual(self.query("SELECT max(version) FROM cacheman.version"), "2\n")
        self.assertEqual(self.query(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "
            "'cacheman.content_refs'::regclass AND contype = 'f' ORDER BY 1"),
            "FOREIGN KEY (cache_id) REFERENCES cacheman.caches(id) ON DELETE CASCADE\n"
            "FOREIGN KEY (content_id) REFERENCES cacheman.contents(id)\n")
        os.remove(out)
        replayed = self.cm(*step)
        self.assertEqual((replayed.code, replayed.out), (0, b"ran\n"), replayed)
        with open(out) as restored:
            self.assertEqual(restored.read(), "made\n")
        self.assertEqual(self.ok("check").text, "integrity: ok\nschema version: 2\n")

    def test_a_newer_layout_is_refused_by_readers_and_writers(self):
        self.assertEqual(self.cm("set", "c", "k", "v").code, 0)
        psql(self.url, "INSERT INTO cacheman.version VALUES (99)")
        for args in (("get", "c", "k"), ("keys", "c"), ("set", "c", "k", "w")):
            refused = self.cm(*args)
            self.assertEqual(refused.code, 3, refused)
            self.assertIn("schema version 99, newer than this cacheman knows", refused.errtext)
            self.assertEqual(len(refused.errtext.splitlines()), 1, refused)

    def test_references_of_an_invalidated_result_go_with_it(self):
        out = os.path.join(self.tmp, "out")
        self.assertEqual(self.cm("run", "--output", out, "--", "sh", "-c",
                                 "echo made > '%s'" % out).code, 0)
        self.assertEqual(self.query("SELECT count(*) FROM cacheman.content_refs"), "1\n")
        self.assertEqual(self.cm("invalidate", "run").code, 0)
        self.assertEqual(self.query("SELECT count(*) FROM cacheman.content_refs"), "0\n")
        self.ok("gc")
        self.assertEqual(self.query("SELECT count(*) FROM cacheman.contents"), "0\n")
        self.assertEqual(self.ok("check").text, "integrity: ok\nschema version: 2\n")


class Roles(CachemanTestCase):
    """Other database roles: hooks they wrote are not run; a role that may only read replays."""

    def setUp(self):
        super().setUp()
        self.env.pop("CACHEMAN_DIR")
        self.roles_db = "roles_" + uuid.uuid4().hex[:12]
        self.role = "cm_" + uuid.uuid4().hex[:12]
        psql(SERVER, "CREATE DATABASE %s" % self.roles_db)
        psql(SERVER, "CREATE ROLE %s LOGIN" % self.role)
        self.url = server_database(SERVER, self.roles_db)
        self.env["CACHEMAN_STORE"] = self.url
        self.assertEqual(self.cm("set", "seed", "k", "v").code, 0)  # makes the layout

    def tearDown(self):
        psql(SERVER, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.roles_db)
        psql(SERVER, "DROP ROLE IF EXISTS %s" % self.role)
        super().tearDown()

    def grant(self, rights):
        psql(self.url, "GRANT USAGE ON SCHEMA cacheman TO {0}; GRANT {1} ON ALL TABLES IN "
                       "SCHEMA cacheman TO {0}; GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "
                       "cacheman TO {0}".format(self.role, rights))

    def as_role(self, *args, **kwargs):
        return self.cm(*args, env={"CACHEMAN_STORE": with_user(self.url, self.role)}, **kwargs)

    def test_hooks_written_by_another_role_are_not_run(self):
        self.grant("ALL")
        marker = os.path.join(self.tmp, "ran")
        made = self.as_role("create", "--builder", "touch '%s'; printf ''" % marker, "c")
        self.assertEqual(made.code, 0, made)
        refused = self.cm("get", "c", "k")
        self.assertEqual(refused.code, 3, refused)
        self.assertIn("another database role", refused.errtext)
        self.assertFalse(os.path.exists(marker))
        # Its own role runs them.
        self.assertEqual(self.as_role("get", "c", "k").code, 1)
        self.assertTrue(os.path.exists(marker))

    def test_a_role_that_may_only_read_reads_and_cannot_write(self):
        self.grant("SELECT")
        got = self.as_role("get", "seed", "k")
        self.assertEqual((got.code, got.out), (0, b"v"), got)
        refused = self.as_role("set", "seed", "k", "other")
        self.assertEqual(refused.code, 3, refused)
        self.assertEqual(len(refused.errtext.splitlines()), 1, refused)
        self.assertIn("permission denied", refused.errtext)
        self.assertEqual(self.cm("get", "seed", "k").out, b"v")
        # A step: replayed when the writer stored it; on a miss run, and said not stored.
        stored = self.cm("run", "--", "echo", "stored")
        self.assertEqual(stored.code, 0, stored)
        replayed = self.as_role("run", "--", "echo", "stored")
        self.assertEqual((replayed.code, replayed.out, replayed.err), (0, b"stored\n", b""))
        missed = self.as_role("run", "--", "echo", "new")
        self.assertEqual((missed.code, missed.out), (0, b"new\n"), missed)
        self.assertIn("not stored", missed.errtext)
        self.assertEqual(self.cm("run", "--replay-only", "--", "echo", "new").code, 1)


if __name__ == "__main__":
    unittest.main()
