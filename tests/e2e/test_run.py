"""`cacheman run`: memoizing a shell step (CONTRACT.md, "Memoizing a shell step: run", exit status,
and the run single-flight detail under "Details that scripts rely on"; issue 3).

Whether the step really executed is proved by a counter file: every step appends one line to it
before doing anything else, so the number of lines is the number of executions.
"""
import json
import os
import signal
import subprocess
import threading
import unittest

from harness import ENGINE, CachemanTestCase, flock_waiters, is_sleeping

PIPE = subprocess.PIPE


def default_signals():
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


class RunTestCase(CachemanTestCase):
    def setUp(self):
        super().setUp()
        self.counter = os.path.join(self.tmp, "count")

    # --- helpers --------------------------------------------------------------------------
    def step(self, body, *args):
        """argv of a shell step that first records its execution in the counter file. Inside the
        step, $n is the number of this execution (1 for the first one)."""
        script = "echo x >> '%s'; n=$(wc -l < '%s' | tr -d ' '); %s" % (
            self.counter, self.counter, body)
        return ["sh", "-c", script, "step", *args]

    def executions(self):
        try:
            with open(self.counter, "rb") as f:
                return f.read().count(b"\n")
        except FileNotFoundError:
            return 0

    def run_step(self, cmd, *options, **kwargs):
        return self.cm("run", *options, "--", *cmd, **kwargs)

    def run_ok(self, cmd, *options, **kwargs):
        r = self.run_step(cmd, *options, **kwargs)
        self.assertEqual(r.code, 0, r)
        return r

    def flight_waiters(self):
        """The pids blocked waiting for another process's execution of the same step (on a lock
        file of <dir>/<namespace>.flights/; on a shared store, polling its lease between
        pauses)."""
        if ENGINE != "sqlite":
            return {pid for pid in self.live_pids() if self.is_cacheman(pid) and is_sleeping(pid)}
        flights = os.path.join(self.dir, "default.flights")
        try:
            names = os.listdir(flights)
        except FileNotFoundError:
            return set()
        return set().union(*(flock_waiters(os.path.join(flights, n)) for n in names))

    @staticmethod
    def is_cacheman(pid):
        try:
            with open("/proc/%d/comm" % pid) as f:
                return f.read().startswith("cacheman")
        except OSError:
            return False

    def wait_for_flight(self, gate, procs, followers):
        """Waits until one execution of a step waits at `gate` and `followers` of `procs` wait
        for it; fails as soon as a second execution starts."""
        pids = {p.pid for p in procs}

        def state():
            # The gate first: a step that waits there has already counted its execution.
            at_gate = bool(gate.waiters())
            steps, waiting = self.executions(), len(self.flight_waiters() & pids)
            if steps > 1 or (at_gate and waiting == followers):
                return steps, waiting
            return None
        self.assertEqual(self.wait_until(state, what="%d runs to wait for one" % followers),
                         (1, followers), "one execution, the other runs wait for it")

    def start_run(self, cmd, *options, **kwargs):
        # A test runner started in the background may run with SIGINT ignored, which cacheman
        # (rightly) keeps ignoring: start it the way an interactive shell starts a command.
        kwargs.setdefault("preexec_fn", default_signals)
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        kwargs.setdefault("stdout", PIPE)
        kwargs.setdefault("stderr", PIPE)
        return self.popen("run", *options, "--", *cmd, **kwargs)

    def finish(self, proc, timeout=60):
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            self.fail("cacheman run did not finish within %s s" % timeout)
        return proc.returncode, out, err

    def stored_keys(self, cache="run"):
        """The keys of a cache; an empty list when the cache does not exist."""
        r = self.cm("keys", cache)
        if r.code == 1:
            return []
        self.assertEqual(r.code, 0, r)
        return r.out.splitlines()

    def write(self, path, data):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())


