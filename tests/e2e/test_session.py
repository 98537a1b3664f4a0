"""The session's policies as a user sees them, the same for every command: `run` is an edit like
`set` (auto-sync runs its saver), global options reach `run` when given between it and the
memoized command, and the defects of issue 9 that the session decides (entries kept when a builder
is attached later, stored failures replayed only to --cache-failures runs, a result computed
before an invalidation not stored)."""
import base64
import filecmp
import hashlib
import json
import os
import sqlite3
import subprocess
import unittest

from harness import BIN, CachemanTestCase


class RunIsAnEdit(CachemanTestCase):
    def saves(self):
        path = os.path.join(self.tmp, "saves")
        if not os.path.exists(path):
            return 0
        with open(path) as saves:
            return len(saves.read().splitlines())

    def test_each_stored_result_runs_the_saver_as_a_set_does(self):
        saver = 'cat > /dev/null; echo saved >> "%s"' % os.path.join(self.tmp, "saves")
        self.ok("create", "run", "--saver", saver, "--autosync-checks", "60:1")
        self.ok("run", "--", "echo", "one")
        self.assertEqual(self.saves(), 1, "the first stored result is an edit")
        self.ok("run", "--", "echo", "two")
        self.assertEqual(self.saves(), 2)
        self.assertEqual(self.ok("run", "--", "echo", "two").out, b"two\n")
        self.assertEqual(self.saves(), 2, "a hit stores nothing, so it saves nothing")
        self.ok("set", "run", "k", "v")
        self.assertEqual(self.saves(), 3)

    def test_run_lookups_are_counted_in_stats(self):
        self.ok("run", "--", "echo", "x")  # a miss
        self.ok("run", "--", "echo", "x")  # a hit
        self.ok("run", "--", "echo", "x")  # a hit
        stats = json.loads(self.ok("--json", "stats", "run").text)
        self.assertEqual((stats[0]["hits"], stats[0]["misses"]), (2, 1), stats)


class GlobalOptionsAfterRun(CachemanTestCase):
    def test_json_between_run_and_the_command(self):
        r = self.ok("run", "--json", "--explain", "--", "echo", "x")
        self.assertEqual(json.loads(r.text)["hit"], False)
        self.assertEqual(self.ok("run", "--json", "--", "echo", "x").out, b"x\n")

    def test_namespace_and_dir_between_run_and_the_command(self):
        other = os.path.join(self.tmp, "other")
        self.ok("run", "-n", "ns", "--dir", other, "--ttl", "1d", "echo", "y")
        self.assertTrue(os.path.exists(os.path.join(other, "ns.sqlite")))
        self.assertFalse(os.path.exists(os.path.join(self.dir, "default.sqlite")))
        self.assertEqual(self.ok("--dir", other, "-n", "ns", "keys", "run").text.count("\n"), 1)

    def test_words_after_the_command_are_the_commands(self):
        self.assertEqual(self.ok("run", "echo", "--json", "-n", "x").out, b"--json -n x\n")
        self.assertEqual(self.ok("run", "--", "echo", "-v").out, b"-v\n")

    def test_run_help_is_runs_help(self):
        self.assertIn(b"--cache-failures", self.ok("run", "--help").out)


class BuilderAttachedLater(CachemanTestCase):
    def test_entries_set_before_a_builder_is_attached_stay(self):
        self.ok("set", "prices", "EUR", "1.08")
        self.ok("create", "--builder", "printf '%s\\n' '{\"key\":\"USD\",\"value\":\"1\"}'",
                "prices")
        self.assertEqual(self.get("prices", "EUR"), b"1.08")
        self.assertIsNone(self.get("prices", "USD"), "the builder applies at the next rebuild")
        self.ok("rebuild", "prices")
        self.assertEqual(self.get("prices", "USD"), b"1")
        self.assertIsNone(self.get("prices", "EUR"))

    def test_a_failing_builder_attached_later_does_not_hide_the_entries(self):
        self.ok("set", "prices", "EUR", "1.08")
        self.ok("create", "--builder", "false", "prices")
        self.assertEqual(self.get("prices", "EUR"), b"1.08")


