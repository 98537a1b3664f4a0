"""Starting commands (issue 8, "one process-spawning path"): the exit status and the one error
line when `run`'s command cannot be started (CONTRACT.md "Exit status": 127 not found, 126
cannot execute), a hook command that fails (exit 4, its stderr passed through), and the signals
a `run` command gets: an interrupt forwarded to it, dispositions as a shell would leave them.

Nothing here sleeps: a command that must be running before the test acts says so by writing to
a FIFO, which the test's read waits for.
"""
import os
import signal
import subprocess
import threading
import unittest

from harness import CachemanTestCase


def default_signals():
    """Starts cacheman as an interactive shell starts a command: the interrupts at default."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def ignoring_sigterm():
    """Starts cacheman as `nohup`-like wrappers and background jobs do: a signal ignored."""
    default_signals()
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def signal_bits(status, field):
    """The set of signals in a SigIgn/SigBlk/... line of a /proc/PID/status text."""
    for line in status.splitlines():
        if line.startswith(field + ":"):
            mask = int(line.split()[1], 16)
            return {sig for sig in range(1, 65) if mask >> (sig - 1) & 1}
    raise AssertionError("no %s in %r" % (field, status))


class ProcessTestCase(CachemanTestCase):
    def no_results_stored(self):
        r = self.cm("keys", "run")
        self.assertIn(r.code, (0, 1), r)
        self.assertEqual(r.out, b"", "nothing stored: %r" % r)

    def cannot_start(self, code, command, message):
        r = self.cm("run", "--", command)
        self.assertEqual(r.code, code, r)
        self.assertEqual(r.out, b"", r)
        self.assertEqual(r.errtext, "cacheman: error: %s: %s\n" % (command, message))
        self.no_results_stored()
        # --cache-failures does not make a command that never started a stored failure.
        self.assertEqual(self.cm("run", "--cache-failures", "--", command).code, code)
        self.no_results_stored()


class CannotStartTest(ProcessTestCase):
    def test_a_name_not_on_path_is_not_found(self):
        self.cannot_start(127, "cacheman-no-such-command", "command not found")

    def test_a_missing_path_is_not_found(self):
        self.cannot_start(127, "./not-here", "No such file or directory")

    def test_a_path_through_a_regular_file_is_not_found(self):
        # ENOTDIR: /etc/passwd is a file, so /etc/passwd/x cannot exist.
        self.cannot_start(127, "/etc/passwd/x", "Not a directory")

    def test_a_file_without_execute_permission_cannot_execute(self):
        with open(os.path.join(self.tmp, "not-executable-file"), "w") as f:
            f.write("#!/bin/sh\necho ran\n")
        os.chmod(os.path.join(self.tmp, "not-executable-file"), 0o644)
        self.cannot_start(126, "./not-executable-file", "cannot execute: Permission denied")

    def test_a_directory_cannot_execute(self):
        os.mkdir(os.path.join(self.tmp, "adir"))
        self.cannot_start(126, "./adir", "cannot execute: Is a directory")


class HookCommandTest(ProcessTestCase):
    def test_a_builder_that_cannot_run_fails_the_rebuild_and_keeps_the_cache(self):
        self.ok("set", "c", "k", "before")
        self.ok("create", "--builder", "cacheman-no-such-builder", "c")
        r = self.cm("rebuild", "c")
        self.assertEqual(r.code, 4, r)
        self.assertEqual(r.out, b"", r)
        lines = r.errtext.splitlines()
        # The shell's own complaint passes through, then cacheman's one line.
        self.assertIn("cacheman-no-such-builder", lines[0], r)
        self.assertEqual(lines[-1],
                         "cacheman: error: builder of cache 'c' failed; the cache is unchanged")
        self.assertEqual(self.get("c", "k"), b"before")

    def test_a_failing_builder_fails_the_rebuild_with_its_stderr(self):
        self.ok("set", "c", "k", "before")
        self.ok("create", "--builder", "echo 'no network' >&2; exit 3", "c")
        r = self.cm("rebuild", "c")
        self.assertEqual(r.code, 4, r)
        self.assertEqual(r.errtext, "no network\ncacheman: error: builder of cache 'c' failed; "
                                    "the cache is unchanged\n")
        self.assertEqual(self.get("c", "k"), b"before")


class SignalTest(ProcessTestCase):
    def setUp(self):
        super().setUp()
        self.ready = os.path.join(self.tmp, "ready")
        os.mkfifo(self.ready)

    def start_run(self, script, preexec_fn=default_signals):
        """Starts `cacheman run -- sh -c SCRIPT` in a session of its own; SCRIPT gets the FIFO
        as $1."""
        return self.popen("run", "--", "sh", "-c", script, "step", self.ready,
                          preexec_fn=preexec_fn, start_new_session=True,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)

    def wait_ready(self, proc):
        """Reads what the command wrote to the FIFO: it is running and has said so. Should
        cacheman end first, the read ends too (with nothing read) instead of waiting forever."""
        def unblock_when_it_ends():
            proc.wait()
            try:
                os.close(os.open(self.ready, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass  # no reader left: the read is over

        threading.Thread(target=unblock_when_it_ends, daemon=True).start()
        with open(self.ready) as fifo:  # blocks until a writer opens it
            return fifo.read()

    def finish(self, proc):
        try:
            return proc.communicate(timeout=60)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the command's leftovers, if any
            except ProcessLookupError:
                pass

    def test_sigterm_is_forwarded_to_the_command_and_cacheman_dies_of_it(self):
        got = os.path.join(self.tmp, "got")
        # The command's trap records the forwarded signal, stops its long wait and exits 0:
        # cacheman must still end as the signal would have ended it, storing nothing.
        gate = self.gate()  # never released while the command runs: it blocks until signalled
        script = ("trap 'echo TERM > \"%s\"; kill $sleeper; exit 0' TERM; "
                  "%s >/dev/null 2>&1 & sleeper=$!; "
                  "echo started > \"$1\"; wait $sleeper" % (got, gate.wait_cmd))
        proc = self.start_run(script)
        self.assertEqual(self.wait_ready(proc), "started\n")
        proc.send_signal(signal.SIGTERM)
        out, err = self.finish(proc)
        self.assertEqual(proc.returncode, -signal.SIGTERM, err)
        self.assertEqual(out, b"")
        with open(got) as f:
            self.assertEqual(f.read(), "TERM\n", "the command got the SIGTERM")
        self.no_results_stored()

    def signals_of_the_command(self, preexec_fn):
        proc = self.start_run("exec cat /proc/self/status > \"$1\"", preexec_fn)
        status = self.wait_ready(proc)
        _, err = self.finish(proc)
        self.assertEqual(proc.returncode, 0, err)
        return status

    def test_the_command_starts_with_default_signals_and_nothing_blocked(self):
        status = self.signals_of_the_command(default_signals)
        # cacheman itself ignores SIGPIPE and catches the interrupts; the command does neither.
        ignored = signal_bits(status, "SigIgn")
        for sig in (signal.SIGPIPE, signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
            self.assertNotIn(sig, ignored, status)
        self.assertEqual(signal_bits(status, "SigBlk"), set(), status)

    def test_a_signal_ignored_when_cacheman_started_stays_ignored_for_the_command(self):
        status = self.signals_of_the_command(ignoring_sigterm)
        ignored = signal_bits(status, "SigIgn")
        self.assertIn(signal.SIGTERM, ignored, status)
        self.assertNotIn(signal.SIGINT, ignored, status)


if __name__ == "__main__":
    unittest.main()