class ReplayTest(RunTestCase):
    def test_hit_replays_stdout_and_stderr_separately_and_exactly(self):
        cmd = self.step("printf 'out one\\nout two\\n'; printf 'err one\\n' >&2; "
                        "printf 'out three\\n'")
        first = self.run_ok(cmd)
        self.assertEqual(first.out, b"out one\nout two\nout three\n")
        self.assertEqual(first.err, b"err one\n")
        second = self.run_ok(cmd)
        self.assertEqual(self.executions(), 1, "a hit executes nothing")
        self.assertEqual(second.out, first.out)
        self.assertEqual(second.err, first.err)

    def test_output_without_trailing_newline(self):
        cmd = self.step("printf 'no newline'; printf 'e' >&2")
        first = self.run_ok(cmd)
        second = self.run_ok(cmd)
        self.assertEqual(self.executions(), 1)
        for r in (first, second):
            self.assertEqual(r.out, b"no newline")
            self.assertEqual(r.err, b"e")

    def test_empty_output_replays_empty(self):
        cmd = self.step("true")
        self.run_ok(cmd)
        second = self.run_ok(cmd)
        self.assertEqual(self.executions(), 1)
        self.assertEqual((second.out, second.err), (b"", b""))

    def test_multi_megabyte_binary_output(self):
        data = os.urandom(3_000_000) + b"\0\0\xff\n\r\0"
        blob = os.path.join(self.tmp, "blob")
        self.write(blob, data)
        errdata = b"\0\x01\xfe binary stderr\0" + os.urandom(1_000_000)
        self.write(os.path.join(self.tmp, "errblob"), errdata)
        cmd = self.step("cat blob; cat errblob >&2")
        first = self.run_ok(cmd)
        self.assertEqual(first.out, data)
        self.assertEqual(first.err, errdata)
        second = self.run_ok(cmd)
        self.assertEqual(self.executions(), 1, "a hit executes nothing")
        self.assertTrue(second.out == data, "hit stdout differs from the file (len %d vs %d)"
                        % (len(second.out), len(data)))
        self.assertEqual(second.err, errdata)

    def test_exit_code_replayed_with_cache_failures(self):
        cmd = self.step("echo partial; echo broken >&2; exit 3")
        first = self.run_step(cmd, "--cache-failures")
        self.assertEqual(first.code, 3, first)
        second = self.run_step(cmd, "--cache-failures")
        self.assertEqual(second.code, 3, second)
        self.assertEqual(self.executions(), 1, "the failure was replayed, not re-run")
        self.assertEqual(second.out, b"partial\n")
        self.assertEqual(second.err, b"broken\n")

    def test_cache_failures_stores_the_failure(self):
        cmd = self.step("exit 4")
        self.assertEqual(self.run_step(cmd, "--cache-failures").code, 4)
        self.assertEqual(len(self.stored_keys()), 1)

    def test_failures_not_cached_by_default(self):
        cmd = self.step("echo try $n; exit 3")
        first = self.run_step(cmd)
        self.assertEqual(first.code, 3, first)
        self.assertEqual(first.out, b"try 1\n")
        self.assertEqual(self.stored_keys(), [], "a failure is not stored by default")
        second = self.run_step(cmd)
        self.assertEqual(second.code, 3, second)
        self.assertEqual(second.out, b"try 2\n")
        self.assertEqual(self.executions(), 2)

    def test_success_after_failure_is_stored(self):
        cmd = self.step("if [ $n -eq 1 ]; then exit 1; fi; echo ok $n")
        self.assertEqual(self.run_step(cmd).code, 1)
        self.assertEqual(self.run_ok(cmd).out, b"ok 2\n")
        self.assertEqual(self.run_ok(cmd).out, b"ok 2\n")
        self.assertEqual(self.executions(), 2)

    def test_hit_executes_nothing_even_if_command_would_now_fail(self):
        script = os.path.join(self.tmp, "script.sh")
        self.write(script, "#!/bin/sh\necho x >> '%s'\necho from script\n" % self.counter)
        os.chmod(script, 0o755)
        first = self.run_ok(["./script.sh"])
        self.assertEqual(first.out, b"from script\n")
        os.unlink(script)
        second = self.run_ok(["./script.sh"])
        self.assertEqual(second.out, b"from script\n")
        self.assertEqual(self.executions(), 1)

    def test_output_is_streamed_live_on_a_miss(self):
        # The first line must reach the caller while the step still waits at the gate, which
        # opens only once that line has arrived.
        gate = self.gate()
        proc = self.start_run(self.step("echo early; %s; echo late" % gate.wait_cmd))
        try:
            got = []
            reader = threading.Thread(target=lambda: got.append(proc.stdout.readline()))
            reader.start()
            reader.join(60)
            self.assertEqual(got, [b"early\n"], "the first line did not arrive while running")
            self.assertIsNone(proc.poll())
        finally:
            gate.release()
            rest, _ = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 0)
        self.assertEqual(rest, b"late\n")

    def test_reader_going_away_still_records_the_result(self):
        # `cacheman run -- step | head -1`: the step's result is still recorded in full.
        cmd = self.step("seq 1 300000")
        proc = self.start_run(cmd)
        self.assertEqual(proc.stdout.readline(), b"1\n")
        proc.stdout.close()
        try:
            proc.wait(timeout=20)
        finally:
            proc.stderr.close()
        self.assertEqual(self.executions(), 1)
        full = self.run_ok(cmd)
        self.assertEqual(self.executions(), 1, "the result was not recorded after the reader "
                         "left (cacheman exited %s)" % proc.returncode)
        self.assertEqual(full.out, b"".join(b"%d\n" % i for i in range(1, 300001)))

    def test_stdin_is_passed_on_a_miss(self):
        r = self.run_ok(["cat"], input=b"data\n")
        self.assertEqual(r.out, b"data\n")