class StoredFailures(CachemanTestCase):
    def counter_command(self):
        counter = os.path.join(self.tmp, "runs")
        return ["sh", "-c", 'echo x >> "%s"; wc -l < "%s"; exit 14' % (counter, counter)]

    def test_a_stored_failure_replays_only_to_cache_failures_runs(self):
        command = self.counter_command()
        self.assertEqual(self.cm("run", "--cache-failures", "--", *command).code, 14)
        plain = self.cm("run", "--", *command)
        self.assertEqual((plain.code, plain.out.strip()), (14, b"2"), "a plain run executes")
        again = self.cm("run", "--cache-failures", "--", *command)
        self.assertEqual((again.code, again.out.strip()), (14, b"1"), "replays the stored one")


class ClearedWhileRunning(CachemanTestCase):
    """A result computed from inputs that were cleared while the command ran is not stored."""

    def run_while(self, *clear):
        gate = self.gate("gate-" + "-".join(clear))
        # -v between run and the command, as a global option: it says why nothing was stored.
        proc = self.popen("run", "-v", "--", "sh", "-c", gate.wait_cmd + "; echo old",
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            self.wait_until(lambda: gate.waiters() or proc.poll() is not None,
                            what="the command to block on its gate")
            self.assertIsNone(proc.poll(), "the command ended before it started")
            self.ok(*clear)
            gate.release()
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual((proc.returncode, out), (0, b"old\n"), (clear, err))
        self.assertIn(b"not stored", err, clear)
        keys = self.cm("keys", "run")
        self.assertEqual(keys.out, b"", "the stale result was not stored (%s)" % (clear,))

    def test_by_a_cascade(self):
        self.ok("depend", "inputs", "run")
        self.run_while("invalidate", "inputs")

    def test_by_invalidate_rebuild_or_drop_of_the_results_cache(self):
        self.ok("set", "run", "other", "x")
        for clear in (("invalidate", "run"), ("rebuild", "run"), ("drop", "run")):
            self.run_while(*clear)


class ReloadAfterAClear(CachemanTestCase):
    def test_reload_cascade_does_not_restore_a_dependent_computed_from_cleared_data(self):
        # issue 9, item 2, as reported: report's saved value was computed from the old raw.
        for cache in ("raw", "report"):
            copy = os.path.join(self.tmp, cache + ".jsonl")
            self.ok("create", cache, "--saver", 'cat > "%s"' % copy,
                    "--loader", 'cat "%s"' % copy)
        self.ok("depend", "raw", "report")
        self.ok("set", "raw", "n", "1")
        self.ok("set", "report", "sum", "1")
        self.ok("save", "--cascade", "raw")
        self.ok("invalidate", "raw")
        self.ok("set", "raw", "n", "2")
        self.ok("save", "raw")
        r = self.ok("reload", "--cascade", "raw")
        self.assertEqual(self.get("raw", "n"), b"2")
        self.assertIsNone(self.get("report", "sum"), "report's copy predates the clear")
        self.assertEqual(r.errtext, "cacheman: reload of 'report': its saved copy is older than "
                         "its last clear; emptied it\n")


class RunOutputErrors(CachemanTestCase):
    """A write error on run's own stdout or stderr (a full disk) is reported and fails the run;
    a reader that went away (a closed pipe) is not an error. The result is stored either way."""

    def run_into(self, stdout, stderr, *command):
        with open("/dev/full", "wb") as full:
            proc = subprocess.run([BIN, "run", "--", *command], env=self.env, cwd=self.tmp,
                                  stdin=subprocess.DEVNULL,
                                  stdout=full if stdout == "full" else subprocess.PIPE,
                                  stderr=full if stderr == "full" else subprocess.PIPE,
                                  timeout=60)
        return proc

    def test_a_full_stdout_fails_on_a_miss_and_on_a_hit(self):
        for attempt in ("miss", "hit"):
            proc = self.run_into("full", "pipe", "seq", "1", "200000")
            self.assertEqual(proc.returncode, 3, attempt)
            self.assertEqual(proc.stderr, b"cacheman: error: cannot write to stdout: "
                             b"No space left on device\n", attempt)
        self.assertEqual(len(self.ok("keys", "run").text.splitlines()), 1, "stored once")
        self.assertEqual(len(self.ok("run", "--", "seq", "1", "200000").out.splitlines()), 200000)

    def test_a_full_stderr_fails_the_run(self):
        proc = self.run_into("pipe", "full", "sh", "-c", "echo out; echo err >&2")
        self.assertEqual((proc.returncode, proc.stdout), (3, b"out\n"))

    def test_the_commands_own_failure_status_is_kept(self):
        proc = self.run_into("full", "pipe", "sh", "-c", "echo out; exit 5")
        self.assertEqual(proc.returncode, 5)
        self.assertIn(b"cannot write to stdout", proc.stderr)

    def test_a_closed_pipe_is_not_an_error(self):
        proc = subprocess.Popen([BIN, "run", "--", "seq", "1", "2000000"], env=self.env,
                                cwd=self.tmp, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        self.assertEqual(proc.stdout.readline(), b"1\n")
        proc.stdout.close()  # the reader goes away, as `| head -1` does
        err = proc.stderr.read()
        proc.stderr.close()
        self.assertEqual((proc.wait(timeout=60), err), (0, b""))
        self.assertEqual(len(self.ok("run", "--", "seq", "1", "2000000").out.splitlines()),
                         2000000, "the whole result was stored")


class RunOptionsOfPeers(CachemanTestCase):
    """Replay as it happened, and the run options other memoizers have (issue 10)."""

    def counter(self):
        path = os.path.join(self.tmp, "count")
        return ["sh", "-c", 'echo x >> "%s"; wc -l < "%s"' % (path, path)]

    def test_a_hit_replays_stdout_and_stderr_interleaved_as_written(self):
        # On the miss, each write waits (on a gate) until the test has read the one before it
        # from cacheman's live output: the order of arrival is the command's order.
        gates = [self.gate("gate%d" % i) for i in range(3)]
        script = "; ".join(["echo 1", gates[0].wait_cmd, "echo 2 >&2", gates[1].wait_cmd,
                            "echo 3", gates[2].wait_cmd, "echo 4 >&2"])
        proc = self.popen("run", "--", "sh", "-c", script, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
        try:
            for stream, line, gate in ((proc.stdout, b"1\n", gates[0]),
                                       (proc.stderr, b"2\n", gates[1]),
                                       (proc.stdout, b"3\n", gates[2])):
                self.assertEqual(stream.readline(), line)
                gate.release()
            self.assertEqual(proc.stderr.readline(), b"4\n")
            self.assertEqual(proc.wait(timeout=60), 0)
        finally:
            proc.stdout.close()
            proc.stderr.close()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        merged = subprocess.run([BIN, "run", "--", "sh", "-c", script], env=self.env,
                                cwd=self.tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                timeout=60)
        self.assertEqual(merged.stdout, b"1\n2\n3\n4\n", "2>&1 sees the live order")
        split = self.ok("run", "--", "sh", "-c", script)
        self.assertEqual((split.out, split.err), (b"1\n3\n", b"2\n4\n"), "each its own bytes")

    def test_stdin_is_part_of_the_key_only_with_stdin(self):
        self.assertEqual(self.ok("run", "--", "cat", input=b"b").out, b"b")
        self.assertEqual(self.ok("run", "--", "cat", input=b"z").out, b"b",
                         "without --stdin, stdin is not part of the key")
        self.assertEqual(self.ok("run", "--stdin", "--", "cat", input=b"z").out, b"z")
        self.assertEqual(self.ok("run", "--stdin", "--", "cat", input=b"y").out, b"y")
        big = os.urandom(3 << 20)
        self.assertEqual(self.ok("run", "--stdin", "--", "cat", input=big).out, big)
        self.assertEqual(self.ok("run", "--stdin", "--", "wc", "-c", input=big).out.strip(),
                         str(len(big)).encode())
        explained = json.loads(self.ok("--json", "run", "--explain", "--", "cat").text)
        self.assertIn({"part": "stdin", "value": "not part of the key (--stdin makes it one)"},
                      explained["parts"])
        self.fails(2, "run", "--stdin", "--stale", "1h", "--", "cat")

    def test_keys_are_repeatable_and_ordered(self):
        runs = [("--key", "a", "--key", "b"), ("--key", "b", "--key", "a"), ("--key", "a",)]
        outputs = [self.ok("run", *keys, "--", *self.counter()).out for keys in runs]
        self.assertEqual(outputs, [b"1\n", b"2\n", b"3\n"])
        self.assertEqual(self.ok("run", "--key", "a", "--key", "b", "--", *self.counter()).out,
                         b"1\n")

    def test_max_age_treats_an_older_result_as_a_miss(self):
        clock = {"CACHEMAN_TEST": "1", "CACHEMAN_NOW": "1800000000"}
        self.assertEqual(self.ok("run", "--", *self.counter(), env=clock).out, b"1\n")
        later = dict(clock, CACHEMAN_NOW="1800000100")
        self.assertEqual(self.ok("run", "--max-age", "2m", "--", *self.counter(), env=later).out,
                         b"1\n", "100 s old, younger than 2 m")
        self.assertEqual(self.ok("run", "--max-age", "90s", "--", *self.counter(), env=later).out,
                         b"2\n", "older than 90 s: executed again")
        self.fails(2, "run", "--max-age", "soon", "--", "true")

    def test_replay_only(self):
        r = self.cm("run", "--replay-only", "--", *self.counter())
        self.assertEqual((r.code, r.out), (1, b""))
        self.assertIn(b"no stored result", r.err)
        self.assertEqual(self.cm("-q", "run", "--replay-only", "--", *self.counter()).err, b"")
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "count")), "nothing executed")
        self.ok("run", "--", *self.counter())
        self.assertEqual(self.ok("run", "--replay-only", "--", *self.counter()).out, b"1\n")

    def test_verbose_says_hit_or_miss(self):
        clock = {"CACHEMAN_TEST": "1", "CACHEMAN_NOW": "1800000000"}
        miss = self.ok("-v", "run", "--", "echo", "v", env=clock)
        self.assertEqual(miss.err, b"cacheman: miss: ran the command\n")
        hit = self.ok("run", "-v", "--", "echo", "v", env=dict(clock, CACHEMAN_NOW="1800000005"))
        self.assertEqual(hit.err, b"cacheman: hit: replayed the result recorded 5 s ago\n")
        self.assertEqual(self.ok("run", "--", "echo", "v").err, b"", "silent without -v")

    def test_verbose_get_says_hit_or_miss(self):
        self.ok("set", "c", "k", "v")
        self.assertEqual(self.ok("-v", "get", "c", "k").err, b"cacheman: hit: key 'k' in cache 'c'\n")
        self.assertEqual(self.cm("get", "-v", "c", "nope").err,
                         b"cacheman: miss: no such key 'nope' in cache 'c'\n")
        self.assertEqual(self.cm("-v", "get", "other", "k").err,
                         b"cacheman: miss: no such cache 'other'\n")
        self.assertEqual(self.cm("get", "c", "nope").err, b"", "silent without -v")


