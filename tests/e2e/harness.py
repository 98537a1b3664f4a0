"""Shared helpers for the end-to-end tests: run the real cacheman binary in a fresh store.

Every test gets its own temporary directory and a clean environment (only PATH, plus what the
test sets), so nothing leaks from the developer's own ~/.cache or CACHEMAN_* variables.

Tests never sleep and never measure time. What depends on the time (TTLs, --stale, auto-sync
windows, the log) runs on the test clock, set_now(); what depends on another process reaching a
point waits for an observable sign of it with wait_until(): a lock it holds or waits for
(/proc/locks), a process that is asleep in the kernel, a file it wrote.
"""
import fcntl
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
import unittest

BIN = os.environ.get("CACHEMAN_BIN") or shutil.which("cacheman")
if not BIN:
    raise SystemExit("set CACHEMAN_BIN to the cacheman binary under test")
BIN = os.path.abspath(BIN)


class Result:
    def __init__(self, proc):
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    @property
    def text(self):
        return self.out.decode("utf-8")

    @property
    def errtext(self):
        return self.err.decode("utf-8", "replace")

    def __repr__(self):
        return f"Result(code={self.code}, out={self.out[:200]!r}, err={self.err[:300]!r})"


# Where the test clock starts in tests that set it: a whole second, so that times are exact.
CLOCK_START = 1_700_000_000
# The store layout this build writes (`check` prints it): SQLite's, or the shared store's.
SCHEMA_VERSION = 7 if os.environ.get("CACHEMAN_E2E_ENGINE", "sqlite") == "sqlite" else 2


def format_seconds(seconds):
    """Unix seconds as CACHEMAN_NOW takes them: digits, and a fraction when there is one."""
    if float(seconds).is_integer():
        return str(int(seconds))
    return ("%.6f" % seconds).rstrip("0")


def flock_waiters(path):
    """The pids of the processes blocked waiting for a flock() on the file at `path` (they are
    listed in /proc/locks with "->"), or an empty set when the file does not exist."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return set()
    dev_ino = "%02x:%02x:%d" % (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    waiters = set()
    with open("/proc/locks") as f:
        for line in f:
            fields = line.split()
            if len(fields) > 6 and fields[1] == "->" and fields[2] == "FLOCK" and fields[6] == dev_ino:
                waiters.add(int(fields[5]))
    return waiters


def is_sleeping(pid):
    """Whether process `pid` is asleep in nanosleep (SQLite's busy handler between two tries of
    a lock that another process holds)."""
    try:
        with open("/proc/%d/wchan" % pid) as f:
            return "nanosleep" in f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False


class Gate:
    """A file lock that the test holds, for a shell step to wait on without sleeping: the step
    runs `flock GATE true` (see wait_cmd), which blocks until the test calls release(). The step
    shows up in flock_waiters(gate.path) while it waits."""

    def __init__(self, path):
        self.path = path
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    @property
    def wait_cmd(self):
        return "flock '%s' true" % self.path

    def waiters(self):
        return flock_waiters(self.path)

    def release(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


# The engine the tests run on: "sqlite" (the files under CACHEMAN_DIR), or with
# CACHEMAN_E2E_ENGINE=postgresql the test server CACHEMAN_PG_TEST_URL names, where each test
# gets a database of its own (CACHEMAN_STORE; an explicit --dir still means the files).
ENGINE = os.environ.get("CACHEMAN_E2E_ENGINE", "sqlite")
TEST_SERVER = os.environ.get("CACHEMAN_PG_TEST_URL")


def server_database(url, database):
    """The test server's URL with another database in it."""
    prefix, _, rest = url.partition("://")
    authority, _, path = rest.partition("/")
    _, _, query = path.partition("?")
    return "%s://%s/%s%s" % (prefix, authority, database, "?" + query if query else "")


def psql(url, sql):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                   check=True, stdout=subprocess.DEVNULL)


