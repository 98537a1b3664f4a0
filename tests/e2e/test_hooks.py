"""Hooks, volatile caches and auto-sync (issue 4; CONTRACT.md "Hooks (the hooks issue), in the
seed's order", the volatile line under "Details that scripts rely on", exit status 4).

The seed's test suite (CacheMan 2.x, /work/shared/seed/behaviour.md section 2) is ported case by
case where the behaviour applies to a command-line tool; each test names the seed case(s) it
covers in a `# seed:` comment. The seed's pickle file is played here by a saver/loader pair that
writes and reads one JSON Lines file (`cat > FILE` / `cat FILE`).

Whether a hook ran is proved by a log file: hooks append a line to it, so the lines are the runs,
in order. Every test gets its own CACHEMAN_RUNTIME_DIR, so volatile caches never touch /dev/shm.
"""
import json
import os
import re
import shlex
import subprocess
import unittest

from harness import BIN, CachemanTestCase

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BOOM = "echo boom >&2; exit 1"  # a hook that fails and says why on stderr


def q(text):
    return shlex.quote(text)


def jline(key, value):
    return json.dumps({"key": key, "value": value})


def prints(entries):
    """A hook command that prints `entries` (a dict) as JSON Lines."""
    if not entries:
        return "true"
    return "printf '%s\\n' " + " ".join(q(jline(k, v)) for k, v in entries.items())


def import_data(count, prefix="k"):
    return "".join(jline("%s%05d" % (prefix, i), "v%d" % i) + "\n" for i in range(count)).encode()


class HooksTestCase(CachemanTestCase):
    def setUp(self):
        super().setUp()
        self.runtime = os.path.join(self.tmp, "runtime")
        self.env["CACHEMAN_RUNTIME_DIR"] = self.runtime
        self.log = os.path.join(self.tmp, "hooks.log")

    # --- helpers --------------------------------------------------------------------------
    def path(self, name):
        return os.path.join(self.tmp, name)

    def logs(self, text):
        """A shell fragment that appends `text` (expanded by the shell) to the log."""
        return 'echo "%s" >> %s' % (text, q(self.log))

    def log_lines(self):
        try:
            with open(self.log, encoding="utf-8") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def file_saver(self, name):
        """A saver that writes the contents to tmp/NAME (the seed's pickle file)."""
        return "cat > %s" % q(self.path(name))

    def file_loader(self, name):
        return "cat %s" % q(self.path(name))

    def read_file(self, name):
        with open(self.path(name), encoding="utf-8") as f:
            return f.read()

    def file_entries(self, name):
        return {json.loads(l)["key"]: json.loads(l)["value"]
                for l in self.read_file(name).splitlines() if l.strip()}

    def contents(self, cache, **kwargs):
        r = self.cm("export", cache, **kwargs)
        self.assertEqual(r.code, 0, r)
        return {json.loads(l)["key"]: json.loads(l).get("value")
                for l in r.text.splitlines() if l.strip()}

    def create(self, cache, *settings, **kwargs):
        return self.ok("create", *settings, cache, **kwargs)

    def show(self, cache):
        r = self.ok("--json", "show", cache)
        return json.loads(r.text)

    def hook_fails(self, code, *args, stderr_has="boom", **kwargs):
        """The command exits `code`, prints nothing on stdout, passes the hook's stderr through
        and ends with one cacheman error line."""
        r = self.cm(*args, **kwargs)
        self.assertEqual(r.code, code, r)
        self.assertEqual(r.out, b"", r)
        if stderr_has:
            self.assertIn(stderr_has, r.errtext, r)
        self.assertTrue(r.errtext.splitlines()[-1].startswith("cacheman: error: "), r)
        return r


# ==========================================================================================
class BuilderTest(HooksTestCase):
    def test_rebuild_replaces_contents_with_builder_output(self):
        # seed: cacher_tests.test_builder
        self.create("a", "--builder", prints({"foo": "bar"}),
                    "--saver", self.file_saver("a.jsonl"), "--loader", self.file_loader("a.jsonl"))
        self.ok("rebuild", "a")
        self.assertEqual(self.contents("a"), {"foo": "bar"})
        self.ok("set", "a", "baz", "bar")
        self.assertEqual(self.contents("a"), {"foo": "bar", "baz": "bar"})
        self.ok("save", "a")
        self.ok("reload", "a")
        self.assertEqual(self.contents("a"), {"foo": "bar", "baz": "bar"})
        self.ok("rebuild", "a")
        self.assertEqual(self.contents("a"), {"foo": "bar"})

    def test_default_builder_builds_an_empty_cache(self):
        # seed: cacher_tests.test_default_builder
        self.create("no_registers")
        self.assertEqual(self.ok("keys", "no_registers").out, b"")
        self.assertEqual(self.contents("no_registers"), {})
        self.ok("rebuild", "no_registers")
        self.assertEqual(self.contents("no_registers"), {})

    def test_builder_runs_lazily_on_first_read(self):
        # seed: wrap_tests.test_build_on_init, cacher_tests.test_default_builder
        builder = self.logs("built $CACHEMAN_CACHE") + "; " + prints({"foo": "bar"})
        for cache in ("by_get", "by_keys", "by_export"):
            self.create(cache, "--builder", builder)
        self.assertEqual(self.log_lines(), [], "create runs no hook")
        self.assertEqual(self.ok("get", "by_get", "foo").out, b"bar")
        self.assertEqual(self.ok("keys", "by_keys").text, "foo\n")
        self.assertEqual(self.contents("by_export"), {"foo": "bar"})
        self.assertEqual(self.log_lines(),
                         ["built by_get", "built by_keys", "built by_export"])
        # Built once: later reads run nothing.
        self.ok("get", "by_get", "foo")
        self.ok("keys", "by_keys")
        self.assertEqual(len(self.log_lines()), 3)
        # Invalidated: the next read builds again.
        self.ok("invalidate", "by_get")
        self.assertEqual(self.ok("get", "by_get", "foo").out, b"bar")
        self.assertEqual(self.log_lines()[3:], ["built by_get"])

    def test_rebuild_clears_dependents(self):
        # seed: cacher_tests.test_dependent_invalidate (invalidate_and_rebuild_cache part),
        # wrap_tests.test_dependents (invalidate_and_rebuild(True))
        self.create("a", "--builder", prints({"foo": "bar"}))
        self.ok("depend", "a", "b")
        self.ok("depend", "b", "c")
        self.ok("depend", "x", "a")  # upstream: untouched
        for cache in ("b", "c", "x"):
            self.ok("set", cache, "k", cache)
        self.ok("rebuild", "a")
        self.assertEqual(self.contents("a"), {"foo": "bar"})
        self.assertEqual(self.contents("b"), {})
        self.assertEqual(self.contents("c"), {})
        self.assertEqual(self.contents("x"), {"k": "x"})

    def test_rebuild_without_builder_empties_and_clears_dependents(self):
        # seed: cacher_tests.test_content_invalidation_and_deletion, wrap_tests.test_invalidate_and_rebuild
        self.ok("set", "a", "foo", "bar")
        self.ok("set", "b", "baz", "bar")
        self.ok("depend", "a", "b")
        self.ok("rebuild", "a")
        self.assertEqual(self.contents("a"), {})
        self.assertEqual(self.contents("b"), {})

    def test_write_to_unbuilt_cache_is_not_lost(self):
        # seed: cacher_tests.test_builder / test_register (retrieve builds before the first edit,
        # so an edit is never thrown away by a later build). Note: man/cacheman.1.scd (HOOKS)
        # currently documents the opposite ("Entries stored in such a cache by set or import
        # before that read are replaced by the builder's output"): one of the two must change.
        self.create("a", "--builder", prints({"foo": "bar"}))
        self.ok("set", "a", "k", "v")  # never built yet
        self.assertEqual(self.get("a", "k"), b"v",
                         "a value set on a never-built cache must survive the next read")
        self.ok("invalidate", "a")
        self.ok("set", "a", "k2", "v2")  # invalidated, so unbuilt again
        self.assertEqual(self.get("a", "k2"), b"v2",
                         "a value set after an invalidation must survive the next read")