class KeysThatTravel(CachemanTestCase):
    """run --root: two checkouts of one project at different paths share their results."""

    def checkout(self, where):
        root = os.path.join(self.tmp, where, "x")
        os.makedirs(os.path.join(root, "src"))
        with open(os.path.join(root, "src", "main.c"), "w") as f:
            f.write("int main;")
        return root

    def test_two_checkouts_share_a_result(self):
        counter = os.path.join(self.tmp, "runs")
        step = ["sh", "-c", 'echo x >> "%s"; wc -l < "%s"' % (counter, counter)]
        first, second = self.checkout("home/runner/work"), self.checkout("builds")
        self.assertEqual(self.ok("run", "--root", first, "--watch", "src", "--", *step,
                                 cwd=first).out, b"1\n")
        self.assertEqual(self.ok("run", "--root", second, "--watch", "src", "--", *step,
                                 cwd=second).out, b"1\n", "replayed in the other checkout")
        self.assertEqual(self.ok("run", "--watch", "src", "--", *step, env={"CACHEMAN_ROOT": second},
                                 cwd=second).out, b"1\n", "CACHEMAN_ROOT stands for --root")
        self.assertEqual(self.ok("run", "--watch", "src", "--", *step, cwd=second).out, b"2\n",
                         "without a root the absolute working directory is part of the key")
        with open(os.path.join(second, "src", "main.c"), "w") as f:
            f.write("int main(void);")
        self.assertEqual(self.ok("run", "--root", second, "--watch", "src", "--", *step,
                                 cwd=second).out, b"3\n", "the watched contents still count")
        explained = json.loads(self.ok("--json", "run", "--explain", "--root", second, "--",
                                       "true", cwd=os.path.join(second, "src")).text)
        self.assertIn({"part": "cwd", "value": "src"}, explained["parts"])

    def test_a_path_outside_the_root_is_exit_2(self):
        root = self.checkout("a")
        self.fails(2, "run", "--root", root, "--", "true", cwd=self.tmp)
        self.fails(2, "run", "--root", root, "--watch", "/etc/hostname", "--", "true", cwd=root)
        self.fails(2, "run", "--root", os.path.join(self.tmp, "nowhere"), "--", "true")