class CachemanTestCase(unittest.TestCase):
    """Base class: self.dir is a fresh CACHEMAN_DIR (on PostgreSQL, also a fresh database);
    self.cm(...) runs the binary."""

    CLOCK_START = CLOCK_START

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cacheman-e2e-")
        self.dir = os.path.join(self.tmp, "store")
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.path.join(self.tmp, "home"),
            "CACHEMAN_DIR": self.dir,
        }
        self._gates = []
        self.database = None
        if ENGINE == "postgresql":
            if not TEST_SERVER:
                raise unittest.SkipTest("no test server (CACHEMAN_PG_TEST_URL)")
            self.database = "e2e_" + os.path.basename(self.tmp).replace("-", "_").lower()
            psql(TEST_SERVER, "CREATE DATABASE %s" % self.database)
            self.env["CACHEMAN_STORE"] = server_database(TEST_SERVER, self.database)

    def tearDown(self):
        if self.database:
            psql(TEST_SERVER, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.database)
        for gate in self._gates:
            gate.release()
        subprocess.run(["chmod", "-R", "u+rwx", self.tmp], check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)

    # --- time and waiting ----------------------------------------------------------------------
    def set_now(self, seconds):
        """Every later command of this test (and the hooks and commands it starts) runs at
        `seconds`, unix time, by the test clock (CACHEMAN_TEST=1 with CACHEMAN_NOW)."""
        self.env["CACHEMAN_TEST"] = "1"
        self.env["CACHEMAN_NOW"] = format_seconds(seconds)

    def wait_until(self, condition, timeout=60.0, what="condition"):
        """Polls condition() until it returns a true value, which it returns. The timeout only
        ends a wait for something that never happens: it is generous, never a measurement."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                self.fail("timed out after %.0f s waiting for %s" % (timeout, what))
            time.sleep(0.01)

    def gate(self, name="gate"):
        """A Gate in this test's directory, released at the latest when the test ends."""
        gate = Gate(os.path.join(self.tmp, name))
        self._gates.append(gate)
        return gate

    def live_pids(self):
        """The processes that run with this test's CACHEMAN_DIR (cacheman, its hooks and steps,
        detached ones included), zombies excepted."""
        mark = ("CACHEMAN_DIR=" + self.dir).encode()
        pids = set()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/environ" % entry, "rb") as f:
                    if mark in f.read().split(b"\0"):
                        pids.add(int(entry))
            except OSError:
                pass
        return pids

    def wait_for_quiet(self):
        """Waits until no process of this test is left (a detached refresh included)."""
        self.wait_until(lambda: not self.live_pids(), what="this test's processes to end")

    def put_binary_on_path(self):
        """Makes `cacheman` on PATH the binary under test (for scripts and shell completions)."""
        bindir = os.path.join(self.tmp, "bin")
        os.makedirs(bindir, exist_ok=True)
        link = os.path.join(bindir, "cacheman")
        if not os.path.exists(link):
            os.symlink(BIN, link)
        self.env["PATH"] = bindir + os.pathsep + self.env["PATH"]

    def skip_unless_engine_has(self, args):
        """A test that makes a volatile cache is about volatile caches, which a shared store
        refuses (test_store_url checks the refusal): skipped there."""
        if ENGINE != "sqlite" and "--volatile" in args:
            self.skipTest("volatile caches are refused on a shared store")

    def cm(self, *args, input=None, env=None, timeout=60, cwd=None):
        """Runs cacheman with args; returns a Result with code, out (bytes), err (bytes)."""
        self.skip_unless_engine_has(args)
        full_env = dict(self.env)
        if env:
            full_env.update(env)
        full_env = {k: v for k, v in full_env.items() if v is not None}
        proc = subprocess.run(
            [BIN, *args],
            input=input if input is not None else b"",
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            timeout=timeout,
            cwd=cwd or self.tmp,
        )
        return Result(proc)

    def popen(self, *args, env=None, **kwargs):
        self.skip_unless_engine_has(args)
        full_env = dict(self.env)
        if env:
            full_env.update(env)
        kwargs.setdefault("cwd", self.tmp)
        return subprocess.Popen([BIN, *args], env=full_env, **kwargs)

    # --- assertions on what a user sees ------------------------------------------------------
    def ok(self, *args, **kwargs):
        r = self.cm(*args, **kwargs)
        self.assertEqual(r.code, 0, r)
        return r

    def fails(self, code, *args, **kwargs):
        r = self.cm(*args, **kwargs)
        self.assertEqual(r.code, code, r)
        if code != 1 or args[:1] != ("get",):
            self.assertTrue(r.errtext.startswith("cacheman: error: "), r)
            self.assertEqual(r.errtext.count("\n"), 1, "one line on stderr: %r" % r)
        self.assertEqual(r.out, b"", r)
        return r

    def get(self, cache, key):
        r = self.cm("get", cache, key)
        return r.out if r.code == 0 else None

    def store_path(self, namespace="default"):
        """The SQLite file of the namespace: a test that looks into it is about the SQLite
        engine, and is skipped on the other."""
        if ENGINE != "sqlite":
            self.skipTest("looks into the SQLite store file")
        return os.path.join(self.dir, namespace + ".sqlite")

    def integrity(self, namespace="default"):
        con = sqlite3.connect(self.store_path(namespace))
        try:
            return con.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            con.close()

    def sql(self, query, namespace="default"):
        con = sqlite3.connect(self.store_path(namespace))
        try:
            return con.execute(query).fetchall()
        finally:
            con.close()
