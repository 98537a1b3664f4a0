"""Where the store lives (CONTRACT.md, "Model"): <dir>/<namespace>.sqlite, where <dir> is --dir,
else $CACHEMAN_DIR, else $XDG_CACHE_HOME/cacheman, else $HOME/.cache/cacheman, and the namespace is
-n/--namespace, else $CACHEMAN_NAMESPACE (empty counts as unset), else `default`.
"""
import os
import unittest

from harness import CachemanTestCase


def store_files(root):
    """Every regular file under root that is a store (companion -wal/-shm files left out)."""
    found = []
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            if not name.endswith(("-wal", "-shm", "-journal")):
                found.append(os.path.relpath(os.path.join(dirpath, name), root))
    return sorted(found)


class StoreLocation(CachemanTestCase):
    def setUp(self):
        super().setUp()
        self.opt = os.path.join(self.tmp, "opt")
        self.envdir = os.path.join(self.tmp, "envdir")
        self.xdg = os.path.join(self.tmp, "xdg")
        self.home = os.path.join(self.tmp, "home")
        os.makedirs(self.home)
        self.all_env = {"CACHEMAN_DIR": self.envdir, "XDG_CACHE_HOME": self.xdg, "HOME": self.home}

    def where(self, *global_args, env):
        """Runs `set` with the given globals and env, returns the store file(s) it created."""
        self.ok(*global_args, "set", "c", "k", "here", env=env)
        return store_files(self.tmp)

    def test_dir_option_wins(self):
        self.assertEqual(self.where("--dir", self.opt, env=self.all_env), ["opt/default.sqlite"])
        self.assertEqual(self.ok("--dir", self.opt, "get", "c", "k", env=self.all_env).out, b"here")

    def test_cacheman_dir_beats_xdg_and_home(self):
        self.assertEqual(self.where(env=self.all_env), ["envdir/default.sqlite"])

    def test_xdg_cache_home_beats_home(self):
        env = dict(self.all_env, CACHEMAN_DIR=None)
        self.assertEqual(self.where(env=env), ["xdg/cacheman/default.sqlite"])

    def test_home_cache_last(self):
        env = dict(self.all_env, CACHEMAN_DIR=None, XDG_CACHE_HOME=None)
        self.assertEqual(self.where(env=env), ["home/.cache/cacheman/default.sqlite"])
        self.assertEqual(self.ok("get", "c", "k", env=env).out, b"here")

    def test_relative_dir_option_is_relative_to_cwd(self):
        work = os.path.join(self.tmp, "work")
        os.makedirs(work)
        self.ok("--dir", "rel", "set", "c", "k", "v", cwd=work)
        self.assertEqual(store_files(self.tmp), ["work/rel/default.sqlite"])

    def test_namespace_option_wins(self):
        self.assertEqual(self.where("-n", "opt-ns", env={"CACHEMAN_NAMESPACE": "env-ns"}),
                         ["store/opt-ns.sqlite"])
        self.assertEqual(self.where("--namespace", "long-ns", env={"CACHEMAN_NAMESPACE": "env-ns"}),
                         ["store/long-ns.sqlite", "store/opt-ns.sqlite"])

    def test_namespace_from_environment(self):
        self.assertEqual(self.where(env={"CACHEMAN_NAMESPACE": "env-ns"}), ["store/env-ns.sqlite"])
        self.assertEqual(self.ok("get", "c", "k", env={"CACHEMAN_NAMESPACE": "env-ns"}).out, b"here")
        r = self.cm("get", "c", "k")
        self.assertEqual((r.code, r.out), (1, b""), "the default namespace is another file")

    def test_default_namespace(self):
        self.assertEqual(self.where(env={}), ["store/default.sqlite"])

    def test_empty_namespace_variable_counts_as_unset(self):
        self.assertEqual(self.where(env={"CACHEMAN_NAMESPACE": ""}), ["store/default.sqlite"])

    def test_namespace_and_dir_together(self):
        self.assertEqual(self.where("--dir", self.opt, "-n", "proj", env=self.all_env),
                         ["opt/proj.sqlite"])

    def test_store_is_a_sqlite_file(self):
        self.ok("set", "c", "k", "v")
        with open(self.store_path(), "rb") as f:
            self.assertEqual(f.read(16), b"SQLite format 3\x00")


class ReadsOnMissingStore(CachemanTestCase):
    def assert_nothing_created(self):
        self.assertEqual(os.listdir(self.tmp), [], "a read created files")

    def test_get_misses(self):
        r = self.cm("get", "c", "k")
        self.assertEqual((r.code, r.out), (1, b""), r)
        self.assert_nothing_created()

    def test_list_is_empty(self):
        r = self.ok("list")
        self.assertEqual(r.out, b"")
        self.assertEqual(self.ok("list", "--json").out.strip(), b"[]")
        self.assert_nothing_created()

    def test_other_reads_report_missing_cache(self):
        for args in [("keys", "c"), ("export", "c"), ("deps", "c"), ("invalidate", "--dry-run", "c")]:
            with self.subTest(args=args):
                self.fails(1, *args)
        self.assert_nothing_created()

    def test_reads_in_existing_dir_without_the_namespace_file(self):
        self.ok("set", "c", "k", "v")
        before = sorted(os.listdir(self.dir))
        r = self.cm("-n", "other", "get", "c", "k")
        self.assertEqual((r.code, r.out), (1, b""), r)
        self.assertEqual(self.ok("-n", "other", "list").out, b"")
        self.assertEqual(sorted(os.listdir(self.dir)), before)
        self.assertFalse(os.path.exists(self.store_path("other")))

    def test_read_via_home_creates_no_cache_dir(self):
        env = {"CACHEMAN_DIR": None, "XDG_CACHE_HOME": None}
        r = self.cm("get", "c", "k", env=env)
        self.assertEqual((r.code, r.out), (1, b""), r)
        self.assertEqual(self.ok("list", env=env).out, b"")
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "home")))


if __name__ == "__main__":
    unittest.main()