class KeyTest(RunTestCase):
    def test_argv_is_part_of_the_key(self):
        a = self.run_ok(self.step('echo "$1"', "alpha"))
        b = self.run_ok(self.step('echo "$1"', "beta"))
        self.assertEqual((a.out, b.out), (b"alpha\n", b"beta\n"))
        self.assertEqual(self.executions(), 2)
        self.assertEqual(self.run_ok(self.step('echo "$1"', "alpha")).out, b"alpha\n")
        self.assertEqual(self.executions(), 2)

    def test_argument_boundaries_are_part_of_the_key(self):
        a = self.run_ok(self.step('echo "$1|$2"', "ab", "c"))
        b = self.run_ok(self.step('echo "$1|$2"', "a", "bc"))
        self.assertEqual((a.out, b.out), (b"ab|c\n", b"a|bc\n"))
        self.assertEqual(self.executions(), 2)

    def test_cwd_is_part_of_the_key(self):
        one = os.path.join(self.tmp, "one")
        two = os.path.join(self.tmp, "two")
        os.makedirs(one)
        os.makedirs(two)
        cmd = self.step("pwd")
        self.assertEqual(self.run_ok(cmd, cwd=one).text, one + "\n")
        self.assertEqual(self.run_ok(cmd, cwd=two).text, two + "\n")
        self.assertEqual(self.executions(), 2)
        self.assertEqual(self.run_ok(cmd, cwd=one).text, one + "\n")
        self.assertEqual(self.executions(), 2)

    def test_env_value_is_part_of_the_key(self):
        cmd = self.step('echo "${FOO-unset}"')
        self.assertEqual(self.run_ok(cmd, "--env", "FOO", env={"FOO": "a"}).out, b"a\n")
        self.assertEqual(self.run_ok(cmd, "--env", "FOO", env={"FOO": "a"}).out, b"a\n")
        self.assertEqual(self.executions(), 1)
        self.assertEqual(self.run_ok(cmd, "--env", "FOO", env={"FOO": "b"}).out, b"b\n")
        self.assertEqual(self.executions(), 2)

    def test_env_unset_and_empty_differ(self):
        cmd = self.step('echo "${FOO-unset}"')
        self.assertEqual(self.run_ok(cmd, "--env", "FOO").out, b"unset\n")
        self.assertEqual(self.run_ok(cmd, "--env", "FOO", env={"FOO": ""}).out, b"\n")
        self.assertEqual(self.executions(), 2)
        self.assertEqual(self.run_ok(cmd, "--env", "FOO").out, b"unset\n")
        self.assertEqual(self.run_ok(cmd, "--env", "FOO", env={"FOO": ""}).out, b"\n")
        self.assertEqual(self.executions(), 2)

    def test_env_not_named_is_not_part_of_the_key(self):
        cmd = self.step('echo "${BAR-unset}"')
        self.run_ok(cmd, "--env", "FOO", env={"BAR": "1"})
        self.assertEqual(self.run_ok(cmd, "--env", "FOO", env={"BAR": "2"}).out, b"1\n")
        self.assertEqual(self.executions(), 1)

    def test_several_env_variables(self):
        cmd = self.step('echo "$A$B"')
        self.run_ok(cmd, "--env", "A", "--env", "B", env={"A": "1", "B": "2"})
        self.run_ok(cmd, "--env", "A", "--env", "B", env={"A": "1", "B": "3"})
        self.assertEqual(self.executions(), 2)

    def test_watch_file_contents(self):
        path = os.path.join(self.tmp, "input.txt")
        self.write(path, "v1")
        cmd = self.step("cat input.txt")
        self.assertEqual(self.run_ok(cmd, "--watch", path).out, b"v1")
        self.assertEqual(self.run_ok(cmd, "--watch", path).out, b"v1")
        self.assertEqual(self.executions(), 1)
        self.write(path, "v2")
        self.assertEqual(self.run_ok(cmd, "--watch", path).out, b"v2")
        self.assertEqual(self.executions(), 2)
        self.write(path, "v1")  # restoring the content restores the key
        self.assertEqual(self.run_ok(cmd, "--watch", path).out, b"v1")
        self.assertEqual(self.executions(), 2)

    def test_watch_file_same_size_change(self):
        path = os.path.join(self.tmp, "input.txt")
        self.write(path, "aaaa")
        cmd = self.step("cat input.txt")
        self.run_ok(cmd, "--watch", path)
        st = os.stat(path)
        self.write(path, "aaab")
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size and mtime
        self.assertEqual(self.run_ok(cmd, "--watch", path).out, b"aaab")
        self.assertEqual(self.executions(), 2)

    def test_watch_directory_recursively(self):
        src = os.path.join(self.tmp, "src")
        self.write(os.path.join(src, "sub", "a"), "1")
        cmd = self.step("cat src/sub/*")
        self.assertEqual(self.run_ok(cmd, "--watch", "src").out, b"1")
        self.assertEqual(self.run_ok(cmd, "--watch", "src").out, b"1")
        self.assertEqual(self.executions(), 1)

        self.write(os.path.join(src, "sub", "b"), "B")  # add a nested file
        self.assertEqual(self.run_ok(cmd, "--watch", "src").out, b"1B")
        self.assertEqual(self.executions(), 2)

        self.write(os.path.join(src, "sub", "a"), "2")  # change a nested file
        self.assertEqual(self.run_ok(cmd, "--watch", "src").out, b"2B")
        self.assertEqual(self.executions(), 3)

        os.unlink(os.path.join(src, "sub", "b"))  # remove a nested file
        self.assertEqual(self.run_ok(cmd, "--watch", "src").out, b"2")
        self.assertEqual(self.executions(), 4)

        self.write(os.path.join(src, "sub", "a"), "1")  # back to the first state
        self.assertEqual(self.run_ok(cmd, "--watch", "src").out, b"1")
        self.assertEqual(self.executions(), 4)

    def test_watch_directory_rename_is_a_change(self):
        src = os.path.join(self.tmp, "src")
        self.write(os.path.join(src, "a"), "same")
        cmd = self.step("ls src")
        self.run_ok(cmd, "--watch", "src")
        os.rename(os.path.join(src, "a"), os.path.join(src, "b"))
        self.assertEqual(self.run_ok(cmd, "--watch", "src").out, b"b\n")
        self.assertEqual(self.executions(), 2)

    def test_watch_missing_path(self):
        path = os.path.join(self.tmp, "later")
        cmd = self.step("cat later 2>/dev/null || echo none")
        self.assertEqual(self.run_ok(cmd, "--watch", path).out, b"none\n")
        self.assertEqual(self.run_ok(cmd, "--watch", path).out, b"none\n")
        self.assertEqual(self.executions(), 1, "a missing path is a stable state")
        self.write(path, "here\n")
        self.assertEqual(self.run_ok(cmd, "--watch", path).out, b"here\n")
        self.assertEqual(self.executions(), 2)

    def test_watch_missing_differs_from_empty_file(self):
        path = os.path.join(self.tmp, "maybe")
        cmd = self.step("true")
        self.run_ok(cmd, "--watch", path)
        self.write(path, "")
        self.run_ok(cmd, "--watch", path)
        self.assertEqual(self.executions(), 2)

    def test_key_option(self):
        cmd = self.step("echo $n")
        self.assertEqual(self.run_ok(cmd, "--key", "v1").out, b"1\n")
        self.assertEqual(self.run_ok(cmd, "--key", "v2").out, b"2\n")
        self.assertEqual(self.run_ok(cmd, "--key", "v1").out, b"1\n")
        self.assertEqual(self.run_ok(cmd).out, b"3\n")
        self.assertEqual(self.executions(), 3)