class LargeValues(CachemanTestCase):
    """A large value is read in bounded memory and does not slow its neighbours."""

    def peak_rss_of(self, *args, stdin=None, merge_stderr=False):
        """Runs the binary with `stdin` (a path) as its input; its peak RSS and its output
        (with its stderr, when `merge_stderr`)."""
        out_path = os.path.join(self.tmp, "got")
        env = dict(self.env)
        with open(out_path, "wb") as out, open(stdin or os.devnull, "rb") as source:
            proc = subprocess.Popen([BIN, *args], stdin=source, stdout=out,
                                    stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
                                    env=env, cwd=self.tmp)
            _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        self.assertEqual(proc.returncode, 0, proc.stderr and proc.stderr.read())
        if proc.stderr:
            proc.stderr.close()
        return usage.ru_maxrss * 1024, out_path  # ru_maxrss is in KiB on Linux

    def peak_rss_of_get(self, *args):
        return self.peak_rss_of(*args)

    def random_file(self, mib):
        path = os.path.join(self.tmp, "value")
        with open(path, "wb") as f:
            for _ in range(mib):
                f.write(os.urandom(1 << 20))
        return path

    def test_set_from_stdin_of_a_100_mb_value_peaks_below_64_mb(self):
        source = self.random_file(100)
        peak, _ = self.peak_rss_of("set", "c", "big", stdin=source)
        self.assertLess(peak, 64 << 20)
        _, got = self.peak_rss_of_get("get", "c", "big")
        self.assertTrue(filecmp.cmp(source, got, shallow=False), "the same bytes")
        self.assertEqual(json.loads(self.ok("--json", "list").text)[0]["bytes"], 100 << 20)
        # Stored once, in chunks: the file holds little more than the bytes.
        self.assertLess(os.path.getsize(self.store_path()), 1.3 * (100 << 20))

    def test_export_of_large_values_streams_and_imports_back(self):
        source = self.random_file(60)  # not UTF-8: value_base64
        self.peak_rss_of("set", "c", "binary", stdin=source)
        text = ("caf\u00e9 \"quoted\" \u20ac\n" * 200_000).encode()  # 3.4 MB of UTF-8
        self.ok("set", "c", "text", input=text)
        self.ok("set", "--ttl", "1h", "c", "small", "s")
        peak, exported = self.peak_rss_of("export", "c")
        self.assertLess(peak, 64 << 20)
        # Checked without holding the export here: the memory of this process would count in
        # the peaks of the binaries it starts later.
        with open(exported, "rb") as f:
            self.assertEqual(f.read(35), b'{"key": "binary", "value_base64": "')
        self.ok("import", "copy", exported)
        self.assertEqual(self.get("copy", "small"), b"s")
        self.assertEqual(self.get("copy", "text"), text)
        _, got = self.peak_rss_of_get("get", "copy", "binary")
        self.assertTrue(filecmp.cmp(source, got, shallow=False), "the same bytes")

    def test_a_large_value_keeps_its_ttl_and_gives_its_space_back(self):
        self.set_now(self.CLOCK_START)
        value = os.urandom(3 << 20)
        self.ok("set", "--ttl", "1m", "c", "big", input=value)
        self.assertEqual(self.get("c", "big"), value)
        self.set_now(self.CLOCK_START + 120)
        self.assertEqual(self.cm("get", "c", "big").code, 1)
        self.ok("set", "c", "big", input=value)  # the same bytes again, then overwritten
        self.ok("set", "c", "big", "small")
        self.ok("gc")
        self.assertEqual(self.get("c", "big"), b"small")
        self.assertLess(os.path.getsize(self.store_path()), 1 << 20)
        self.assertEqual(self.ok("check").text.splitlines()[0], "integrity: ok")

    def test_hooks_contents_of_120_mb_stream_through_builder_loader_and_saver(self):
        # 120,000 entries of 1,000 bytes as JSON Lines, printed by awk: nothing holds them whole.
        builder = os.path.join(self.tmp, "build.awk")
        with open(builder, "w") as f:
            f.write('BEGIN { v = sprintf("%1000s", ""); gsub(/ /, "x", v);\n'
                    '  for (i = 0; i < 120000; i++) printf "{\\"key\\": \\"k%d\\", '
                    '\\"value\\": \\"%s\\"}\\n", i, v }\n')
        saved = os.path.join(self.tmp, "saved.jsonl")
        self.ok("create", "--builder", "awk -f '%s'" % builder, "--saver", "cat > '%s'" % saved,
                "--loader", "cat '%s'" % saved, "--validator", "wc -l > /dev/null", "b")
        peak, got = self.peak_rss_of("get", "b", "k119999")  # built by its builder first
        self.assertLess(peak, 64 << 20)
        with open(got, "rb") as f:
            self.assertEqual(f.read(), b"x" * 1000)
        peak, _ = self.peak_rss_of("save", "b")
        self.assertLess(peak, 64 << 20)
        self.assertGreater(os.path.getsize(saved), 120_000 * 1000)
        self.ok("set", "b", "extra", "v")  # not saved: gone after the reload
        peak, _ = self.peak_rss_of("reload", "b")
        self.assertLess(peak, 64 << 20)
        (listed,) = [c for c in json.loads(self.ok("--json", "list").text) if c["name"] == "b"]
        self.assertEqual(listed["entries"], 120_000)
        self.assertEqual(self.cm("get", "b", "extra").code, 1)

    def test_get_of_a_100_mb_value_peaks_below_64_mb(self):
        # The value never sits in this process's memory: a child forked from a big Python
        # would count its pages in its own peak.
        source = os.path.join(self.tmp, "value")
        with open(source, "wb") as f:
            for _ in range(100):
                f.write(os.urandom(1 << 20))
        with open(source, "rb") as f:
            self.assertEqual(subprocess.run([BIN, "set", "c", "big"], stdin=f, env=self.env,
                                            cwd=self.tmp).returncode, 0)
        self.ok("set", "c", "small", "s")
        peak, got = self.peak_rss_of_get("get", "c", "big")
        self.assertTrue(filecmp.cmp(source, got, shallow=False), "the same bytes")
        self.assertLess(peak, 64 << 20)
        self.assertEqual(self.get("c", "small"), b"s")

    def test_run_of_a_command_printing_300_mb_peaks_below_64_mb_on_miss_and_hit(self):
        step = ["sh", "-c", "head -c 200000000 /dev/urandom; echo middle >&2; "
                "head -c 100000000 /dev/zero; echo end >&2"]
        miss_peak, miss = self.peak_rss_of("run", "--", *step, merge_stderr=True)
        self.assertLess(miss_peak, 64 << 20)
        os.rename(miss, miss + ".miss")
        hit_peak, hit = self.peak_rss_of("run", "--", *step, merge_stderr=True)
        self.assertLess(hit_peak, 64 << 20)
        self.assertTrue(filecmp.cmp(miss + ".miss", hit, shallow=False),
                        "the same bytes, stderr between the same bytes of stdout")
        # Interleaved where it was written: the two pipes' order is known only as the bytes
        # arrive, so the stderr line may land up to a pipe's buffer (64 KiB) either side.
        self.assertEqual(os.path.getsize(hit), 300_000_000 + len(b"middle\nend\n"))
        with open(hit, "rb") as f:
            f.seek(200_000_000 - (1 << 20))
            self.assertIn(b"middle\n", f.read(2 << 20))
        # Stored once: the store holds little more than the output.
        self.assertLess(os.path.getsize(self.store_path()), 1.3 * 300_000_000)

    def test_large_streams_of_a_volatile_results_cache_replay(self):
        self.env["CACHEMAN_RUNTIME_DIR"] = os.path.join(self.tmp, "runtime")
        self.ok("create", "--volatile", "r")
        step = ["sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' a; echo e >&2; echo b"]
        first = self.ok("run", "--cache", "r", "--", *step)
        second = self.ok("run", "--cache", "r", "--", *step)
        self.assertEqual(second.out, first.out)
        self.assertEqual(second.out, b"a" * 3_000_000 + b"b\n")
        self.assertEqual(second.err, b"e\n")
        self.ok("invalidate", "r")
        self.ok("gc")
        self.assertLess(os.path.getsize(self.store_path()), 1 << 20, "its content went with it")

    def big_jsonl(self, broken=False):
        """~170 MB of JSON Lines written piece by piece: 30 values of 1 MiB, a hex text value of
        100 MB and a base64 one of 30 MB (their hashes), and a malformed last line if `broken`."""
        path = os.path.join(self.tmp, "big.jsonl")
        huge, binary = hashlib.sha256(), hashlib.sha256()
        with open(path, "w") as f:
            for i in range(30):
                f.write(json.dumps({"key": "k%02d" % i, "value": "%x" % i * (1 << 20)}) + "\n")
            f.write('{"key": "huge", "value": "')
            for _ in range(100):
                piece = os.urandom(500_000).hex()
                huge.update(piece.encode())
                f.write(piece)
            f.write('"}\n{"key": "binary", "expires": 4102444800, "value_base64": "')
            for _ in range(30):
                piece = os.urandom(3 << 18)  # a multiple of 3: no padding until the end
                binary.update(piece)
                f.write(base64.b64encode(piece).decode())
            f.write('"}\n')
            if broken:
                f.write('{"key": "last", "value": 1}\n')
        return path, huge.hexdigest(), binary.hexdigest()

    def sha256_of(self, path):
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()

    def test_import_of_170_mb_streams_from_a_file_and_a_pipe(self):
        path, huge, binary = self.big_jsonl()
        peak, _ = self.peak_rss_of("import", "c", path)
        self.assertLess(peak, 64 << 20)
        with open(path, "rb") as source:  # through a pipe: copied aside, then read the same way
            cat = subprocess.Popen(["cat"], stdin=source, stdout=subprocess.PIPE)
            out_path = os.path.join(self.tmp, "out")
            with open(out_path, "wb") as out:
                proc = subprocess.Popen([BIN, "import", "piped", "-"], stdin=cat.stdout,
                                        stdout=out, env=self.env, cwd=self.tmp)
                cat.stdout.close()
                _, status, usage = os.wait4(proc.pid, 0)
                proc.returncode = os.waitstatus_to_exitcode(status)
            cat.wait()
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        self.assertLess(usage.ru_maxrss * 1024, 64 << 20)
        for cache in ("c", "piped"):
            self.assertEqual(len(self.ok("keys", cache).text.split()), 32)
            self.assertEqual(self.sha256_of(self.peak_rss_of("get", cache, "huge")[1]), huge)
            self.assertEqual(self.sha256_of(self.peak_rss_of("get", cache, "binary")[1]), binary)
            self.assertEqual(self.get(cache, "k07"), b"7" * (1 << 20))
        _, exported = self.peak_rss_of("export", "c")
        found = subprocess.run(["grep", "-c", '^{"key": "binary", .*"expires": 4102444800}$',
                                exported], stdout=subprocess.PIPE)
        self.assertEqual(found.stdout, b"1\n", "its expiry kept")

    def test_an_import_of_large_values_is_all_or_nothing(self):
        self.ok("set", "c", "before", "v")
        path, _, _ = self.big_jsonl(broken=True)
        r = self.fails(2, "import", "c", path)
        self.assertIn("line 33", r.errtext)
        self.assertEqual(self.ok("keys", "c").text.split(), ["before"])
        self.ok("gc")
        self.assertLess(os.path.getsize(self.store_path()), 1 << 20, "no content left behind")
        self.assertEqual(self.ok("check").text.splitlines()[0], "integrity: ok")

    def test_a_volatile_value_is_read_in_pieces_too(self):
        self.env["CACHEMAN_RUNTIME_DIR"] = os.path.join(self.tmp, "runtime")
        self.ok("create", "--volatile", "v")
        value = os.urandom(5 << 20)
        self.ok("set", "v", "big", input=value)
        _, got = self.peak_rss_of_get("get", "v", "big")
        with open(got, "rb") as f:
            self.assertTrue(f.read() == value)