# ==========================================================================================
class LoaderValidatorTest(HooksTestCase):
    def test_loader(self):
        # seed: cacher_tests.test_loader
        self.create("n", "--loader", prints({"foo": "bar"}), "--saver", self.file_saver("n.jsonl"))
        self.ok("reload", "n")
        self.assertEqual(self.contents("n"), {"foo": "bar"})
        self.ok("set", "n", "baz", "bar")
        self.assertEqual(self.contents("n"), {"foo": "bar", "baz": "bar"})
        self.ok("save", "n")
        self.assertEqual(self.file_entries("n.jsonl"), {"foo": "bar", "baz": "bar"})
        self.ok("reload", "n")  # the loader ignores the saved file
        self.assertEqual(self.contents("n"), {"foo": "bar"})
        self.ok("rebuild", "n")
        self.assertEqual(self.contents("n"), {})
        self.ok("reload", "n")  # the saver's copy is older than the rebuild: not loaded
        self.assertEqual(self.contents("n"), {})
        self.ok("save", "n")
        self.ok("reload", "n")
        self.assertEqual(self.contents("n"), {"foo": "bar"})

    def test_default_saver_and_loader_round_trip(self):
        # seed: cacher_tests.test_default_saver_and_loader, cacher_tests.test_default_saver_overwrite,
        # wrap_tests.test_persistent_cache_wrap, wrap_tests.test_save_and_load,
        # autosync_test.test_basic_cache_actions, csvcache_test.test_basic_csv_cache
        self.create("c", "--saver", self.file_saver("c.jsonl"), "--loader", self.file_loader("c.jsonl"))
        self.ok("set", "c", "foo", "bar")
        self.ok("save", "c")
        self.assertTrue(os.path.isfile(self.path("c.jsonl")))
        self.ok("reload", "c")
        self.assertEqual(self.contents("c"), {"foo": "bar"})
        self.ok("save", "c")
        self.assertTrue(os.path.isfile(self.path("c.jsonl")))
        self.ok("set", "c", "foo", "baz")
        self.ok("save", "c")
        self.ok("reload", "c")
        self.assertEqual(self.contents("c"), {"foo": "baz"})
        # After an invalidation the saved copy is older than the clear: reload does not bring
        # the cleared entries back (it falls back, and says so) until the next save.
        self.ok("invalidate", "c")
        self.assertEqual(self.contents("c"), {})
        r = self.ok("reload", "c")
        self.assertEqual(r.errtext, "cacheman: reload of 'c': its saved copy is older than its "
                         "last clear; emptied it\n")
        self.assertEqual(self.contents("c"), {})
        self.ok("set", "c", "foo", "qux")
        self.ok("save", "c")
        self.ok("reload", "c")
        self.assertEqual(self.get("c", "foo"), b"qux")
        self.assertIsNone(self.get("c", "foo2"))

    def test_reload_never_restores_entries_from_before_a_clear(self):
        # seed: cacher_tests.test_content_invalidation, wrap_tests.test_invalidate, where
        # invalidate reverted to the saved state; cacheman's invalidate clears, and the contract
        # (Corrections) forbids a later reload to return entries from before that clear.
        self.create("c", "--saver", self.file_saver("c.jsonl"), "--loader", self.file_loader("c.jsonl"),
                    "--builder", prints({"built": "1"}))
        self.ok("set", "c", "foo", "bar")
        self.ok("save", "c")
        self.ok("set", "c", "baz", "not saved")
        self.ok("reload", "c")
        self.assertEqual(self.contents("c"), {"built": "1", "foo": "bar"},
                         "no clear yet: the saved copy (built at the first set)")
        for clear in (("invalidate", "c"), ("invalidate", "c", "foo"), ("rebuild", "c")):
            self.ok("set", "c", "foo", "bar")
            self.ok("save", "c")
            self.ok(*clear)
            r = self.ok("reload", "c")
            self.assertIn(b"older than its last clear; built it instead", r.err, clear)
            self.assertEqual(self.contents("c"), {"built": "1"}, clear)
        self.ok("set", "c", "baz", "saved after the clear")
        self.ok("save", "c")
        self.ok("reload", "c")
        self.assertEqual(self.contents("c"), {"built": "1", "baz": "saved after the clear"})

    def test_loader_fallback_to_builder(self):
        # seed: wrap_tests.test_load_or_build, autosync_test.test_basic_cache_actions (load_or_build)
        self.create("c", "--loader", prints({"x": "loaded"}), "--builder", prints({"x": "built"}))
        r = self.ok("reload", "c")
        self.assertEqual(r.err, b"", "no fallback, no note")
        self.assertEqual(self.contents("c"), {"x": "loaded"})
        for loader, reason in (("exit 3", "fail"), ("true", "nothing")):
            with self.subTest(loader=loader):
                self.create("c", "--loader", loader)
                self.ok("set", "c", "junk", "1")
                r = self.ok("reload", "c")
                self.assertEqual(self.contents("c"), {"x": "built"})
                self.assertIn(reason, r.errtext, "the fallback is explained on stderr")
                self.assertTrue(r.errtext.startswith("cacheman: "), r)
                self.assertNotIn("error", r.errtext, "a fallback is not an error")
        # A failing loader's own stderr is passed through too.
        self.create("c", "--loader", BOOM)
        r = self.ok("reload", "c")
        self.assertIn("boom", r.errtext)
        # No builder: the cache becomes empty (the seed's default builder builds {}).
        self.create("c", "--loader", "exit 1", "--builder", "")
        self.ok("set", "c", "junk", "1")
        r = self.ok("reload", "c")
        self.assertEqual(self.contents("c"), {})
        self.assertNotEqual(r.err, b"")
        # --quiet silences the note, not the result.
        self.ok("set", "c", "junk", "1")
        r = self.ok("-q", "reload", "c")
        self.assertEqual(self.contents("c"), {})

    def test_validator_rejects_then_accepts(self):
        # seed: cacher_tests.test_register_validator
        self.create("c", "--saver", self.file_saver("c.jsonl"), "--loader", self.file_loader("c.jsonl"),
                    "--validator", "grep -q '\"key\": *\"foo\"'")
        self.assertEqual(self.contents("c"), {})
        self.ok("set", "c", "baz", "bar")
        self.ok("save", "c")
        r = self.ok("reload", "c")
        self.assertIn("validator", r.errtext)
        self.assertEqual(self.contents("c"), {})  # rejected, rebuilt by the default builder
        self.ok("set", "c", "foo", "bar")
        self.ok("save", "c")
        self.ok("reload", "c")
        self.assertEqual(self.contents("c"), {"foo": "bar"})

    def test_validation_falls_back_to_builder(self):
        # seed: wrap_tests.test_validation
        self.create("c", "--saver", self.file_saver("c.jsonl"), "--loader", self.file_loader("c.jsonl"),
                    "--validator", "exit 1", "--builder", prints({"0": "built"}))
        self.ok("set", "c", "foo", "bar")
        self.ok("save", "c")
        self.ok("reload", "c")
        self.assertEqual(self.contents("c"), {"0": "built"})
        self.ok("set", "c", "0", "changed")
        self.ok("save", "c")
        self.create("c", "--validator", "cat > /dev/null")  # always accepts
        self.ok("reload", "c")
        self.assertEqual(self.contents("c"), {"0": "changed"})
        # A validator that crashes rejects (the seed's raising validator gave None).
        self.create("c", "--validator", "kill -SEGV $$")
        self.ok("reload", "c")
        self.assertEqual(self.contents("c"), {"0": "built"})

    def test_validator_sees_loader_output_before_post_processor(self):
        loaded = jline("foo", "bar") + "\n"
        self.create("c", "--loader", "printf '%s\\n' " + q(loaded.strip()),
                    "--validator", "cat > %s" % q(self.path("validated")),
                    "--post-processor", "cat; " + prints({"pp": "1"}))
        self.ok("reload", "c")
        self.assertEqual(self.read_file("validated"), loaded)
        self.assertEqual(self.contents("c"), {"foo": "bar", "pp": "1"})

    def test_reload_without_loader_changes_nothing(self):
        self.create("c", "--builder", prints({"x": "built"}))
        self.ok("rebuild", "c")
        self.ok("set", "c", "foo", "bar")
        self.ok("reload", "c")
        self.assertEqual(self.contents("c"), {"x": "built", "foo": "bar"})

    def test_malformed_loader_output_exits_4_and_keeps_the_cache(self):
        self.create("c", "--loader", "echo not-json")
        self.ok("set", "c", "foo", "bar")
        self.hook_fails(4, "reload", "c", stderr_has="line 1")
        self.assertEqual(self.contents("c"), {"foo": "bar"})


