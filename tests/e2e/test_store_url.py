"""The shared store (CONTRACT.md "The shared store (PostgreSQL)"): choosing it with --store or
CACHEMAN_STORE, what is refused before anything connects, and (with a test server: ctest starts
one and sets CACHEMAN_PG_TEST_URL) two machines sharing one cache graph."""
import os
import shutil
import subprocess
import unittest
import uuid

from harness import BIN, CachemanTestCase

SERVER = os.environ.get("CACHEMAN_PG_TEST_URL")
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
        for store in ("mysql://h/db", "host=db password=s3cret", "/var/cache/x"):
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
        explain = self.on(1, *step[:1], "--explain", *step[1:], cwd=checkouts[1])
        self.assertIn(b"hit", explain.out + explain.err)


if __name__ == "__main__":
    unittest.main()