class WatchedLinks(CachemanTestCase):
    def key(self, *watch):
        args = [a for path in watch for a in ("--watch", path)]
        return json.loads(self.ok("--json", "run", "--explain", *args, "--", "true").text)["key"]

    def test_a_watched_link_is_followed_links_inside_count_by_target(self):
        target = os.path.join(self.tmp, "config.prod")
        with open(target, "w") as f:
            f.write("a")
        os.symlink("config.prod", os.path.join(self.tmp, "config"))
        before = self.key("config")
        with open(target, "w") as f:
            f.write("b")
        self.assertNotEqual(self.key("config"), before, "the watched link is followed")

        tree = os.path.join(self.tmp, "tree")
        os.makedirs(tree)
        os.symlink("../config.prod", os.path.join(tree, "inner"))
        inside = self.key("tree")
        with open(target, "w") as f:
            f.write("c")
        self.assertEqual(self.key("tree"), inside, "a link inside counts by its target text")
        os.remove(os.path.join(tree, "inner"))
        os.symlink("../config", os.path.join(tree, "inner"))
        self.assertNotEqual(self.key("tree"), inside)


class DeepGraphs(CachemanTestCase):
    def test_why_on_a_chain_of_50000_caches(self):
        # issue 9, item 7: `why` recursed once per ancestor and crashed near 46,000. The chain
        # is written into the store directly (50,000 `depend`s would take minutes); `why` only
        # reads the catalog and the edges.
        self.ok("set", "c0", "k", "v")
        count = 50000
        with sqlite3.connect(self.store_path()) as con:
            con.executemany("INSERT INTO caches(name, created) VALUES(?, 0)",
                            [("c%d" % i,) for i in range(1, count)])
            con.executemany("INSERT INTO depends(parent, child) VALUES(?, ?)",
                            [("c%d" % i, "c%d" % (i + 1)) for i in range(count - 1)])
        con.close()
        r = self.ok("why", "c%d" % (count - 1))
        self.assertTrue(r.text.startswith("c0 -> c1 -> "), r.text[:100])
        self.assertTrue(r.text.endswith(" -> c49998 -> c49999\n"), r.text[-100:])