# ==========================================================================================
class SaverProcessorTest(HooksTestCase):
    def test_saver_runs_on_save_not_on_a_plain_edit(self):
        # seed: cacher_tests.test_saver
        self.create("n", "--saver", self.file_saver("n.jsonl") + "; " + self.logs("saved"))
        self.ok("set", "n", "foo", "bar")
        self.assertEqual(self.contents("n"), {"foo": "bar"})
        self.assertFalse(os.path.exists(self.path("n.jsonl")), "one edit does not auto-save")
        self.assertEqual(self.log_lines(), [])
        self.ok("save", "n")
        self.assertEqual(self.file_entries("n.jsonl"), {"foo": "bar"})
        self.assertEqual(self.log_lines(), ["saved"])

    def test_save_without_saver_does_nothing(self):
        # seed: wrap_tests.test_non_persistent_cache_wrap (save without a place to save)
        self.ok("set", "n", "foo", "bar")
        r = self.ok("save", "n")
        self.assertEqual(r.out, b"")
        self.assertEqual(self.contents("n"), {"foo": "bar"})

    def test_pre_processor_feeds_the_saver_not_the_cache(self):
        # seed: wrap_tests.test_pre_processor, cacher_tests.test_register_pre_processor
        # (the seed leaked the in-place change into memory; cacheman must not)
        self.create("c", "--pre-processor", "sed 's/\"key\": \"foo\"/\"key\": \"foo2\"/'",
                    "--saver", self.file_saver("c.jsonl"), "--loader", self.file_loader("c.jsonl"))
        self.ok("set", "c", "foo", "bar")
        self.ok("save", "c")
        self.assertEqual(self.contents("c"), {"foo": "bar"}, "the cache itself is unchanged")
        self.assertEqual(self.file_entries("c.jsonl"), {"foo2": "bar"}, "the saver saw the copy")
        self.ok("reload", "c")
        self.assertEqual(self.contents("c"), {"foo2": "bar"})

    def test_post_processor_applies_to_loader_and_builder_output(self):
        # seed: cacher_tests.test_register_post_processor, wrap_tests.test_post_processor
        pp = "cat; " + prints({"baz": "bar"})
        self.create("c", "--saver", self.file_saver("c.jsonl"), "--loader", self.file_loader("c.jsonl"))
        self.ok("set", "c", "foo", "bar")
        self.create("c", "--post-processor", pp)
        self.ok("save", "c")
        self.assertEqual(self.contents("c"), {"foo": "bar"}, "not applied on save")
        self.assertEqual(self.file_entries("c.jsonl"), {"foo": "bar"})
        self.ok("reload", "c")
        self.assertEqual(self.contents("c"), {"foo": "bar", "baz": "bar"})
        self.ok("rebuild", "c")
        self.assertEqual(self.contents("c"), {"baz": "bar"}, "applied to the built {}")
        self.ok("set", "c", "baz", "foo")
        self.ok("save", "c")
        self.assertEqual(self.contents("c"), {"baz": "foo"})
        self.ok("reload", "c")
        self.assertEqual(self.contents("c"), {"baz": "bar"})
        self.ok("rebuild", "c")
        self.assertEqual(self.contents("c"), {"baz": "bar"})
        # And to a real builder's output, lazily built too.
        self.create("c", "--builder", prints({"b": "1"}))
        self.ok("invalidate", "c")
        self.assertEqual(self.contents("c"), {"b": "1", "baz": "bar"})


