"""`cacheman run --output PATH`: the files a step makes (CONTRACT.md, "Outputs, streaming and size";
issue 10).

Every step runs in the project directory self.proj and first appends a line to a counter file
outside it, so the number of lines is the number of executions, whatever happens to the outputs.
"""
import json
import re
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import unittest

from harness import BIN, SCHEMA_VERSION
from test_run import RunTestCase, default_signals

PIPE = subprocess.PIPE
PAST_NS = 1_000_000_000 * 10**9  # 2001-09-09: a mtime far before any run of these tests


def snapshot(path):
    """What is at `path`, never following a link: ("file", bytes, executable), ("link", target),
    ("dir", {name: snapshot}), ("missing",) or ("other",)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return ("missing",)
    if stat.S_ISLNK(st.st_mode):
        return ("link", os.readlink(path))
    if stat.S_ISDIR(st.st_mode):
        return ("dir", {name: snapshot(os.path.join(path, name)) for name in sorted(os.listdir(path))})
    if stat.S_ISREG(st.st_mode):
        with open(path, "rb") as f:
            return ("file", f.read(), bool(st.st_mode & stat.S_IXUSR))
    return ("other",)


def is_regular(path):
    return stat.S_ISREG(os.lstat(path).st_mode)


def is_real_directory(path):
    return stat.S_ISDIR(os.lstat(path).st_mode)


class OutputsTestCase(RunTestCase):
    """RunTestCase's steps, runs from a project directory."""

    def setUp(self):
        super().setUp()
        self.proj = os.path.join(self.tmp, "proj")
        os.makedirs(self.proj)

    # --- steps and runs (run_ok and the rest are RunTestCase's) ------------------------------
    def run_step(self, cmd, *options, cwd=None, **kwargs):
        return self.cm("run", *options, "--", *cmd, cwd=cwd or self.proj, **kwargs)

    def start_run(self, cmd, *options, cwd=None, **kwargs):
        kwargs.setdefault("preexec_fn", default_signals)
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        kwargs.setdefault("stdout", PIPE)
        kwargs.setdefault("stderr", PIPE)
        return subprocess.Popen([BIN, "run", *options, "--", *cmd], env=dict(self.env),
                                cwd=cwd or self.proj, **kwargs)

    def explain(self, cmd, *options, cwd=None):
        r = self.cm("--json", "run", "--explain", *options, "--", *cmd, cwd=cwd or self.proj)
        self.assertEqual(r.code, 0, r)
        return json.loads(r.text)

    # --- files ------------------------------------------------------------------------------
    def p(self, *parts):
        return os.path.join(self.proj, *parts)

    def write(self, path, data, mode=None):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        if mode is not None:
            os.chmod(path, mode)

    def read(self, path):
        with open(path, "rb") as f:
            return f.read()

    def source(self, name, size):
        """A file of `size` random bytes outside the project, for a step to copy: returns
        (path, bytes)."""
        data = os.urandom(size)
        path = os.path.join(self.tmp, "sources", name)
        self.write(path, data)
        return path, data

    def hit_after(self, cmd, output, remove):
        """Runs the step with `output` declared, calls `remove`, and runs it again: a hit."""
        self.run_ok(cmd, "--output", output)
        remove()
        self.run_ok(cmd, "--output", output)
        self.assertEqual(self.executions(), 1)

    # --- the store --------------------------------------------------------------------------
    def tables(self):
        return {r[0] for r in self.sql("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def content_rows(self):
        """The number of distinct contents the store holds (rows of its contents table)."""
        tables = self.tables()
        self.assertIn("contents", tables, "the store's tables: %s" % sorted(tables))
        return self.sql("SELECT count(*) FROM contents")[0][0]

    def assert_sound(self):
        self.assertEqual(self.integrity(), "ok")
        r = self.cm("check")
        self.assertEqual(r.code, 0, r)
        self.assertIn("integrity: ok", r.text)


class FileOutputTest(OutputsTestCase):
    def test_hit_restores_the_file_without_running_the_command(self):
        src, data = self.source("prog", 70_000)
        cmd = self.step("cp '%s' out.bin; chmod 755 out.bin; echo built; echo warn >&2" % src)
        first = self.run_ok(cmd, "--output", "out.bin")
        self.assertEqual((first.out, first.err), (b"built\n", b"warn\n"))
        self.assertEqual(self.executions(), 1)
        os.unlink(self.p("out.bin"))

        second = self.run_ok(cmd, "--output", "out.bin")
        self.assertEqual(self.executions(), 1, "a hit runs nothing")
        self.assertTrue(self.read(self.p("out.bin")) == data, "the bytes are restored exactly")
        self.assertTrue(is_regular(self.p("out.bin")))
        self.assertTrue(os.stat(self.p("out.bin")).st_mode & stat.S_IXUSR, "executable again")
        self.assertEqual((second.out, second.err), (b"built\n", b"warn\n"))

    def test_a_file_that_was_not_executable_is_restored_without_the_bit(self):
        cmd = self.step("printf 'plain' > out.txt; chmod 644 out.txt")
        self.hit_after(cmd, "out.txt", lambda: os.unlink(self.p("out.txt")))
        self.assertEqual(snapshot(self.p("out.txt")), ("file", b"plain", False))

    def test_an_empty_file_is_restored(self):
        cmd = self.step(": > empty")
        self.hit_after(cmd, "empty", lambda: os.unlink(self.p("empty")))
        self.assertEqual(snapshot(self.p("empty")), ("file", b"", False))

    def test_an_absolute_output_path_is_restored(self):
        target = os.path.join(self.tmp, "elsewhere", "out.txt")
        os.makedirs(os.path.dirname(target))
        cmd = self.step("echo abs > '%s'" % target)
        self.hit_after(cmd, target, lambda: os.unlink(target))
        self.assertEqual(self.read(target), b"abs\n")

    def test_an_output_in_a_subdirectory_that_is_gone_is_restored_with_its_directory(self):
        cmd = self.step("mkdir -p build/bin && echo hi > build/bin/tool")
        self.hit_after(cmd, "build/bin/tool", lambda: shutil.rmtree(self.p("build")))
        self.assertEqual(self.read(self.p("build", "bin", "tool")), b"hi\n")

    def test_a_matching_file_is_left_untouched(self):
        src, data = self.source("prog", 10_000)
        cmd = self.step("cp '%s' out.bin; chmod 755 out.bin" % src)
        self.run_ok(cmd, "--output", "out.bin")
        os.utime(self.p("out.bin"), ns=(PAST_NS, PAST_NS))
        before = os.stat(self.p("out.bin"))

        self.run_ok(cmd, "--output", "out.bin")
        self.assertEqual(self.executions(), 1)
        after = os.stat(self.p("out.bin"))
        self.assertEqual(after.st_mtime_ns, PAST_NS, "the mtime of a matching file is kept")
        self.assertEqual(after.st_ino, before.st_ino, "the very same file")
        self.assertEqual(self.read(self.p("out.bin")), data)

    def test_a_file_with_other_bytes_is_replaced_and_gets_the_current_time(self):
        src, data = self.source("prog", 10_000)
        cmd = self.step("cp '%s' out.bin" % src)
        self.run_ok(cmd, "--output", "out.bin")
        # Other bytes of the same size, with the old mtime: only the bytes tell them apart.
        self.write(self.p("out.bin"), bytes(b ^ 0xFF for b in data[:100]) + data[100:])
        os.utime(self.p("out.bin"), ns=(PAST_NS, PAST_NS))
        # A second name for the changed file: a replacement by rename leaves it as it is.
        os.link(self.p("out.bin"), os.path.join(self.tmp, "hardlink"))
        before = os.stat(self.p("out.bin"))
        # A file written now: the restored file is written after it, so its mtime is not older.
        probe = os.path.join(self.tmp, "probe")
        self.write(probe, b"")
        now_ns = os.stat(probe).st_mtime_ns

        self.run_ok(cmd, "--output", "out.bin")
        self.assertEqual(self.executions(), 1)
        after = os.stat(self.p("out.bin"))
        self.assertTrue(self.read(self.p("out.bin")) == data, "the recorded bytes are back")
        self.assertGreater(after.st_mtime_ns, PAST_NS)
        self.assertGreaterEqual(after.st_mtime_ns, now_ns, "a restored file gets the current time")
        self.assertNotEqual(after.st_ino, before.st_ino, "written beside and renamed into place")
        self.assertEqual(self.read(os.path.join(self.tmp, "hardlink"))[100:], data[100:])
        self.assertNotEqual(self.read(os.path.join(self.tmp, "hardlink")), data,
                            "the file was not written in place (its other name still has the "
                            "user's bytes)")

    def test_other_bytes_in_the_same_file_with_its_recorded_mtime_are_still_restored(self):
        src, data = self.source("prog", 10_000)
        cmd = self.step("cp '%s' out.bin" % src)
        self.run_ok(cmd, "--output", "out.bin")
        recorded = os.stat(self.p("out.bin"))
        # The same file (inode), size and mtime as recorded, other bytes: only its ctime moved.
        with open(self.p("out.bin"), "r+b") as f:
            f.write(bytes(b ^ 0xFF for b in data[:100]))
        os.utime(self.p("out.bin"), ns=(recorded.st_atime_ns, recorded.st_mtime_ns))
        changed = os.stat(self.p("out.bin"))
        self.assertEqual((changed.st_ino, changed.st_size, changed.st_mtime_ns),
                         (recorded.st_ino, recorded.st_size, recorded.st_mtime_ns))

        self.run_ok(cmd, "--output", "out.bin")
        self.assertEqual(self.executions(), 1)
        self.assertTrue(self.read(self.p("out.bin")) == data, "the recorded bytes are back")

    def test_a_file_whose_executable_bit_differs_is_replaced(self):
        cmd = self.step("echo '#!/bin/sh' > tool; chmod 755 tool")
        self.run_ok(cmd, "--output", "tool")
        os.chmod(self.p("tool"), 0o644)
        os.utime(self.p("tool"), ns=(PAST_NS, PAST_NS))
        self.run_ok(cmd, "--output", "tool")
        self.assertEqual(self.executions(), 1)
        st = os.stat(self.p("tool"))
        self.assertTrue(st.st_mode & stat.S_IXUSR, "the executable bit is back")
        self.assertGreater(st.st_mtime_ns, PAST_NS, "a replaced file gets the current time")
        self.assertEqual(self.read(self.p("tool")), b"#!/bin/sh\n")

    def test_a_file_that_gained_the_executable_bit_loses_it(self):
        cmd = self.step("echo data > out.txt; chmod 644 out.txt")
        self.run_ok(cmd, "--output", "out.txt")
        os.chmod(self.p("out.txt"), 0o755)
        self.run_ok(cmd, "--output", "out.txt")
        self.assertEqual(snapshot(self.p("out.txt")), ("file", b"data\n", False))

    def test_a_directory_in_the_place_of_a_file_output_is_replaced(self):
        cmd = self.step("echo file > out")
        self.run_ok(cmd, "--output", "out")
        os.unlink(self.p("out"))
        self.write(self.p("out", "inner", "x"), b"x")
        self.run_ok(cmd, "--output", "out")
        self.assertEqual(self.executions(), 1)
        self.assertEqual(snapshot(self.p("out")), ("file", b"file\n", False))

    def test_explain_restores_nothing(self):
        cmd = self.step("echo v > out.txt")
        self.run_ok(cmd, "--output", "out.txt")
        os.unlink(self.p("out.txt"))
        self.assertIs(self.explain(cmd, "--output", "out.txt")["hit"], True)
        self.assertFalse(os.path.lexists(self.p("out.txt")), "--explain writes no output")

    def test_replay_only_restores_on_a_hit_and_writes_nothing_on_a_miss(self):
        cmd = self.step("echo v > out.txt")
        r = self.run_step(cmd, "--replay-only", "--output", "out.txt")
        self.assertEqual((r.code, r.out), (1, b""), r)
        self.assertEqual(self.executions(), 0)
        self.assertFalse(os.path.lexists(self.p("out.txt")))
        self.run_ok(cmd, "--output", "out.txt")
        os.unlink(self.p("out.txt"))
        self.run_ok(cmd, "--replay-only", "--output", "out.txt")
        self.assertEqual(self.executions(), 1)
        self.assertEqual(self.read(self.p("out.txt")), b"v\n")

    def test_force_records_the_new_output(self):
        cmd = self.step("echo v$n > out.txt")
        self.run_ok(cmd, "--output", "out.txt")
        self.run_ok(cmd, "--force", "--output", "out.txt")
        self.assertEqual(self.executions(), 2)
        os.unlink(self.p("out.txt"))
        self.run_ok(cmd, "--output", "out.txt")
        self.assertEqual(self.executions(), 2)
        self.assertEqual(self.read(self.p("out.txt")), b"v2\n")

    def test_a_volatile_results_cache_restores_outputs(self):
        self.ok("create", "--volatile", "run")
        src, data = self.source("blob", 200_000)
        cmd = self.step("cp '%s' out.bin" % src)
        self.hit_after(cmd, "out.bin", lambda: os.unlink(self.p("out.bin")))
        self.assertTrue(self.read(self.p("out.bin")) == data)


class DirectoryOutputTest(OutputsTestCase):
    def setUp(self):
        super().setUp()
        self.big, _ = self.source("big", 300_000)
        with open(os.path.join(self.tmp, "outside.txt"), "wb") as f:
            f.write(b"outside\n")
        # A tree with nested directories, an empty one, an executable, links inside (relative),
        # outside (relative, leaving the tree) and dangling (absolute).
        self.cmd = self.step(
            "rm -rf out; mkdir -p out/a/b out/a/empty out/c; "
            "echo top > out/top.txt; echo deep > out/a/b/deep.txt; "
            "cp '%s' out/c/big.bin; printf '#!/bin/sh\\n' > out/c/run.sh; chmod 755 out/c/run.sh; "
            "ln -s a/b/deep.txt out/link-in; ln -s ../../outside.txt out/link-out; "
            "ln -s /nonexistent/cacheman-target out/a/dangling" % self.big)
        self.run_ok(self.cmd, "--output", "out")
        self.recorded = snapshot(self.p("out"))

    def hit(self):
        r = self.run_ok(self.cmd, "--output", "out")
        self.assertEqual(self.executions(), 1, "a hit runs nothing")
        return r

    def test_the_tree_as_recorded(self):
        # What the step made, as the test expects it (so that the later comparisons mean
        # something).
        kind, entries = self.recorded
        self.assertEqual(kind, "dir")
        self.assertEqual(sorted(entries), ["a", "c", "link-in", "link-out", "top.txt"])
        self.assertEqual(entries["a"][1]["empty"], ("dir", {}))
        self.assertEqual(entries["link-out"], ("link", "../../outside.txt"))

    def test_a_removed_directory_comes_back_exactly(self):
        shutil.rmtree(self.p("out"))
        self.hit()
        self.assertEqual(snapshot(self.p("out")), self.recorded)

    def test_links_are_restored_as_links_with_their_target_text(self):
        shutil.rmtree(self.p("out"))
        self.hit()
        self.assertEqual(os.readlink(self.p("out", "link-in")), "a/b/deep.txt")
        self.assertEqual(os.readlink(self.p("out", "link-out")), "../../outside.txt")
        self.assertEqual(os.readlink(self.p("out", "a", "dangling")), "/nonexistent/cacheman-target")
        self.assertEqual(self.read(os.path.join(self.tmp, "outside.txt")), b"outside\n",
                         "a link's target is never written")

    def test_a_link_in_the_tree_that_now_points_elsewhere_is_fixed(self):
        os.unlink(self.p("out", "link-in"))
        os.symlink("../top.txt", self.p("out", "link-in"))
        self.hit()
        self.assertEqual(snapshot(self.p("out")), self.recorded)

    def test_a_file_where_a_link_was_recorded_becomes_the_link_again(self):
        os.unlink(self.p("out", "link-out"))
        self.write(self.p("out", "link-out"), b"a file now")
        self.hit()
        self.assertEqual(snapshot(self.p("out")), self.recorded)
        self.assertEqual(self.read(os.path.join(self.tmp, "outside.txt")), b"outside\n")

    def test_files_the_user_added_are_removed(self):
        self.write(self.p("out", "extra.txt"), b"mine")
        self.write(self.p("out", "a", "new", "deeper", "file"), b"mine")
        self.write(self.p("out", "a", "empty", "not-empty-any-more"), b"mine")
        os.symlink("top.txt", self.p("out", "extra-link"))
        os.makedirs(self.p("out", "c", "new-empty"))
        self.hit()
        self.assertEqual(snapshot(self.p("out")), self.recorded)

    def test_a_missing_subdirectory_is_made(self):
        shutil.rmtree(self.p("out", "a"))
        self.hit()
        self.assertEqual(snapshot(self.p("out")), self.recorded)

    def test_an_empty_directory_that_is_gone_is_made(self):
        os.rmdir(self.p("out", "a", "empty"))
        self.hit()
        self.assertEqual(snapshot(self.p("out", "a", "empty")), ("dir", {}))

    def test_a_changed_file_inside_is_restored_and_matching_ones_are_untouched(self):
        self.write(self.p("out", "top.txt"), b"changed\n")
        os.utime(self.p("out", "c", "big.bin"), ns=(PAST_NS, PAST_NS))
        inode = os.stat(self.p("out", "c", "big.bin")).st_ino
        self.hit()
        self.assertEqual(snapshot(self.p("out")), self.recorded)
        after = os.stat(self.p("out", "c", "big.bin"))
        self.assertEqual((after.st_mtime_ns, after.st_ino), (PAST_NS, inode),
                         "a matching file inside a directory output is left as it is")

    def test_a_file_in_the_place_of_a_directory_is_replaced(self):
        shutil.rmtree(self.p("out", "a"))
        self.write(self.p("out", "a"), b"not a directory")
        self.hit()
        self.assertEqual(snapshot(self.p("out")), self.recorded)

    def test_a_file_in_the_place_of_the_whole_directory_is_replaced(self):
        shutil.rmtree(self.p("out"))
        self.write(self.p("out"), b"not a directory")
        self.hit()
        self.assertEqual(snapshot(self.p("out")), self.recorded)

    def test_streams_are_replayed_after_the_restore(self):
        cmd = self.step("mkdir -p d; echo x > d/x; echo made; echo note >&2")
        self.run_ok(cmd, "--output", "d")
        shutil.rmtree(self.p("d"))
        r = self.run_ok(cmd, "--output", "d")
        self.assertEqual((r.out, r.err), (b"made\n", b"note\n"))
        self.assertEqual(snapshot(self.p("d")), ("dir", {"x": ("file", b"x\n", False)}))


class SeveralOutputsTest(OutputsTestCase):
    def test_every_output_is_restored(self):
        cmd = self.step("echo a > a.txt; mkdir -p d/sub; echo b > d/sub/b.txt; echo c > c.txt")
        options = ("--output", "a.txt", "--output", "d", "--output", "c.txt")
        self.run_ok(cmd, *options)
        recorded = {name: snapshot(self.p(name)) for name in ("a.txt", "d", "c.txt")}
        for name in ("a.txt", "c.txt"):
            os.unlink(self.p(name))
        shutil.rmtree(self.p("d"))
        self.run_ok(cmd, *options)
        self.assertEqual(self.executions(), 1)
        self.assertEqual({name: snapshot(self.p(name)) for name in recorded}, recorded)

    def test_only_the_declared_outputs_are_restored(self):
        cmd = self.step("echo a > a.txt; echo b > b.txt")
        self.run_ok(cmd, "--output", "a.txt")
        os.unlink(self.p("a.txt"))
        os.unlink(self.p("b.txt"))
        self.run_ok(cmd, "--output", "a.txt")
        self.assertEqual(self.executions(), 1)
        self.assertEqual(self.read(self.p("a.txt")), b"a\n")
        self.assertFalse(os.path.lexists(self.p("b.txt")), "b.txt was never declared")

    def test_the_declared_outputs_are_part_of_the_key(self):
        cmd = self.step("echo a > a.txt; echo b > b.txt")
        keys = {
            "none": self.explain(cmd)["key"],
            "a": self.explain(cmd, "--output", "a.txt")["key"],
            "b": self.explain(cmd, "--output", "b.txt")["key"],
            "ab": self.explain(cmd, "--output", "a.txt", "--output", "b.txt")["key"],
        }
        self.assertEqual(len(set(keys.values())), 4, keys)
        self.assertEqual(self.executions(), 0)

        self.run_ok(cmd, "--output", "a.txt")
        self.run_ok(cmd, "--output", "a.txt", "--output", "b.txt")
        self.assertEqual(self.executions(), 2, "another list of outputs, another result")
        self.run_ok(cmd)
        self.assertEqual(self.executions(), 3, "no output differs from an output")
        self.run_ok(cmd, "--output", "a.txt", "--output", "b.txt")
        self.assertEqual(self.executions(), 3)

    def test_explain_shows_the_declared_outputs(self):
        cmd = self.step("echo a > a.txt")
        doc = self.explain(cmd, "--output", "a.txt")
        self.assertIn("a.txt", json.dumps(doc))
        text = self.cm("run", "--explain", "--output", "a.txt", "--", *cmd, cwd=self.proj)
        self.assertEqual(text.code, 0, text)
        self.assertIn("a.txt", text.text)


class MissingOutputTest(OutputsTestCase):
    def test_a_missing_output_is_named_and_nothing_is_stored(self):
        cmd = self.step("echo made > made.txt; echo out")
        r = self.run_step(cmd, "--output", "made.txt", "--output", "never.txt")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.out, b"out\n", "the command's stdout still reaches the caller")
        lines = r.errtext.splitlines()
        self.assertEqual(len(lines), 1, r)
        self.assertIn("never.txt", lines[0])
        self.assertNotIn("made.txt", lines[0])
        self.assertEqual(self.stored_keys(), [])
        r = self.run_step(cmd, "--output", "made.txt", "--output", "never.txt")
        self.assertEqual(self.executions(), 2, "nothing was stored: it runs again")

    def test_a_missing_output_keeps_a_failing_status(self):
        cmd = self.step("echo oops >&2; exit 3")
        r = self.run_step(cmd, "--cache-failures", "--output", "never.txt")
        self.assertEqual(r.code, 3, r)
        lines = r.errtext.splitlines()
        self.assertEqual(lines[0], "oops", r)
        self.assertEqual(len(lines), 2, r)
        self.assertIn("never.txt", lines[1])
        self.assertEqual(self.stored_keys(), [])
        self.assertEqual(self.run_step(cmd, "--cache-failures", "--output", "never.txt").code, 3)
        self.assertEqual(self.executions(), 2)

    def test_a_missing_directory_output_is_named(self):
        cmd = self.step("true")
        r = self.run_step(cmd, "--output", "build/dir")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(len(r.errtext.splitlines()), 1, r)
        self.assertIn("build/dir", r.errtext)
        self.assertEqual(self.stored_keys(), [])

    def test_a_dangling_link_as_the_output_is_recorded_as_a_link(self):
        # The declared path itself is a link whose target does not exist: it exists (as a link).
        cmd = self.step("ln -sf nowhere out")
        self.hit_after(cmd, "out", lambda: os.unlink(self.p("out")))
        self.assertEqual(snapshot(self.p("out")), ("link", "nowhere"))


class CacheFailuresTest(OutputsTestCase):
    def test_a_stored_failure_restores_its_outputs(self):
        cmd = self.step("echo partial > out.txt; echo broken >&2; exit 4")
        r = self.run_step(cmd, "--cache-failures", "--output", "out.txt")
        self.assertEqual(r.code, 4, r)
        self.assertEqual(len(self.stored_keys()), 1)
        os.unlink(self.p("out.txt"))
        r = self.run_step(cmd, "--cache-failures", "--output", "out.txt")
        self.assertEqual((r.code, r.err), (4, b"broken\n"), r)
        self.assertEqual(self.executions(), 1)
        self.assertEqual(self.read(self.p("out.txt")), b"partial\n")

    def test_a_failure_without_cache_failures_stores_no_output(self):
        cmd = self.step("echo try$n > out.txt; exit 4")
        self.assertEqual(self.run_step(cmd, "--output", "out.txt").code, 4)
        self.assertEqual(self.stored_keys(), [])
        os.unlink(self.p("out.txt"))
        self.assertEqual(self.run_step(cmd, "--output", "out.txt").code, 4)
        self.assertEqual(self.executions(), 2)
        self.assertEqual(self.read(self.p("out.txt")), b"try2\n")


class ContentAddressingTest(OutputsTestCase):
    def test_identical_bytes_are_stored_once(self):
        src, data = self.source("same", 100_000)
        other, _ = self.source("other", 100_000)
        self.run_ok(self.step("cp '%s' one.bin" % src), "--output", "one.bin")
        after_one = self.content_rows()
        self.assertGreaterEqual(after_one, 1, "the output's contents are in the contents table")
        # Another command, another cache, another name: the same bytes.
        self.run_ok(self.step("cp '%s' two.bin" % src), "--cache", "second", "--output", "two.bin")
        self.assertEqual(self.content_rows(), after_one, "the same bytes are stored once")
        # Two identical files in one directory output: once too.
        self.run_ok(self.step("mkdir -p d; cp '%s' d/x; cp '%s' d/y" % (src, src)), "--output", "d")
        self.assertEqual(self.content_rows(), after_one)
        self.run_ok(self.step("cp '%s' three.bin" % other), "--output", "three.bin")
        self.assertEqual(self.content_rows(), after_one + 1, "other bytes, another content")
        for name in ("one.bin", "two.bin"):
            os.unlink(self.p(name))
        shutil.rmtree(self.p("d"))
        self.run_ok(self.step("cp '%s' one.bin" % src), "--output", "one.bin")
        self.run_ok(self.step("cp '%s' two.bin" % src), "--cache", "second", "--output", "two.bin")
        self.run_ok(self.step("mkdir -p d; cp '%s' d/x; cp '%s' d/y" % (src, src)), "--output", "d")
        self.assertEqual(self.executions(), 4)
        for path in ("one.bin", "two.bin", "d/x", "d/y"):
            self.assertTrue(self.read(self.p(path)) == data, path)

    def test_check_reports_contents_that_lost_their_bytes(self):
        src, _ = self.source("checked", 3_000_000)  # three chunks
        self.run_ok(self.step("cp '%s' out.bin" % src), "--output", "out.bin")
        self.assertEqual(self.ok("check").text, "integrity: ok\nschema version: %d\n" % SCHEMA_VERSION)
        con = sqlite3.connect(self.store_path())
        con.execute("DELETE FROM content_chunks WHERE seq = 1")
        con.commit()
        con.close()
        r = self.cm("check")
        self.assertEqual(r.code, 3, r)
        self.assertRegex(r.text, r"\nproblem: content [0-9a-f]{32} does not hold its size in bytes\n")

    def test_contents_nothing_refers_to_are_removed_and_shared_ones_stay(self):
        baseline = self.content_rows() if os.path.exists(self.store_path()) else 0
        shared, shared_data = self.source("shared", 80_000)
        own, _ = self.source("own", 80_000)
        step_a = self.step("cp '%s' a.bin" % shared)
        step_b = self.step("cp '%s' b.bin" % shared)
        step_c = self.step("cp '%s' c.bin" % own)
        self.run_ok(step_a, "--cache", "one", "--output", "a.bin")
        self.run_ok(step_c, "--cache", "one", "--output", "c.bin")
        self.run_ok(step_b, "--cache", "two", "--output", "b.bin")
        with_all = self.content_rows()
        self.assertGreaterEqual(with_all, baseline + 2)

        self.ok("invalidate", "one")
        self.ok("gc")
        self.assertEqual(self.content_rows(), with_all - 1,
                         "c.bin's contents are gone; a.bin's stay, b.bin still refers to them")
        os.unlink(self.p("b.bin"))
        self.run_ok(step_b, "--cache", "two", "--output", "b.bin")
        self.assertEqual(self.executions(), 3, "b.bin's result is still a hit")
        self.assertTrue(self.read(self.p("b.bin")) == shared_data)

        self.ok("invalidate", "two")
        self.ok("gc")
        self.assertEqual(self.content_rows(), with_all - 2, "nothing refers to them any more")
        self.assert_sound()

    def test_dropping_the_results_cache_frees_its_contents(self):
        src, _ = self.source("blob", 50_000)
        self.run_ok(self.step("cp '%s' out.bin" % src), "--output", "out.bin")
        with_one = self.content_rows()
        self.ok("drop", "run")
        self.ok("gc")
        self.assertEqual(self.content_rows(), with_one - 1)
        self.assert_sound()

    def test_a_forced_rerun_with_other_bytes_frees_the_old_contents(self):
        src, _ = self.source("v1", 50_000)
        cmd = self.step("if [ $n -eq 1 ]; then cp '%s' out.bin; else echo small > out.bin; fi"
                        % src)
        self.run_ok(cmd, "--output", "out.bin")
        with_first = self.content_rows()
        self.run_ok(cmd, "--force", "--output", "out.bin")
        self.ok("gc")
        self.assertEqual(self.content_rows(), with_first, "the first bytes gave way to the second")


class InvalidationTest(OutputsTestCase):
    def test_invalidating_a_parent_runs_again_and_restores_nothing_stale(self):
        self.ok("depend", "inputs", "run")
        cmd = self.step("echo v$n > out.txt")
        self.run_ok(cmd, "--output", "out.txt")
        self.ok("invalidate", "inputs")
        os.unlink(self.p("out.txt"))
        self.run_ok(cmd, "--output", "out.txt")
        self.assertEqual(self.executions(), 2, "the invalidated result is gone")
        self.assertEqual(self.read(self.p("out.txt")), b"v2\n")
        os.unlink(self.p("out.txt"))
        self.run_ok(cmd, "--output", "out.txt")
        self.assertEqual(self.executions(), 2)
        self.assertEqual(self.read(self.p("out.txt")), b"v2\n", "the new result, not the old one")

    def test_an_invalidation_while_the_command_runs_stores_no_output(self):
        gate = self.gate()
        cmd = self.step("%s; echo v$n > out.txt" % gate.wait_cmd)
        self.ok("create", "run")
        proc = self.start_run(cmd, "--output", "out.txt")
        try:
            self.wait_until(gate.waiters, what="the step to start")
            self.ok("invalidate", "run")
        finally:
            gate.release()
        code, _, err = self.finish(proc)
        self.assertEqual(code, 0, err)
        self.assertEqual(self.read(self.p("out.txt")), b"v1\n")
        self.assertEqual(self.stored_keys(), [], "cleared while it ran: not stored")


class ExplainAndSizeTest(OutputsTestCase):
    def test_explain_lists_the_outputs_with_their_sizes(self):
        src, _ = self.source("blob", 12_345)
        cmd = self.step("cp '%s' out.bin; mkdir -p d; head -c 777 '%s' > d/part" % (src, src))
        options = ("--output", "out.bin", "--output", "d")
        self.run_ok(cmd, *options)
        r = self.cm("run", "--explain", *options, "--", *cmd, cwd=self.proj)
        self.assertEqual(r.code, 0, r)
        lines = r.text.splitlines()
        self.assertEqual([l for l in lines if l.startswith("output")],
                         ["output  out.bin", "output  d"], r.text)
        self.assertTrue(any(re.match(r"^result\s+hit", l) for l in lines), r.text)
        stored = [l for l in lines if l.startswith("stored")]
        self.assertEqual(stored, ["stored  out.bin: 12345 bytes in 1 file",
                                  "stored  d: 777 bytes in 1 file"], r.text)
        j = json.loads(self.cm("--json", "run", "--explain", *options, "--", *cmd,
                               cwd=self.proj).text)
        self.assertEqual(j["outputs"], [{"path": "out.bin", "bytes": 12345, "files": 1},
                                        {"path": "d", "bytes": 777, "files": 1}])

    def test_list_and_stats_count_the_outputs_bytes(self):
        src, _ = self.source("blob", 60_000)
        # Two results of the same shape but for the output: the difference is its bytes.
        self.run_ok(self.step("cp '%s' out.bin" % src), "--cache", "plain")
        self.run_ok(self.step("cp '%s' out.bin" % src), "--cache", "with", "--output", "out.bin")
        listed = {c["name"]: c for c in json.loads(self.ok("--json", "list").text)}
        self.assertGreaterEqual(listed["with"]["bytes"] - listed["plain"]["bytes"], 60_000, listed)
        self.assertLess(listed["plain"]["bytes"], 60_000, listed)
        stats = {l.split("\t")[0]: l.split("\t") for l in self.ok("stats").text.splitlines()}
        self.assertGreaterEqual(int(stats["with"][2]) - int(stats["plain"][2]), 60_000, stats)


class ConfinementTest(OutputsTestCase):
    """What restores may write: only below the declared path, never through a link."""

    def test_a_link_in_the_place_of_a_file_output_is_replaced_not_followed(self):
        src, data = self.source("prog", 5_000)
        cmd = self.step("cp '%s' out.bin" % src)
        self.run_ok(cmd, "--output", "out.bin")
        victim = os.path.join(self.tmp, "victim.bin")
        self.write(victim, b"the user's other file")
        os.unlink(self.p("out.bin"))
        os.symlink(victim, self.p("out.bin"))
        self.run_ok(cmd, "--output", "out.bin")
        self.assertEqual(self.executions(), 1)
        self.assertTrue(is_regular(self.p("out.bin")), "the link was replaced by the file")
        self.assertTrue(self.read(self.p("out.bin")) == data)
        self.assertEqual(self.read(victim), b"the user's other file", "the link's target is unchanged")

    def test_a_link_to_a_file_with_the_same_bytes_is_still_replaced(self):
        cmd = self.step("echo same > out.txt")
        self.run_ok(cmd, "--output", "out.txt")
        victim = os.path.join(self.tmp, "victim.txt")
        self.write(victim, b"same\n")
        os.unlink(self.p("out.txt"))
        os.symlink(victim, self.p("out.txt"))
        self.run_ok(cmd, "--output", "out.txt")
        self.assertEqual(snapshot(self.p("out.txt")), ("file", b"same\n", False))

    def test_a_link_in_the_place_of_a_directory_output_is_replaced_not_followed(self):
        cmd = self.step("mkdir -p out/sub; echo x > out/sub/x; echo y > out/y")
        self.run_ok(cmd, "--output", "out")
        recorded = snapshot(self.p("out"))
        other = os.path.join(self.tmp, "other")
        self.write(os.path.join(other, "keep"), b"keep")
        shutil.rmtree(self.p("out"))
        os.symlink(other, self.p("out"))
        self.run_ok(cmd, "--output", "out")
        self.assertEqual(self.executions(), 1)
        self.assertTrue(is_real_directory(self.p("out")), "the link became a real directory")
        self.assertEqual(snapshot(self.p("out")), recorded)
        self.assertEqual(snapshot(other), ("dir", {"keep": ("file", b"keep", False)}),
                         "nothing was written into, or removed from, the link's target")

    def test_a_link_in_the_place_of_a_subdirectory_is_replaced_not_followed(self):
        cmd = self.step("mkdir -p out/sub; echo x > out/sub/x")
        self.run_ok(cmd, "--output", "out")
        recorded = snapshot(self.p("out"))
        other = os.path.join(self.tmp, "other")
        self.write(os.path.join(other, "keep"), b"keep")
        shutil.rmtree(self.p("out", "sub"))
        os.symlink(other, self.p("out", "sub"))
        self.run_ok(cmd, "--output", "out")
        self.assertEqual(snapshot(self.p("out")), recorded)
        self.assertEqual(snapshot(other), ("dir", {"keep": ("file", b"keep", False)}))

    def test_a_link_among_the_users_own_directories_above_an_output_is_followed(self):
        # The directories above the declared path are the user's own: a file output under build/
        # (a link) is restored where build/ leads, as the command itself wrote it.
        real = os.path.join(self.tmp, "real-build")
        os.makedirs(real)
        os.symlink(real, self.p("build"))
        cmd = self.step("echo v > build/out.txt")
        self.hit_after(cmd, "build/out.txt", lambda: os.unlink(os.path.join(real, "out.txt")))
        self.assertEqual(self.read(os.path.join(real, "out.txt")), b"v\n")

    # --- a store that was tampered with --------------------------------------------------
    def tamper(self, old, new):
        """Replaces the bytes `old` by `new` (of the same length) wherever the store holds them
        (in whichever table and column the record of a result keeps its outputs' paths);
        returns how many values were changed."""
        self.assertEqual(len(old), len(new))
        con = sqlite3.connect(self.store_path())
        changed = 0
        try:
            tables = [r[0] for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE '%WITHOUT ROWID%'")]
            for table in tables:
                columns = [r[1] for r in con.execute('PRAGMA table_info("%s")' % table)]
                for column in columns:
                    rows = con.execute('SELECT rowid, "%s" FROM "%s"' % (column, table)).fetchall()
                    for rowid, value in rows:
                        if isinstance(value, bytes) and old in value:
                            replaced = value.replace(old, new)
                        elif isinstance(value, str) and old.decode() in value:
                            replaced = value.replace(old.decode(), new.decode())
                        else:
                            continue
                        con.execute('UPDATE "%s" SET "%s" = ? WHERE rowid = ?' % (table, column),
                                    (replaced, rowid))
                        changed += 1
            con.commit()
        finally:
            con.close()
        return changed

    def test_a_record_with_a_dotdot_path_writes_nothing_outside(self):
        # The node "ab/x.txt" of out/ becomes "../x.txt" (as long), which would be proj/x.txt.
        # The step spells the name so that its argv does not hold "ab/x.txt".
        cmd = self.step('mkdir -p out/a""b; echo payload > out/a""b/x.txt')
        self.run_ok(cmd, "--output", "out")
        self.assertEqual(self.tamper(b"ab/x.txt", b"../x.txt"), 1, "the node's path is stored once")
        shutil.rmtree(self.p("out"))
        before = snapshot(self.proj)
        r = self.run_step(cmd, "--output", "out")
        # The hit may fail or run the command again: whatever it does, nothing outside changes.
        self.assertFalse(os.path.lexists(self.p("x.txt")), r)
        after = snapshot(self.proj)
        after[1].pop("out", None)
        self.assertEqual(after, before, r)
        self.assert_sound()

    def test_a_record_with_an_absolute_path_writes_nothing_outside(self):
        victim = os.path.join(self.tmp, "V")
        name = "n" * len(victim)
        cmd = self.step("name=$(printf '%%*s' %d '' | tr ' ' n); mkdir -p out; "
                        "echo payload > \"out/$name\"" % len(name))
        self.run_ok(cmd, "--output", "out")
        self.assertTrue(os.path.exists(self.p("out", name)))
        self.assertEqual(self.tamper(name.encode(), victim.encode()), 1,
                         "the node's path is stored once")
        shutil.rmtree(self.p("out"))
        r = self.run_step(cmd, "--output", "out")
        self.assertFalse(os.path.lexists(victim), r)
        self.assert_sound()

    def test_a_record_with_a_path_below_a_link_writes_nothing_through_it(self):
        # out/ln is a link to another directory and out/zz/f a file; the node "zz/f" becomes
        # "ln/f", a file below the link, which would land in the link's target.
        other = os.path.join(self.tmp, "other")
        os.makedirs(other)
        cmd = self.step('mkdir -p out/z""z; echo payload > out/z""z/f; ln -s "%s" out/ln' % other)
        self.run_ok(cmd, "--output", "out")
        self.assertEqual(self.tamper(b"zz/f", b"ln/f"), 1, "the node's path is stored once")
        shutil.rmtree(self.p("out"))
        r = self.run_step(cmd, "--output", "out")
        self.assertEqual(os.listdir(other), [], r)
        self.assert_sound()


class SingleFlightTest(OutputsTestCase):
    def test_concurrent_identical_runs_execute_once_and_both_have_the_output(self):
        src, data = self.source("blob", 500_000)
        gate = self.gate()
        cmd = self.step("%s; cp '%s' out.bin; mkdir -p d; echo v > d/v; echo done $n"
                        % (gate.wait_cmd, src))
        options = ("--output", "out.bin", "--output", "d")
        procs = [self.start_run(cmd, *options) for _ in range(2)]
        pids = {p.pid for p in procs}
        try:
            def state():
                at_gate = bool(gate.waiters())
                steps, waiting = self.executions(), len(self.flight_waiters() & pids)
                if steps > 1 or (at_gate and waiting == 1):
                    return steps, waiting
                return None
            self.assertEqual(self.wait_until(state, what="one run to wait for the other"), (1, 1))
        finally:
            gate.release()
        results = [self.finish(p) for p in procs]
        for code, out, err in results:
            self.assertEqual((code, out), (0, b"done 1\n"), err)
        self.assertEqual(self.executions(), 1)
        self.assertTrue(self.read(self.p("out.bin")) == data)
        self.assertEqual(snapshot(self.p("d")), ("dir", {"v": ("file", b"v\n", False)}))

    def test_a_follower_in_another_checkout_restores_the_leaders_outputs(self):
        # With --root, two checkouts share one key: the follower's outputs land in its own.
        src, data = self.source("blob", 200_000)
        first, second = os.path.join(self.tmp, "ck1"), os.path.join(self.tmp, "ck2")
        for root in (first, second):
            os.makedirs(root)
        gate = self.gate()
        cmd = self.step("%s; cp '%s' out.bin; echo done" % (gate.wait_cmd, src))
        leader = self.start_run(cmd, "--root", first, "--output", "out.bin", cwd=first)
        follower = None
        try:
            self.wait_until(gate.waiters, what="the leader's step to start")
            follower = self.start_run(cmd, "--root", second, "--output", "out.bin", cwd=second)
            self.wait_until(lambda: follower.pid in self.flight_waiters() or self.executions() > 1,
                            what="the follower to wait for the leader")
        finally:
            gate.release()
        results = [self.finish(p) for p in (leader, follower) if p]
        for code, out, err in results:
            self.assertEqual((code, out), (0, b"done\n"), err)
        self.assertEqual(self.executions(), 1)
        for root in (first, second):
            self.assertTrue(self.read(os.path.join(root, "out.bin")) == data, root)


class KillTest(OutputsTestCase):
    SIZE = 48 * 1024 * 1024

    def holds_write_lock(self, pid):
        """Whether process `pid` is in a write transaction of the store: in WAL mode, SQLite's
        writer holds a POSIX write lock on byte 120 of the -shm file (WAL_WRITE_LOCK)."""
        try:
            st = os.stat(self.store_path() + "-shm")
        except FileNotFoundError:
            return False
        dev_ino = "%02x:%02x:%d" % (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
        with open("/proc/locks") as f:
            for line in f:
                fields = line.split()
                if (len(fields) > 7 and fields[1] == "POSIX" and fields[3] == "WRITE"
                        and fields[4] == str(pid) and fields[5] == dev_ino and fields[6] == "120"):
                    return True
        return False

    def kill_when(self, proc, seen, what):
        """SIGKILLs proc as soon as seen() is true; returns whether it was killed (False when it
        ended first)."""
        self.wait_until(lambda: proc.poll() is not None or seen(), what=what)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        return proc.returncode == -signal.SIGKILL

    def names_in(self, directory):
        try:
            return set(os.listdir(directory))
        except FileNotFoundError:
            return set()

    def test_killed_while_storing_the_output(self):
        src, data = self.source("big", self.SIZE)
        self.ok("set", "other", "k", "v")
        killed = 0
        for trial in range(6):
            # Bytes of their own in each trial: contents already stored would not be written.
            cmd = self.step("cp '%s' out.bin; echo \"$1\" >> out.bin; echo trial" % src, str(trial))
            expected = data + b"%d\n" % trial
            runs_before = self.executions()
            proc = self.start_run(cmd, "--output", "out.bin")
            # After the command ran, cacheman writes its 48 MB output to the store, in a write
            # transaction: kill it there.
            if self.kill_when(proc, lambda: self.executions() > runs_before
                              and self.holds_write_lock(proc.pid), "the result to be stored"):
                killed += 1
            self.assert_sound()
            os.unlink(self.p("out.bin"))
            before = self.executions()
            r = self.run_ok(cmd, "--output", "out.bin")
            self.assertEqual(r.out, b"trial\n")
            self.assertIn(self.executions(), (before, before + 1), "a replay or one execution")
            self.assertTrue(self.read(self.p("out.bin")) == expected, "trial %d" % trial)
            # Stored now, whatever the kill left.
            os.unlink(self.p("out.bin"))
            stored = self.executions()
            self.run_ok(cmd, "--output", "out.bin")
            self.assertEqual(self.executions(), stored, "stored by the run after the kill")
            self.assertTrue(self.read(self.p("out.bin")) == expected)
            self.assertEqual(self.get("other", "k"), b"v")
            if killed >= 2:
                break
        self.assertGreater(killed, 0, "no trial was killed while storing")
        self.ok("gc")
        self.assert_sound()

    def test_killed_while_restoring_a_file(self):
        src, data = self.source("big", self.SIZE)
        cmd = self.step("cp '%s' out.bin" % src)
        self.run_ok(cmd, "--output", "out.bin")
        old = b"the user's own out.bin\n"
        killed = 0
        for trial in range(10):
            self.write(self.p("out.bin"), old)
            present = set(os.listdir(self.proj))
            proc = self.start_run(cmd, "--output", "out.bin")
            # A restore writes beside out.bin, then renames: kill while that file is there.
            if self.kill_when(proc, lambda: set(os.listdir(self.proj)) - present,
                              "a temporary file beside out.bin"):
                killed += 1
            now = self.read(self.p("out.bin"))
            self.assertTrue(now == old or now == data,
                            "out.bin is either as it was or as recorded (%d bytes)" % len(now))
            self.assert_sound()
            self.run_ok(cmd, "--output", "out.bin")
            self.assertEqual(self.executions(), 1, "the next run is a hit")
            self.assertTrue(self.read(self.p("out.bin")) == data,
                            "the next hit completes the restore")
            if killed >= 3:
                break
        self.assertGreater(killed, 0, "no trial was killed while restoring")

    def test_killed_while_restoring_a_directory(self):
        parts = [self.source("part%d" % i, self.SIZE // 4) for i in range(4)]
        names = {"part%d" % i for i in range(4)}
        cmd = self.step("mkdir -p out; " + "; ".join(
            "cp '%s' out/part%d" % (path, i) for i, (path, _) in enumerate(parts)))
        self.run_ok(cmd, "--output", "out")
        recorded = snapshot(self.p("out"))
        killed = 0
        for trial in range(10):
            shutil.rmtree(self.p("out"))
            for i in range(4):
                self.write(self.p("out", "part%d" % i), b"old %d\n" % i)
            proc = self.start_run(cmd, "--output", "out")
            if self.kill_when(proc, lambda: self.names_in(self.p("out")) - names,
                              "a temporary file in out/"):
                killed += 1
            for i, (_, data) in enumerate(parts):
                now = self.read(self.p("out", "part%d" % i))
                self.assertTrue(now in (b"old %d\n" % i, data),
                                "part%d is as it was or as recorded (%d bytes)" % (i, len(now)))
            self.assert_sound()
            self.run_ok(cmd, "--output", "out")
            self.assertEqual(self.executions(), 1, "the next run is a hit")
            self.assertEqual(snapshot(self.p("out")), recorded,
                             "the next hit completes the restore, leftovers removed")
            if killed >= 3:
                break
        self.assertGreater(killed, 0, "no trial was killed while restoring")


class RootTest(OutputsTestCase):
    def checkout(self, name):
        root = os.path.join(self.tmp, name)
        self.write(os.path.join(root, "src", "main.c"), b"int main(void) { return 0; }\n")
        return root

    def test_two_checkouts_share_the_result_and_the_output_lands_in_the_second(self):
        first, second = self.checkout("ck1"), self.checkout("ck2")
        cmd = self.step("mkdir -p build; cat src/main.c > build/a.out; chmod 755 build/a.out; "
                        "echo compiled")
        options = ("--watch", "src", "--output", "build/a.out")
        r = self.run_ok(cmd, "--root", first, *options, cwd=first)
        self.assertEqual(r.out, b"compiled\n")
        r = self.run_ok(cmd, "--root", second, *options, cwd=second)
        self.assertEqual(self.executions(), 1, "the second checkout shares the first's result")
        self.assertEqual(r.out, b"compiled\n")
        self.assertEqual(snapshot(os.path.join(second, "build", "a.out")),
                         ("file", b"int main(void) { return 0; }\n", True))
        self.assertEqual(os.listdir(os.path.join(first, "build")), ["a.out"])
        r = self.run_ok(cmd, *options, cwd=second, env={"CACHEMAN_ROOT": second})
        self.assertEqual(self.executions(), 1, "CACHEMAN_ROOT stands for --root")

    def test_an_output_outside_the_root_is_refused(self):
        root = self.checkout("ck1")
        outside = os.path.join(self.tmp, "outside.txt")
        r = self.run_step(self.step("echo x > '%s'" % outside), "--root", root, "--output", outside,
                          cwd=root)
        self.assertEqual(r.code, 2, r)
        self.assertIn(outside, r.errtext)
        self.assertEqual(self.executions(), 0)
        self.assertFalse(os.path.exists(outside))

    def test_the_output_path_counts_relative_to_the_root(self):
        first, second = self.checkout("ck1"), self.checkout("ck2")
        cmd = self.step("echo x > out.txt")
        a = self.explain(cmd, "--root", first, "--output", os.path.join(first, "out.txt"), cwd=first)
        b = self.explain(cmd, "--root", second, "--output", "out.txt", cwd=second)
        self.assertEqual(a["key"], b["key"], "an absolute path inside the root counts relative to it")


if __name__ == "__main__":
    unittest.main()