class LifetimeTest(RunTestCase):
    def test_ttl_expiry(self):
        cmd = self.step("echo $n")
        self.set_now(self.CLOCK_START)
        self.assertEqual(self.run_ok(cmd, "--ttl", "1s").out, b"1\n")
        self.set_now(self.CLOCK_START + 0.999)
        self.assertEqual(self.run_ok(cmd, "--ttl", "1s").out, b"1\n")
        self.assertEqual(self.executions(), 1)
        self.set_now(self.CLOCK_START + 1)
        self.assertEqual(self.run_ok(cmd, "--ttl", "1s").out, b"2\n")
        self.assertEqual(self.executions(), 2)

    def test_bad_ttl_is_a_usage_error(self):
        for bad in ("0", "abc", "-1s"):
            r = self.run_step(self.step("true"), "--ttl", bad)
            self.assertEqual(r.code, 2, (bad, r))
        self.assertEqual(self.executions(), 0)

    def test_force_runs_and_overwrites(self):
        cmd = self.step("echo $n")
        self.assertEqual(self.run_ok(cmd).out, b"1\n")
        self.assertEqual(self.run_ok(cmd, "--force").out, b"2\n")
        self.assertEqual(self.executions(), 2)
        self.assertEqual(self.run_ok(cmd).out, b"2\n", "--force overwrote the entry")
        self.assertEqual(self.executions(), 2)
        self.assertEqual(len(self.stored_keys()), 1)

    def test_stale_replays_at_once_and_refreshes_in_background(self):
        # The refresh (second execution) waits at a gate that opens only after the stale call
        # has returned: the stale call must not wait for it, nor keep its pipes open.
        gate = self.gate()
        cmd = self.step("if [ $n -gt 1 ]; then %s; fi; echo v$n" % gate.wait_cmd)
        self.set_now(self.CLOCK_START)
        self.assertEqual(self.run_ok(cmd, "--stale", "1s").out, b"v1\n")
        self.set_now(self.CLOCK_START + 0.999)
        self.assertEqual(self.run_ok(cmd, "--stale", "1s").out, b"v1\n")  # fresh: plain hit
        self.assertEqual(self.executions(), 1)
        self.set_now(self.CLOCK_START + 2)

        proc = self.start_run(cmd, "--stale", "1s")
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            self.fail("the stale call waited for its refresh (or left it its pipes)")
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(out, b"v1\n", "a stale call replays the old output")

        # The detached refresh runs the step once and stores v2 (a plain run only replays).
        self.wait_until(gate.waiters, what="the background refresh to run the step")
        gate.release()
        self.wait_until(lambda: self.run_ok(cmd).out == b"v2\n",
                        what="the background refresh to store v2")
        self.wait_for_quiet()
        self.assertEqual(self.executions(), 2, "exactly one refresh")

    def test_stale_not_yet_stale_is_a_plain_hit(self):
        cmd = self.step("echo v$n")
        self.set_now(self.CLOCK_START)
        self.run_ok(cmd, "--stale", "1m")
        self.set_now(self.CLOCK_START + 59)
        self.assertEqual(self.run_ok(cmd, "--stale", "1m").out, b"v1\n")
        self.wait_for_quiet()
        self.assertEqual(self.executions(), 1, "no refresh for a fresh entry")