# ==========================================================================================
class DeleterTest(HooksTestCase):
    def test_drop_runs_the_deleter_first(self):
        # seed: cacher_tests.test_deleter, cacher_tests.test_content_invalidation_and_deletion
        deleter = "%s export \"$CACHEMAN_CACHE\" > %s; rm -f %s" % (
            q(BIN), q(self.path("seen")), q(self.path("n.jsonl")))
        self.create("n", "--deleter", deleter, "--saver", self.file_saver("n.jsonl"),
                    "--loader", self.file_loader("n.jsonl"))
        self.ok("set", "n", "foo", "bar")
        self.assertFalse(os.path.exists(self.path("seen")))
        self.ok("save", "n")
        self.assertFalse(os.path.exists(self.path("seen")), "save does not run the deleter")
        self.ok("reload", "n")
        self.assertEqual(self.contents("n"), {"foo": "bar"})
        self.ok("depend", "n", "child")
        self.ok("set", "child", "k", "v")
        self.ok("drop", "n")
        self.assertFalse(os.path.exists(self.path("n.jsonl")), "the deleter removed the file")
        self.assertEqual(self.file_entries("seen"), {"foo": "bar"},
                         "the deleter ran while the cache still held its contents")
        self.fails(1, "keys", "n")
        self.assertEqual(self.contents("child"), {})
        # Re-created, nothing to load: reload falls back to the empty default build.
        self.create("n", "--loader", self.file_loader("n.jsonl"))
        self.ok("reload", "n")
        self.assertEqual(self.contents("n"), {})

    def test_failing_deleter_leaves_the_cache(self):
        self.create("n", "--deleter", BOOM)
        self.ok("set", "n", "foo", "bar")
        self.ok("depend", "n", "child")
        self.ok("set", "child", "k", "v")
        self.hook_fails(4, "drop", "n")
        self.assertEqual(self.contents("n"), {"foo": "bar"})
        self.assertEqual(self.contents("child"), {"k": "v"}, "dependents not cleared either")
        listing = {c["name"]: c for c in json.loads(self.ok("list", "--json").text)}
        self.assertEqual(listing["n"]["children"], ["child"])
        self.create("n", "--deleter", "")
        self.ok("drop", "n")
        self.fails(1, "keys", "n")


# ==========================================================================================
class DependentsTest(HooksTestCase):
    def logging_pair(self, cache):
        """Saver/loader of `cache` that log their runs and use tmp/<cache>.jsonl."""
        self.create(cache,
                    "--saver", self.logs("save $CACHEMAN_CACHE") + "; " + self.file_saver(cache + ".jsonl"),
                    "--loader", self.logs("load $CACHEMAN_CACHE") + "; " + self.file_loader(cache + ".jsonl"))

    def test_cascade_save_and_reload_dependents_first(self):
        # seed: cacher_tests.test_dependent_save_and_delete, cacher_tests.test_chain_registrated_save,
        # wrap_tests.test_dependents
        self.ok("depend", "A", "B")
        self.ok("depend", "B", "grandchild")  # registered before the grandchild has settings
        for cache in ("A", "B", "grandchild"):
            self.logging_pair(cache)
        self.ok("set", "A", "foo", "bar")
        self.ok("set", "B", "baz", "bar")
        self.ok("set", "grandchild", "grand", "child")
        self.ok("save", "--cascade", "A")
        self.assertEqual(self.log_lines(), ["save grandchild", "save B", "save A"])
        # Without --cascade, only the cache itself.
        self.ok("save", "B")
        self.assertEqual(self.log_lines()[3:], ["save B"])
        for cache in ("A", "B", "grandchild"):
            self.ok("set", cache, "foo", "changed")
        os.remove(self.log)
        self.ok("reload", "--cascade", "A")
        self.assertEqual(self.log_lines(), ["load grandchild", "load B", "load A"])
        self.assertEqual(self.contents("A"), {"foo": "bar"})
        self.assertEqual(self.contents("B"), {"baz": "bar"})
        self.assertEqual(self.contents("grandchild"), {"grand": "child"})
        os.remove(self.log)
        self.ok("reload", "B")
        self.assertEqual(self.log_lines(), ["load B"])

    def test_cascade_order_in_a_diamond(self):
        for parent, child in (("A", "B"), ("A", "C"), ("B", "D"), ("C", "D"), ("D", "E")):
            self.ok("depend", parent, child)
        for cache in "ABCDE":
            self.logging_pair(cache)
        self.ok("save", "--cascade", "A")
        order = self.log_lines()
        self.assertEqual(sorted(order), sorted("save " + c for c in "ABCDE"), order)
        pos = {line.split()[1]: i for i, line in enumerate(order)}
        for parent, child in (("A", "B"), ("A", "C"), ("B", "D"), ("C", "D"), ("D", "E")):
            self.assertLess(pos[child], pos[parent], "dependents first: %s" % order)

    def test_dependent_invalidate(self):
        # seed: cacher_tests.test_dependent_invalidate, wrap_tests.test_dependents (invalidate(True))
        self.create("A", "--builder", prints({"foo": "bar"}))
        self.create("B", "--builder", prints({"baz": "bar"}))
        self.ok("depend", "A", "B")
        self.assertEqual(self.contents("A"), {"foo": "bar"})
        self.assertEqual(self.contents("B"), {"baz": "bar"})
        self.ok("set", "A", "ignored", "True")
        self.ok("set", "B", "ignored", "True")
        self.ok("invalidate", "A")
        self.assertEqual(self.contents("A"), {"foo": "bar"})
        self.assertEqual(self.contents("B"), {"baz": "bar"})

    def test_invalidate_chains_reach_grandchildren(self):
        # seed: cacher_tests.test_chain_registrated_save (the chain), cacher_tests.test_dependent_invalidate
        for parent, child in (("root", "child"), ("child", "grandchild"), ("grandchild", "great")):
            self.ok("depend", parent, child)
        self.ok("depend", "upstream", "root")
        for cache in ("upstream", "root", "child", "grandchild", "great", "unrelated"):
            self.ok("set", cache, "k", cache)
        self.ok("invalidate", "child")
        self.assertEqual(self.contents("child"), {})
        self.assertEqual(self.contents("grandchild"), {})
        self.assertEqual(self.contents("great"), {})
        for cache in ("upstream", "root", "unrelated"):
            self.assertEqual(self.contents(cache), {"k": cache})
        # A grandchild with a builder is built again on its next read.
        self.create("grandchild", "--builder", prints({"g": "built"}))
        self.ok("rebuild", "grandchild")
        self.ok("invalidate", "root")
        self.assertEqual(self.contents("grandchild"), {"g": "built"})
        self.assertEqual(self.contents("great"), {})


