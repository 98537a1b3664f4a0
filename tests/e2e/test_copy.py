"""copy --to / --from (the shared store issue): a namespace moves between stores (a directory or
a postgresql:// URL) whole, committed at once on the receiving side. Runs on both engines: on
PostgreSQL the current store is the server, and the other one a directory."""
import json
import os

from harness import ENGINE, CachemanTestCase


class Copy(CachemanTestCase):
    def setUp(self):
        super().setUp()
        self.other = os.path.join(self.tmp, "other")
        self.work = os.path.join(self.tmp, "work")
        os.makedirs(self.work)
        self.set_now(self.CLOCK_START)

    def at_other(self, *args, **kwargs):
        """Runs cacheman on the other store (an explicit --dir wins over CACHEMAN_STORE)."""
        return self.ok("--dir", self.other, *args, **kwargs)

    def step(self, *prefix):
        return self.ok(*prefix, "run", "--output", "out.txt", "--",
                       "sh", "-c", "echo made > out.txt; echo printed", cwd=self.work)

    def fill(self, *prefix):
        self.ok(*prefix, "set", "root", "raw", "1")
        self.ok(*prefix, "set", "--ttl", "1h", "root", "soon", "2")
        self.ok(*prefix, "set", "root", "big", input=bytes(range(256)) * 8192)  # 2 MiB
        self.ok(*prefix, "depend", "root", "edge")
        self.ok(*prefix, "set", "edge", "e", "3")
        self.ok(*prefix, "create", "--ttl", "5m", "--max-entries", "9", "--builder", "echo x",
                "built")
        self.assertEqual(self.step(*prefix).out, b"printed\n")

    def view(self, *prefix):
        """What a user sees of a namespace: caches, entries with expiry, settings, edges."""
        seen = {"list": self.ok(*prefix, "list").text,
                "graph": self.ok(*prefix, "--json", "graph").text}
        for cache in seen["list"].split():
            if cache != "built":  # an export would run its builder
                seen["export " + cache] = self.ok(*prefix, "export", cache).out
            seen["show " + cache] = self.ok(*prefix, "show", cache).text
        return seen

    def test_copy_to_a_directory_carries_everything(self):
        self.fill()
        before = self.view()
        r = self.ok("-v", "copy", "--to", self.other)
        self.assertEqual(r.out, b"")
        self.assertIn("4 caches, 5 entries, 1 edges", r.errtext)
        self.assertEqual(self.view("--dir", self.other), before)
        self.assertEqual(self.view(), before)  # the source is as it was
        self.assertIn('"expires": %d' % (self.CLOCK_START + 3600),
                      self.at_other("export", "root").text)
        self.assertEqual(self.at_other("get", "root", "big").out, bytes(range(256)) * 8192)
        self.assertIn("integrity: ok", self.at_other("check").text)
        # The step replays there, its output file restored.
        os.remove(os.path.join(self.work, "out.txt"))
        r = self.ok("--dir", self.other, "-v", "run", "--output", "out.txt", "--",
                    "sh", "-c", "echo made > out.txt; echo printed", cwd=self.work)
        self.assertEqual(r.out, b"printed\n")
        self.assertIn("hit", r.errtext)
        with open(os.path.join(self.work, "out.txt")) as f:
            self.assertEqual(f.read(), "made\n")

    def test_copy_from_a_directory(self):
        self.fill("--dir", self.other)
        before = self.view("--dir", self.other)
        self.ok("copy", "--from", self.other)
        self.assertEqual(self.view(), before)
        self.ok("invalidate", "root")  # the graph came along
        self.fails(1, "get", "edge", "e")

    def test_an_existing_namespace_is_refused_unless_replaced(self):
        self.fill()
        self.at_other("set", "mine", "k", "v")
        r = self.fails(2, "copy", "--to", self.other)
        self.assertIn("--replace", r.errtext)
        self.assertEqual(self.at_other("get", "mine", "k").out, b"v")  # untouched
        self.ok("copy", "--to", self.other, "--replace")
        self.assertEqual(self.view("--dir", self.other), self.view())
        r = self.cm("--dir", self.other, "get", "mine", "k")
        self.assertEqual(r.code, 1, r)

    def test_the_namespace_is_the_current_one(self):
        self.ok("-n", "proj", "set", "c", "k", "v")
        self.ok("-n", "proj", "copy", "--to", self.other)
        self.assertEqual(self.at_other("-n", "proj", "get", "c", "k").out, b"v")
        self.assertEqual(self.at_other("list").out, b"")

    def test_nothing_to_copy(self):
        r = self.fails(1, "copy", "--to", self.other)
        self.assertIn("no caches to copy", r.errtext)
        self.assertFalse(os.path.exists(self.other))  # nothing created for nothing

    def test_usage_errors(self):
        self.ok("set", "c", "k", "v")
        self.fails(2, "copy")
        self.fails(2, "copy", "--to", self.other, "--from", self.other)
        self.fails(2, "copy", "--to", "")
        r = self.fails(2, "copy", "--to", "postgresql://u:s3cret@db.example/x")
        self.assertNotIn("s3cret", r.errtext)
        self.assertIn("PGPASSFILE", r.errtext)
        self.fails(2, "copy", "--to", "mysql://db.example/x")
        here = self.env.get("CACHEMAN_STORE") or self.dir
        self.assertIn("onto itself", self.fails(2, "copy", "--to", here).errtext)
        self.assertFalse(os.path.exists(self.other))

    def test_a_volatile_cache_is_refused(self):
        self.ok("set", "c", "k", "v")
        self.ok("create", "--volatile", "v")  # skipped on a shared store, which has none
        self.ok("set", "v", "k", "in memory")
        r = self.fails(2, "copy", "--to", self.other)
        self.assertIn("volatile", r.errtext)
        self.assertFalse(os.path.exists(os.path.join(self.other, "default.sqlite")))

    def test_hooks_another_user_wrote_are_not_copied(self):
        self.ok("create", "--builder", "echo k v", "c")
        os.chown(self.store_path(), 65534, 65534)  # a store file of someone else's
        self.fails(3, "copy", "--to", self.other)
        self.assertFalse(os.path.exists(os.path.join(self.other, "default.sqlite")))

    def test_a_store_url_is_reached_through_the_engine_program(self):
        if ENGINE != "postgresql":
            self.skipTest("needs the test server")
        url = self.env["CACHEMAN_STORE"]
        self.fill("--dir", self.other)
        before = self.view("--dir", self.other)
        # From the SQLite store (an explicit --dir) to the server, and back into a new one.
        self.ok("--dir", self.other, "copy", "--to", url)
        self.assertEqual(self.view(), before)
        third = os.path.join(self.tmp, "third")
        self.ok("--dir", third, "copy", "--from", url)
        self.assertEqual(self.view("--dir", third), before)
        shown = json.loads(self.ok("--json", "show", "built").text)
        self.assertEqual(shown["builder"], "echo x")