class IntegrationTest(RunTestCase):
    def test_invalidating_a_parent_makes_run_execute_again(self):
        self.ok("depend", "inputs", "run")
        cmd = self.step("echo $n")
        self.assertEqual(self.run_ok(cmd).out, b"1\n")
        self.assertEqual(self.run_ok(cmd).out, b"1\n")
        self.assertEqual(self.executions(), 1)
        self.ok("invalidate", "inputs")
        self.assertEqual(self.run_ok(cmd).out, b"2\n")
        self.assertEqual(self.executions(), 2)
        self.assertEqual(self.run_ok(cmd).out, b"2\n")

    def test_cache_option_keeps_results_in_that_cache(self):
        cmd = self.step("echo $n")
        self.assertEqual(self.run_ok(cmd, "--cache", "stage1").out, b"1\n")
        self.assertEqual(len(self.stored_keys("stage1")), 1)
        self.assertIn("stage1", self.ok("list").text.splitlines())
        self.assertEqual(self.stored_keys("run"), [])
        self.assertEqual(self.run_ok(cmd, "--cache", "stage1").out, b"1\n")
        self.assertEqual(self.executions(), 1)
        self.assertEqual(self.run_ok(cmd).out, b"2\n", "another cache, another entry")
        self.ok("invalidate", "stage1")
        self.assertEqual(self.run_ok(cmd, "--cache", "stage1").out, b"3\n")
        self.assertEqual(self.run_ok(cmd).out, b"2\n", "cache run untouched")

    def test_bad_cache_name_is_refused(self):
        r = self.run_step(self.step("true"), "--cache", "bad\nname")
        self.assertEqual(r.code, 2, r)
        self.assertEqual(self.executions(), 0)