# ==========================================================================================
class VolatileTest(HooksTestCase):
    def volatile_files(self):
        return sorted(os.listdir(self.runtime)) if os.path.isdir(self.runtime) else []

    def namespace_bytes(self, namespace="default"):
        data = b""
        for suffix in ("", "-wal", "-journal"):
            p = self.store_path(namespace) + suffix
            if os.path.exists(p):
                with open(p, "rb") as f:
                    data += f.read()
        return data

    def runtime_bytes(self):
        data = b""
        for name in self.volatile_files():
            with open(os.path.join(self.runtime, name), "rb") as f:
                data += f.read()
        return data

    def test_non_persistent_cache(self):
        # seed: cacher_tests.test_non_persistent_register, wrap_tests.test_non_persistent_cache_wrap
        self.create("n", "--volatile")
        self.ok("import", "n", input=(jline("foo", "bar") + "\n").encode())
        self.ok("save", "n")
        self.assertEqual(self.contents("n"), {"foo": "bar"})
        self.ok("set", "n", "baz", "bar")
        self.assertEqual(self.contents("n"), {"foo": "bar", "baz": "bar"})
        self.ok("save", "n")
        self.ok("reload", "n")
        self.assertEqual(self.contents("n"), {}, "reload without a loader empties a volatile cache")
        self.ok("set", "n", "baz", "bar")
        self.assertEqual(self.contents("n"), {"baz": "bar"})
        self.ok("rebuild", "n")
        self.assertEqual(self.contents("n"), {})
        self.assertIsNone(self.get("n", "foo"))

    def test_volatile_file_location(self):
        self.create("v", "--volatile")
        self.ok("set", "v", "k", "v")
        files = self.volatile_files()
        self.assertEqual(len(files), 1, files)
        self.assertRegex(files[0], r"^default-[0-9a-f]{16}\.sqlite$")
        self.assertEqual(os.stat(os.path.join(self.runtime, files[0])).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(self.runtime).st_mode & 0o777, 0o700)
        # Without CACHEMAN_RUNTIME_DIR: $XDG_RUNTIME_DIR/cacheman, per namespace.
        xdg = self.path("xdg")
        os.mkdir(xdg, 0o700)
        env = {"CACHEMAN_RUNTIME_DIR": None, "XDG_RUNTIME_DIR": xdg}
        self.ok("-n", "other", "create", "--volatile", "w", env=env)
        self.ok("-n", "other", "set", "w", "k", "v2", env=env)
        self.assertEqual(self.ok("-n", "other", "get", "w", "k", env=env).out, b"v2")
        names = os.listdir(os.path.join(xdg, "cacheman"))
        self.assertTrue(any(re.match(r"^other-[0-9a-f]{16}\.sqlite$", n) for n in names), names)
        # An empty CACHEMAN_RUNTIME_DIR counts as unset.
        env["CACHEMAN_RUNTIME_DIR"] = ""
        self.assertEqual(self.ok("-n", "other", "get", "w", "k", env=env).out, b"v2")

    def test_volatile_reload_with_loader(self):
        self.create("v", "--volatile", "--loader", prints({"foo": "loaded"}))
        self.ok("set", "v", "x", "1")
        self.ok("reload", "v")
        self.assertEqual(self.contents("v"), {"foo": "loaded"})

    def test_invalidating_a_parent_clears_volatile_children(self):
        # seed: wrap_tests.test_dependents (non-persistent dependents)
        self.ok("set", "P", "k", "p")
        self.create("V", "--volatile")
        self.create("W", "--volatile")
        self.ok("depend", "P", "V")
        self.ok("depend", "V", "W")
        self.ok("depend", "P", "persistent")
        for cache in ("V", "W", "persistent"):
            self.ok("set", cache, "k", cache)
        self.ok("invalidate", "P")
        for cache in ("P", "V", "W", "persistent"):
            self.assertEqual(self.contents(cache), {}, cache)
        # By key too, and by rebuild and drop of the parent.
        for step in (("invalidate", "P", "k"), ("rebuild", "P"), ("drop", "P")):
            with self.subTest(step=step):
                self.ok("set", "V", "k", "again")
                self.ok("set", "W", "k", "again")
                self.ok(*step)
                self.assertEqual(self.contents("V"), {})
                self.assertEqual(self.contents("W"), {})

    def test_volatile_values_never_reach_the_namespace_file(self):
        marks = ["VOLATILE-SET-7f3a", "VOLATILE-IMPORT-7f3a", "VOLATILE-BUILD-7f3a",
                 "VOLATILE-LOAD-7f3a", "VOLATILE-STDIN-7f3a", "VOLATILE-KEY-7f3a"]
        self.ok("set", "parent", "p", "persistent-value")  # the namespace file has a WAL in use
        # The hooks compute their marks, so the commands stored in the namespace file as settings
        # do not hold them literally.
        self.create("v", "--volatile",
                    "--builder", "printf '{\"key\": \"b\", \"value\": \"VOLATILE-%s-7f3a\"}\\n' BUILD",
                    "--loader", "printf '{\"key\": \"l\", \"value\": \"VOLATILE-%s-7f3a\"}\\n' LOAD")
        self.ok("depend", "parent", "v")
        steps = [
            (("get", "v", "b"), b""),  # lazy build
            (("set", "v", "s", marks[0]), b""),
            (("import", "v"), (jline("i", marks[1]) + "\n").encode()),
            (("set", "v", "stdin"), marks[4].encode()),
            (("set", "v", marks[5], "x"), b""),
            (("reload", "v"), b""),
            (("rebuild", "v"), b""),
            (("invalidate", "parent"), b""),
            (("get", "v", "b"), b""),
        ]
        for step, data in steps:
            self.ok(*step, input=data)
            data = self.namespace_bytes()
            leaked = [mark for mark in marks if mark.encode() in data]
            self.assertEqual(leaked, [], "volatile values in the namespace file (or its -wal) "
                             "after %s" % (step,))
        self.assertEqual(self.contents("v"), {"b": marks[2]})
        # The test would be vacuous if the values were nowhere: they are in the runtime file.
        self.ok("set", "v", "s", marks[0])
        self.ok("reload", "v")
        self.assertTrue(marks[0].encode() in self.runtime_bytes() or
                        marks[3].encode() in self.runtime_bytes(), "values in the runtime file")
        self.assertFalse(marks[0].encode() in self.namespace_bytes())
        self.assertFalse(marks[3].encode() in self.namespace_bytes())
        self.assertEqual(self.integrity(), "ok")

    def test_switching_volatility_keeps_the_contents(self):
        self.ok("set", "c", "foo", "bar")
        self.ok("set", "c", "bin", input=b"\x00\xff\xfe")
        self.create("c", "--volatile")
        self.assertTrue(self.show("c")["volatile"])
        self.assertEqual(self.get("c", "foo"), b"bar")
        self.assertEqual(self.get("c", "bin"), b"\x00\xff\xfe")
        self.ok("set", "c", "vol", "VOLATILE-ONLY-91c")
        self.assertFalse(b"VOLATILE-ONLY-91c" in self.namespace_bytes(), "volatile value on disk")
        self.create("c", "--no-volatile")
        self.assertFalse(self.show("c")["volatile"])
        self.assertEqual(self.contents("c"), {"foo": "bar", "vol": "VOLATILE-ONLY-91c",
                                              "bin": None})
        self.assertEqual(self.get("c", "bin"), b"\x00\xff\xfe")
        # Persistent now: it survives the runtime directory vanishing (a reboot).
        subprocess.run(["rm", "-rf", self.runtime], check=True)
        self.assertEqual(self.get("c", "vol"), b"VOLATILE-ONLY-91c")

    def test_volatile_cache_after_reboot_is_empty_not_broken(self):
        self.create("v", "--volatile")
        self.ok("set", "v", "k", "v")
        self.ok("depend", "p", "v")
        subprocess.run(["rm", "-rf", self.runtime], check=True)  # a reboot
        self.assertEqual(self.contents("v"), {})
        self.ok("set", "v", "k", "again")
        self.assertEqual(self.get("v", "k"), b"again")
        self.ok("invalidate", "p")
        self.assertEqual(self.contents("v"), {})