@unittest.skipUnless(os.geteuid() == 0, "mounts a small tmpfs: needs root")
class FullDisk(CachemanTestCase):
    def setUp(self):
        super().setUp()
        self.mount = os.path.join(self.tmp, "small")
        os.makedirs(self.mount)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", self.mount],
                          capture_output=True).returncode != 0:
            self.skipTest("cannot mount a tmpfs here")
        self.env["CACHEMAN_DIR"] = os.path.join(self.mount, "store")

    def tearDown(self):
        subprocess.run(["umount", self.mount], check=False)
        super().tearDown()

    def test_a_full_disk_is_exit_3_naming_the_cache_and_keeps_the_data(self):
        self.ok("set", "c", "k", "v")
        r = self.fails(3, "set", "c", "big", input=os.urandom(2 << 20))
        self.assertIn("cannot write cache 'c': ", r.errtext)
        self.assertIn("database or disk is full", r.errtext)
        self.assertEqual(self.get("c", "k"), b"v")
        self.assertIsNone(self.get("c", "big"))
        self.ok("check")


class ReadsNeverWrite(CachemanTestCase):
    def test_reads_of_a_zero_byte_store_leave_it_untouched(self):
        os.makedirs(self.dir, mode=0o700)
        store = os.path.join(self.dir, "default.sqlite")
        open(store, "wb").close()
        self.assertEqual(self.cm("get", "c", "k").code, 1)
        self.assertEqual(self.ok("list").out, b"")
        self.assertEqual(self.cm("keys", "c").code, 1)
        self.assertEqual(sorted(os.listdir(self.dir)), ["default.sqlite"])
        self.assertEqual(os.path.getsize(store), 0)
        self.ok("set", "c", "k", "v")  # a write makes it a store
        self.assertEqual(self.get("c", "k"), b"v")

    @unittest.skipUnless(os.geteuid() == 0, "mounts a tmpfs: needs root")
    def test_reads_work_on_a_read_only_mount(self):
        mount = os.path.join(self.tmp, "ro")
        os.makedirs(mount)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", mount],
                          capture_output=True).returncode != 0:
            self.skipTest("cannot mount a tmpfs here")
        try:
            open(os.path.join(mount, "default.sqlite"), "wb").close()
            self.env["CACHEMAN_DIR"] = mount
            subprocess.run(["mount", "-o", "remount,ro", mount], check=True)
            self.assertEqual(self.cm("get", "c", "k").code, 1, "a miss, not a store error")
            self.assertEqual(self.ok("list").out, b"")
            self.fails(3, "set", "c", "k", "v")
        finally:
            subprocess.run(["umount", mount], check=False)


if __name__ == "__main__":
    unittest.main()