class SingleFlightTest(RunTestCase):
    def start_together(self, count, cmd, gate):
        """Starts `count` identical runs at once and opens the gate (which the step waits at)
        once one of them executes the step and all the others wait for it."""
        procs = [self.start_run(cmd) for _ in range(count)]
        try:
            self.wait_for_flight(gate, procs, count - 1)
        finally:
            gate.release()
        return [self.finish(p) for p in procs]

    def test_four_concurrent_identical_runs_execute_once(self):
        gate = self.gate()
        cmd = self.step("%s; echo done $n; echo note >&2" % gate.wait_cmd)
        results = self.start_together(4, cmd, gate)
        self.assertEqual(self.executions(), 1, results)
        for code, out, err in results:
            self.assertEqual(code, 0, err)
            self.assertEqual(out, b"done 1\n")
            self.assertEqual(err, b"note\n")
        self.assertEqual(self.run_ok(cmd).out, b"done 1\n")
        self.assertEqual(self.executions(), 1)

    def test_concurrent_failing_runs_execute_once_and_store_nothing(self):
        gate = self.gate()
        cmd = self.step("%s; echo failed $n; exit 5" % gate.wait_cmd)
        results = self.start_together(3, cmd, gate)
        self.assertEqual(self.executions(), 1, results)
        for code, out, err in results:
            self.assertEqual(code, 5, err)
            self.assertEqual(out, b"failed 1\n")
        self.assertEqual(self.stored_keys(), [])
        later = self.run_step(cmd)
        self.assertEqual(later.code, 5)
        self.assertEqual(later.out, b"failed 2\n", "nothing was stored: it runs again")

    def test_different_keys_run_in_parallel(self):
        # Each step waits at the gate, which opens only once all three wait there at once.
        gate = self.gate()
        procs = [self.start_run(self.step("%s; echo $1" % gate.wait_cmd, str(i)))
                 for i in range(3)]
        try:
            self.wait_until(lambda: len(gate.waiters()) == 3, what="three steps running at once")
        finally:
            gate.release()
        results = [self.finish(p) for p in procs]
        self.assertEqual(sorted(out for _, out, _ in results), [b"0\n", b"1\n", b"2\n"])
        self.assertEqual(self.executions(), 3)

    def test_waiting_does_not_hold_the_store_write_lock(self):
        gate = self.gate()
        cmd = self.step("%s; echo done" % gate.wait_cmd)
        leader = self.start_run(cmd)
        follower = None
        try:
            self.wait_until(gate.waiters, what="the step to start")
            follower = self.start_run(cmd)
            self.wait_for_flight(gate, [follower], 1)
            # Both writes commit while the leader executes and the follower waits for it.
            self.ok("set", "other", "k", "v")
            self.ok("set", "run", "k", "v")
            self.assertEqual((leader.poll(), follower.poll()), (None, None))
        finally:
            gate.release()
            results = [self.finish(p) for p in (leader, follower) if p]
        for code, out, err in results:
            self.assertEqual((code, out), (0, b"done\n"), err)
        self.assertEqual(self.executions(), 1)

    def test_follower_takes_over_when_leader_is_killed(self):
        gate = self.gate()
        cmd = self.step("if [ $n -eq 1 ]; then %s; fi; echo run $n" % gate.wait_cmd)
        leader = self.start_run(cmd)
        try:
            self.wait_until(gate.waiters, what="the leader's step to start")
            follower = self.start_run(cmd)
            self.wait_for_flight(gate, [follower], 1)
            self.assertIsNone(follower.poll(), "the follower waits for the leader")
            self.assertEqual(self.executions(), 1, "the follower does not run while it waits")
            leader.send_signal(signal.SIGKILL)
        finally:
            gate.release()  # the killed leader's step ends and lets go of its output pipes
            leader.communicate(timeout=60)
        code, out, err = self.finish(follower)
        self.assertEqual(code, 0, err)
        self.assertEqual(out, b"run 2\n", "the follower's own execution")
        self.assertEqual(self.executions(), 2)
        self.assertEqual(self.run_ok(cmd).out, b"run 2\n")
        self.assertEqual(self.executions(), 2)