# ==========================================================================================
class FailingHooksTest(HooksTestCase):
    def test_failing_hooks_leave_the_cache_intact(self):
        # seed: cacher_tests.test_deregistering (hooks that raise), cacher_tests.test_deregistering_all
        cases = [("builder", "rebuild"), ("post-processor", "rebuild"), ("saver", "save"),
                 ("pre-processor", "save"), ("deleter", "drop")]
        for hook, command in cases:
            with self.subTest(hook=hook):
                cache, child = "c-" + hook, "child-" + hook
                self.ok("set", cache, "foo", "bar")
                self.ok("depend", cache, child)
                self.ok("set", child, "k", "v")
                settings = ["--" + hook, BOOM]
                if hook == "pre-processor":
                    settings += ["--saver", self.logs("saver ran")]
                self.create(cache, *settings)
                r = self.hook_fails(4, command, cache)
                self.assertIn(hook, r.errtext)
                self.assertIn("'%s'" % cache, r.errtext)
                self.create(cache, "--" + hook, "")  # so that reading runs no hook
                self.assertEqual(self.contents(cache), {"foo": "bar"})
                self.assertEqual(self.contents(child), {"k": "v"})
                self.assertEqual(self.log_lines(), [], "the saver never saw a failed pre-processor")

    def test_failing_lazy_build_exits_4_on_read(self):
        self.create("c", "--builder", BOOM)
        for command in (("get", "c", "k"), ("keys", "c"), ("export", "c")):
            with self.subTest(command=command):
                self.hook_fails(4, *command)
        self.create("c", "--builder", prints({"k": "v"}))
        self.assertEqual(self.get("c", "k"), b"v")

    def test_failing_post_processor_on_reload(self):
        self.create("c", "--loader", prints({"new": "1"}), "--post-processor", BOOM)
        self.ok("set", "c", "foo", "bar")
        self.hook_fails(4, "reload", "c")
        self.assertEqual(self.contents("c"), {"foo": "bar"})

    def test_malformed_builder_output_exits_4_and_changes_nothing(self):
        # Output that is not in the export format is a failing hook: exit 4, nothing changed
        # (man/cacheman.1.scd HOOKS currently excepts rebuild, which clears first: a half-done
        # rebuild that leaves the cache and its dependents empty is what this test refuses).
        cases = [("echo not-json", None), ("echo '{\"key\": 1}'", None),
                 ("echo '{\"value\": \"x\"}'", None),
                 (prints({"x": "1"}), "echo garbage")]  # a post-processor that mangles it
        for i, (builder, post) in enumerate(cases):
            with self.subTest(builder=builder, post_processor=post):
                cache, child = "c%d" % i, "child%d" % i
                self.create(cache, "--builder", prints({"foo": "bar"}))
                self.ok("rebuild", cache)
                self.ok("depend", cache, child)
                self.ok("set", child, "k", "v")
                self.create(cache, "--builder", builder, *(["--post-processor", post] if post else []))
                self.hook_fails(4, "rebuild", cache, stderr_has="output")
                self.create(cache, "--builder", "", "--post-processor", "")  # reads run no hook
                self.assertEqual(self.contents(cache), {"foo": "bar"}, "cache unchanged")
                self.assertEqual(self.contents(child), {"k": "v"}, "dependents unchanged")

    def test_hooks_that_all_crash(self):
        # seed: cacher_tests.test_deregistering, cacher_tests.test_deregistering_all
        self.create("foo_bar", "--builder", prints({"foo": "bar"}))
        self.ok("rebuild", "foo_bar")
        crashers = []
        for hook in ("builder", "loader", "saver", "validator", "deleter",
                     "pre-processor", "post-processor"):
            crashers += ["--" + hook, self.logs(hook) + "; " + BOOM]
        self.create("foo_bar", *crashers)
        # Reading a built cache runs no hook.
        self.assertEqual(self.contents("foo_bar"), {"foo": "bar"})
        self.assertEqual(self.ok("keys", "foo_bar").text, "foo\n")
        self.assertEqual(self.log_lines(), [])
        for command in (["reload", "foo_bar"], ["rebuild", "foo_bar"], ["save", "foo_bar"],
                        ["drop", "foo_bar"]):
            with self.subTest(command=command):
                self.hook_fails(4, *command)
                self.assertEqual(self.contents("foo_bar"), {"foo": "bar"})
        # Clear every hook ('' removes it): back to the defaults.
        cleared = []
        for hook in ("builder", "loader", "saver", "validator", "deleter",
                     "pre-processor", "post-processor"):
            cleared += ["--" + hook, ""]
        self.create("foo_bar", *cleared)
        settings = self.show("foo_bar")
        for hook in ("builder", "loader", "saver", "validator", "deleter",
                     "pre_processor", "post_processor"):
            self.assertIsNone(settings[hook], hook)
        self.ok("reload", "foo_bar")
        self.assertEqual(self.contents("foo_bar"), {"foo": "bar"})
        self.ok("rebuild", "foo_bar")
        self.assertEqual(self.contents("foo_bar"), {})
        self.ok("drop", "foo_bar")
        self.fails(1, "keys", "foo_bar")


# ==========================================================================================
class EnvironmentTest(HooksTestCase):
    def test_hook_environment(self):
        # seed: wrap_tests.test_self_registering_cache (each hook is called, and knows its cache)
        other = self.path("other dir")
        record = self.logs("$1|$CACHEMAN_CACHE|$CACHEMAN_NAMESPACE|$CACHEMAN_DIR")

        def hook(kind, tail=""):
            # `set --` and `$1` prove the command goes through a shell.
            return "set -- %s; %s%s" % (kind, record, tail)

        name = "it's a \"cache\""
        env = {"CACHEMAN_NAMESPACE": "ignored", "CACHEMAN_DIR": self.path("ignored")}
        args = ["--dir", other, "-n", "proj"]
        self.ok(*args, "create", name,
                "--builder", hook("builder", "; " + prints({"k": "v"})),
                "--loader", hook("loader", "; " + prints({"k": "v"})),
                "--validator", hook("validator", "; cat >/dev/null"),
                "--post-processor", hook("post-processor", "; cat"),
                "--pre-processor", hook("pre-processor", "; cat"),
                "--saver", hook("saver", "; cat >/dev/null"),
                "--deleter", hook("deleter"), env=env)
        # reload before rebuild: after a rebuild, reload would not load the saved copy older
        # than the rebuild's clear (it would build instead).
        for command in ("reload", "rebuild", "save", "drop"):
            self.ok(*args, command, name, env=env)
        lines = self.log_lines()
        kinds = [l.split("|")[0] for l in lines]
        self.assertEqual(kinds, ["loader", "validator", "post-processor", "builder",
                                 "post-processor", "pre-processor", "saver", "deleter"])
        for line in lines:
            _, cache, namespace, directory = line.split("|")
            self.assertEqual(cache, name)
            self.assertEqual(namespace, "proj")
            self.assertEqual(os.path.realpath(directory), os.path.realpath(other))
        self.assertFalse(os.path.exists(self.path("ignored")))

    def test_hook_environment_defaults(self):
        self.create("c", "--builder", self.logs("$CACHEMAN_NAMESPACE|$CACHEMAN_DIR"))
        self.ok("rebuild", "c")
        [line] = self.log_lines()
        namespace, directory = line.split("|")
        self.assertEqual(namespace, "default")
        self.assertEqual(os.path.realpath(directory), os.path.realpath(self.dir))


# ==========================================================================================
class SettingsTest(HooksTestCase):
    def test_show_text_and_json(self):
        # seed: wrap_tests.test_self_registering_cache (each hook set, the others unset)
        self.create("c", "--builder", "b-cmd", "--saver", "s-cmd", "--ttl", "1h",
                    "--autosync-checks", "300:10,60:100")
        settings = self.show("c")
        self.assertEqual(settings["name"], "c")
        self.assertEqual(settings["builder"], "b-cmd")
        self.assertEqual(settings["saver"], "s-cmd")
        for hook in ("loader", "validator", "deleter", "pre_processor", "post_processor"):
            self.assertIsNone(settings[hook], hook)
        self.assertEqual(settings["ttl_ms"], 3600000)
        self.assertIs(settings["volatile"], False)
        self.assertIs(settings["autosync"], True, "on by default with a saver")
        self.assertEqual(settings["autosync_checks"], "60:100,300:10")
        text = self.ok("show", "c").text
        self.assertRegex(text, r"(?m)^builder\s+b-cmd$")
        self.assertRegex(text, r"(?m)^saver\s+s-cmd$")
        self.assertRegex(text, r"(?m)^volatile\s+no$")
        self.assertRegex(text, r"(?m)^autosync\s+on$")
        self.assertRegex(text, r"(?m)^autosync_checks\s+60:100,300:10$")
        # Defaults of a plain cache.
        self.ok("set", "plain", "k", "v")
        plain = self.show("plain")
        self.assertIs(plain["autosync"], False, "no saver, nothing to sync")
        self.assertEqual(plain["autosync_checks"], "60:10000,300:10,900:1")
        self.assertIsNone(plain["ttl_ms"])
        # Missing cache: exit 1, nothing created.
        self.fails(1, "show", "nope")
        self.fails(1, "--json", "show", "nope")
        self.assertNotIn("nope", self.ok("list").text.split("\n"))

    def test_each_hook_alone(self):
        # seed: wrap_tests.test_self_registering_cache
        hooks = ("builder", "loader", "saver", "validator", "deleter", "pre-processor",
                 "post-processor")
        for hook in hooks:
            cache = "foo_" + hook
            self.create(cache, "--" + hook, "echo custom")
            settings = self.show(cache)
            for other in hooks:
                key = other.replace("-", "_")
                self.assertEqual(settings[key], "echo custom" if other == hook else None,
                                 (hook, other))

    def test_create_updates_only_the_settings_given(self):
        self.create("c", "--builder", "b1", "--loader", "l1", "--ttl", "5m", "--volatile",
                    "--saver", "s1", "--no-autosync", "--autosync-checks", "1:2")
        # (no set into c: an edit builds an unbuilt cache first, and b1 is no real command)
        self.create("c", "--deleter", "d1")
        s = self.show("c")
        self.assertEqual((s["builder"], s["loader"], s["saver"], s["deleter"]),
                         ("b1", "l1", "s1", "d1"))
        self.assertEqual(s["ttl_ms"], 300000)
        self.assertIs(s["volatile"], True)
        self.assertIs(s["autosync"], False)
        self.assertEqual(s["autosync_checks"], "1:2")
        # '' removes a hook (and resets ttl and checks); the rest stays.
        self.create("c", "--builder", "", "--ttl", "", "--autosync-checks", "")
        s = self.show("c")
        self.assertIsNone(s["builder"])
        self.assertIsNone(s["ttl_ms"])
        self.assertEqual(s["autosync_checks"], "60:10000,300:10,900:1")
        self.assertEqual((s["loader"], s["saver"], s["deleter"]), ("l1", "s1", "d1"))
        self.assertIs(s["autosync"], False)
        self.assertIs(s["volatile"], True)
        self.create("c", "--autosync")
        self.assertIs(self.show("c")["autosync"], True)
        # create changes settings, never the contents.
        self.ok("set", "kept", "k", "v")
        self.create("kept", "--saver", "s1", "--ttl", "1h", "--loader", "l1")
        self.assertEqual(self.contents("kept"), {"k": "v"})
        self.create("kept", "--saver", "")
        self.assertEqual(self.contents("kept"), {"k": "v"})

    def test_create_refuses_bad_values_and_touches_nothing(self):
        for bad in (["--ttl", "0"], ["--ttl", "soon"], ["--autosync-checks", "60"],
                    ["--autosync-checks", "60:0"], ["--autosync-checks", "60:1,60:2"],
                    ["--no-such-option", "x"]):
            with self.subTest(bad=bad):
                self.fails(2, "create", *bad, "c")
                self.fails(1, "show", "c")
        self.create("c", "--builder", "b1")
        self.fails(2, "create", "--loader", "l1", "--ttl", "0", "c")
        self.assertIsNone(self.show("c")["loader"], "nothing applied from a refused create")

    def test_default_ttl(self):
        self.create("c", "--ttl", "1h")
        self.set_now(self.CLOCK_START)
        self.ok("set", "c", "k", "v")
        self.ok("set", "--ttl", "10s", "c", "short", "v")
        entries = {json.loads(l)["key"]: json.loads(l) for l in self.ok("export", "c").text.splitlines()}
        self.assertEqual(entries["k"]["expires"], self.CLOCK_START + 3600)
        self.assertEqual(entries["short"]["expires"], self.CLOCK_START + 10)