class SpawnErrorTest(RunTestCase):
    def test_command_not_found(self):
        r = self.cm("run", "--", "no-such-command-cacheman-test", "arg")
        self.assertEqual(r.code, 127, r)
        self.assertEqual(r.out, b"")
        self.assertIn(b"no-such-command-cacheman-test", r.err)
        self.assertEqual(self.stored_keys(), [])
        self.assertEqual(self.cm("run", "--", "no-such-command-cacheman-test", "arg").code, 127)

    def test_missing_path_with_slash(self):
        r = self.cm("run", "--", "./not-here")
        self.assertEqual(r.code, 127, r)
        self.assertNotEqual(r.err, b"")
        self.assertEqual(self.stored_keys(), [])

    def test_not_executable(self):
        path = os.path.join(self.tmp, "plain.sh")
        self.write(path, "#!/bin/sh\necho hi\n")
        os.chmod(path, 0o644)
        r = self.cm("run", "--", path)
        self.assertEqual(r.code, 126, r)
        self.assertEqual(r.out, b"")
        self.assertNotEqual(r.err, b"")
        self.assertEqual(self.stored_keys(), [])
        self.assertEqual(self.cm("run", "--cache-failures", "--", path).code, 126)
        self.assertEqual(self.stored_keys(), [], "a spawn failure is never stored")

    def test_directory_is_not_executable(self):
        os.makedirs(os.path.join(self.tmp, "adir"))
        r = self.cm("run", "--", "./adir")
        self.assertEqual(r.code, 126, r)
        self.assertEqual(self.stored_keys(), [])


class SignalTest(RunTestCase):
    def interrupt(self, sig, accepted, body, to_group=False):
        # The first execution blocks at a gate that stays closed until the test ends (so a
        # cacheman that waited for it would never end); later ones finish at once. In `body`,
        # {wait} is the command that waits at the gate.
        gate = self.gate()
        cmd = self.step("if [ $n -eq 1 ]; then %s; fi; echo done $n"
                        % body.format(wait=gate.wait_cmd))
        proc = self.start_run(cmd, start_new_session=True)
        try:
            self.wait_until(gate.waiters, what="the step to reach its blocking command")
            if to_group:
                os.killpg(proc.pid, sig)  # what a terminal's Ctrl-C does
            else:
                proc.send_signal(sig)
            try:
                proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                self.fail("cacheman did not end after %s while its step still ran" % sig.name)
            self.assertIn(proc.returncode, accepted)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the step's leftovers, if any
            except ProcessLookupError:
                pass
            if proc.poll() is None:
                proc.communicate()
        self.assertEqual(self.stored_keys(), [], "an interrupted run stores nothing")
        self.assertEqual(self.run_ok(cmd).out, b"done 2\n")
        self.assertEqual(self.executions(), 2)

    def test_sigint_during_run(self):
        self.interrupt(signal.SIGINT, (-2, 130), "exec {wait}")

    def test_sigterm_during_run(self):
        self.interrupt(signal.SIGTERM, (-15, 143), "exec {wait}")

    def test_ctrl_c_to_the_process_group(self):
        self.interrupt(signal.SIGINT, (-2, 130), "{wait}", to_group=True)

    def test_sigterm_during_run_of_a_shell_with_a_child(self):
        # sh dies of the forwarded SIGTERM at once; its orphaned child (waiting at the gate)
        # still holds the output pipes, and cacheman must not wait for it before ending.
        self.interrupt(signal.SIGTERM, (-15, 143), "{wait}")

    def test_sigint_while_waiting_as_follower(self):
        gate = self.gate()
        cmd = self.step("%s; echo done" % gate.wait_cmd)
        leader = self.start_run(cmd)
        try:
            self.wait_until(gate.waiters, what="the leader's step to start")
            follower = self.start_run(cmd)
            self.wait_for_flight(gate, [follower], 1)
            follower.send_signal(signal.SIGINT)
            code, _, _ = self.finish(follower, timeout=60)
            self.assertIn(code, (-2, 130))
            self.assertIsNone(leader.poll(), "the interrupted follower ended on its own")
        finally:
            gate.release()
            code, out, err = self.finish(leader)
        self.assertEqual((code, out), (0, b"done\n"), err)
        self.assertEqual(self.executions(), 1)


class ExplainTest(RunTestCase):
    def test_explain_runs_nothing_and_reports_miss_then_hit(self):
        watched = os.path.join(self.tmp, "w.txt")
        self.write(watched, "abc")
        options = ("--env", "FOO", "--watch", watched, "--key", "extra")
        cmd = self.step("echo hi")
        before = self.cm("run", "--explain", *options, "--", *cmd, env={"FOO": "bar"})
        self.assertEqual(before.code, 0, before)
        self.assertEqual(self.executions(), 0, "--explain runs nothing")
        labels = [line.split()[0] for line in before.text.splitlines() if line.strip()]
        for label in ("key", "argv", "cwd", "env", "watch", "result"):
            self.assertIn(label, labels, before.text)
        self.assertIn("FOO", before.text)
        self.assertIn("bar", before.text)
        self.assertIn(watched, before.text)
        self.assertIn(self.tmp, before.text)  # the cwd
        result = [l for l in before.text.splitlines() if l.startswith("result")]
        self.assertEqual(len(result), 1, before.text)
        self.assertRegex(result[0], r"^result\s+miss")

        self.run_ok(cmd, *options, env={"FOO": "bar"})
        after = self.cm("run", "--explain", *options, "--", *cmd, env={"FOO": "bar"})
        self.assertEqual(after.code, 0, after)
        self.assertEqual(self.executions(), 1)
        result = [l for l in after.text.splitlines() if l.startswith("result")]
        self.assertRegex(result[0], r"^result\s+hit")
        self.assertEqual(after.err, b"")

        changed = self.cm("run", "--explain", *options, "--", *cmd, env={"FOO": "baz"})
        self.assertRegex(changed.text.splitlines()[-1], r"^result\s+miss")
        self.assertEqual(self.executions(), 1)

    def test_explain_json(self):
        cmd = self.step("echo hi")
        before = self.cm("--json", "run", "--explain", "--env", "FOO", "--", *cmd)
        self.assertEqual(before.code, 0, before)
        doc = json.loads(before.text)
        self.assertIs(doc["hit"], False)
        self.assertEqual(doc["cache"], "run")
        self.assertRegex(doc["key"], r"^[0-9a-f]{32,}$")
        labels = [p["part"] for p in doc["parts"]]
        self.assertIn("argv", labels)
        self.assertIn("cwd", labels)
        self.assertEqual(self.executions(), 0)
        self.run_ok(cmd, "--env", "FOO")
        after = json.loads(self.ok("--json", "run", "--explain", "--env", "FOO", "--", *cmd).text)
        self.assertIs(after["hit"], True)
        self.assertEqual(after["key"], doc["key"])
        self.assertEqual(self.stored_keys(), [doc["key"].encode()])
        self.assertEqual(self.executions(), 1)


class UsageTest(RunTestCase):
    def test_run_without_command(self):
        self.fails(2, "run")
        self.fails(2, "run", "--")
        self.fails(2, "run", "--ttl", "1s")

    def test_unknown_option(self):
        self.fails(2, "run", "--bogus", "x")
        self.assertEqual(self.stored_keys(), [])

    def test_option_missing_its_value(self):
        self.fails(2, "run", "--ttl")

    def test_command_without_double_dash(self):
        cmd = self.step("echo hi $n")
        r = self.ok("run", *cmd)
        self.assertEqual(r.out, b"hi 1\n")
        self.assertEqual(self.ok("run", *cmd).out, b"hi 1\n")
        self.assertEqual(self.ok("run", "--", *cmd).out, b"hi 1\n", "same argv, same key")
        self.assertEqual(self.executions(), 1)

    def test_command_options_belong_to_the_command(self):
        os.makedirs(os.path.join(self.tmp, "d"))
        self.write(os.path.join(self.tmp, "d", ".hidden"), "")
        r = self.ok("run", "ls", "-a", "d")
        self.assertIn(b".hidden", r.out)
        r = self.ok("run", "--key", "k", "ls", "-a", "d")
        self.assertIn(b".hidden", r.out)

    def test_double_dash_after_the_command_belongs_to_the_command(self):
        # `run git log -- path` style: without a leading `--`, everything from the command word
        # on is the command's, its own `--` included.
        r = self.ok("run", "echo", "a", "--", "b")
        self.assertEqual(r.out, b"a -- b\n")
        r = self.ok("run", "--key", "k", "echo", "x", "--", "y")
        self.assertEqual(r.out, b"x -- y\n")

    def test_double_dash_inside_the_command_after_leading_double_dash(self):
        r = self.ok("run", "--", "echo", "a", "--", "b")
        self.assertEqual(r.out, b"a -- b\n")


if __name__ == "__main__":
    unittest.main()