# ==========================================================================================
class AutoSyncTest(HooksTestCase):
    def setUp(self):
        super().setUp()
        # The windows are counted in whole seconds of the clock: on the wall clock, two quick
        # commands may fall into two seconds. Tests that move time set it again.
        self.set_now(self.CLOCK_START)

    def counting_saver(self, cache, *extra):
        self.create(cache, "--saver", self.file_saver(cache + ".jsonl") + "; " + self.logs("saved"),
                    *extra)

    def saves(self):
        return len(self.log_lines())

    def test_import_of_10000_entries_saves_9999_does_not(self):
        # seed: autosync defaults (60:10000, checked at each edit); issue 4 "Tests"
        self.counting_saver("small")
        self.ok("import", "small", input=import_data(9999))
        self.assertEqual(self.saves(), 0, "9,999 quick edits do not save")
        self.assertFalse(os.path.exists(self.path("small.jsonl")))
        self.ok("set", "small", "one-more", "v")  # the 10,000th edit within 60 s
        self.assertEqual(self.saves(), 1)
        self.assertEqual(len(self.file_entries("small.jsonl")), 10000)

        os.remove(self.log)
        self.counting_saver("big")
        self.ok("import", "big", input=import_data(10000))
        self.assertEqual(self.saves(), 1, "an import of 10,000 entries is 10,000 edits at once")
        self.assertEqual(len(self.file_entries("big.jsonl")), 10000)
        # The counts start again after a save.
        self.ok("set", "big", "k", "v")
        self.assertEqual(self.saves(), 1)

    def test_no_autosync_never_saves_by_itself(self):
        self.counting_saver("c", "--no-autosync")
        self.ok("import", "c", input=import_data(10000))
        for i in range(3):
            self.ok("set", "c", "k%d" % i, "v")
        self.assertEqual(self.saves(), 0)
        self.ok("save", "c")
        self.assertEqual(self.saves(), 1)
        self.assertEqual(len(self.file_entries("c.jsonl")), 10003)

    def test_autosync_checks_fire_on_the_second_quick_edit(self):
        # seed: autosync_test.test_auto_sync_time_windows ("not_enough" alone does not save;
        # "first" and "second" at one instant do), csvcache_test.test_auto_sync_csv
        self.counting_saver("c", "--autosync-checks", "1:2")
        self.set_now(self.CLOCK_START + 0.5)  # all four edits within one second
        self.ok("set", "c", "not_enough", "True")
        self.assertEqual(self.saves(), 0, "one edit is below 1:2")
        self.ok("set", "c", "first", "1")
        self.assertEqual(self.saves(), 1, "the 2nd edit within a second saves")
        self.ok("set", "c", "second", "2")
        self.ok("del", "c", "not_enough")  # del counts as an edit too
        self.assertEqual(self.saves(), 2, "the counts restart after a save; the 4th edit saves")
        self.assertEqual(self.file_entries("c.jsonl"), {"first": "1", "second": "2"})

    def test_autosync_older_band(self):
        # seed: autosync_test.test_auto_sync_time_windows (edits counted in the older band:
        # "at least 10 edits between 60 and 300 s ago", scaled to 2 edits between 1 and 3 s ago)
        self.counting_saver("c", "--autosync-checks", "1:1000,3:2")
        self.set_now(self.CLOCK_START)
        self.ok("set", "c", "a", "1")
        self.ok("set", "c", "b", "2")
        self.assertEqual(self.saves(), 0, "2 edits in the newest second are below 1000")
        self.set_now(self.CLOCK_START + 2)
        self.ok("set", "c", "c", "3")
        self.assertEqual(self.saves(), 1, "the older band holds 2 edits")
        self.assertEqual(self.file_entries("c.jsonl"), {"a": "1", "b": "2", "c": "3"})

    def test_failed_autosync_keeps_the_change_and_exits_4(self):
        self.create("c", "--saver", BOOM, "--autosync-checks", "1:1")
        self.hook_fails(4, "set", "c", "k", "v")
        self.assertEqual(self.get("c", "k"), b"v", "the command's own change stays")
        self.hook_fails(4, "import", "c", input=(jline("i", "1") + "\n").encode())
        self.assertEqual(self.get("c", "i"), b"1")

    def test_rebuild_and_reload_are_not_edits(self):
        self.counting_saver("c", "--autosync-checks", "1:1",
                            "--builder", prints({"b": "1"}), "--loader", prints({"l": "1"}))
        self.ok("reload", "c")
        self.ok("get", "c", "l")
        self.ok("rebuild", "c")
        self.ok("get", "c", "b")
        self.assertEqual(self.saves(), 0)


# ==========================================================================================
class ForeignStoreTest(HooksTestCase):
    @unittest.skipUnless(hasattr(os, "geteuid") and os.geteuid() == 0, "needs root to chown")
    def test_store_not_owned_by_the_user_runs_no_hook(self):
        self.create("c", "--builder", self.logs("builder") + "; " + prints({"b": "1"}),
                    "--loader", self.logs("loader"), "--saver", self.logs("saver"),
                    "--deleter", self.logs("deleter"))
        self.ok("rebuild", "c")
        self.ok("set", "plain", "k", "v")
        self.ok("invalidate", "c")  # the next read would build
        os.remove(self.log)
        os.chown(self.store_path(), 65534, -1)
        try:
            for command in (["rebuild", "c"], ["reload", "c"], ["save", "c"], ["drop", "c"],
                            ["get", "c", "b"], ["keys", "c"]):
                with self.subTest(command=command):
                    r = self.fails(3, *command)
                    self.assertIn("own", r.errtext)
                    self.assertEqual(self.log_lines(), [], "no hook ran")
            # Since issue 9 (item 5) another user's store file is refused by every command.
            self.assertIn("owned by uid 65534", self.fails(3, "get", "plain", "k").errtext)
        finally:
            os.chown(self.store_path(), 0, -1)
        self.assertEqual(self.ok("show", "c").code, 0)
        self.assertEqual(self.get("c", "b"), b"1")


# ==========================================================================================
class DocsTest(unittest.TestCase):
    def read(self, *parts):
        with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
            return f.read()

    def test_exit_4_is_documented(self):
        # issue 4: "Document exit 4 in the contract section of the man page and README."
        readme = self.read("README.md")
        self.assertTrue(re.search(r"(?m)^\|\s*4\s*\|.*hook", readme),
                        "README.md: the exit status table has no row '| 4 | ... hook ...'")
        man = self.read("man", "cacheman.1.scd")
        section = man.split("# EXIT STATUS", 1)[-1].split("\n# ", 1)[0]
        self.assertTrue(re.search(r"\*4\*\s*\n\s+.*[Hh]ook", section),
                        "man/cacheman.1.scd: EXIT STATUS has no entry *4* about hooks")

    def test_readme_documents_the_hook_commands(self):
        # issue 4 "Done when": documented in README and man page source
        readme = self.read("README.md")
        missing = [word for word in ("create", "show", "rebuild", "reload", "save", "--volatile",
                                     "--cascade", "CACHEMAN_RUNTIME_DIR", "--autosync-checks")
                   if not re.search(r"`[^`]*%s[^`]*`" % re.escape(word), readme)]
        self.assertEqual(missing, [], "README.md does not document these")

    def test_security_of_hooks_is_documented(self):
        # issue 4: "say in the man page that whoever can write the store can run commands as you"
        man = self.read("man", "cacheman.1.scd")
        section = man.split("# SECURITY", 1)[-1].split("\n# ", 1)[0]
        self.assertTrue(re.search(r"(?is)hook", section) and
                        re.search(r"(?is)(own|owner)", section) and
                        re.search(r"(?is)write.{0,200}(run|execute)\w*\s.{0,40}command", section),
                        "man/cacheman.1.scd SECURITY: nothing says that whoever can write the "
                        "store can run commands as you, or that hooks of a store you do not own "
                        "are refused")


if __name__ == "__main__":
    unittest.main()
