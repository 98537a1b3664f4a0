"""Shared helpers for the end-to-end tests: run the real cacheman binary in a fresh store.

Every test gets its own temporary directory and a clean environment (only PATH, plus what the
test sets), so nothing leaks from the developer's own ~/.cache or CACHEMAN_* variables.
"""
import os
import shutil
import sqlite3
import subprocess
import tempfile
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


class CachemanTestCase(unittest.TestCase):
    """Base class: self.dir is a fresh CACHEMAN_DIR; self.cm(...) runs the binary."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cacheman-e2e-")
        self.dir = os.path.join(self.tmp, "store")
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.path.join(self.tmp, "home"),
            "CACHEMAN_DIR": self.dir,
        }

    def tearDown(self):
        subprocess.run(["chmod", "-R", "u+rwx", self.tmp], check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def put_binary_on_path(self):
        """Makes `cacheman` on PATH the binary under test (for scripts and shell completions)."""
        bindir = os.path.join(self.tmp, "bin")
        os.makedirs(bindir, exist_ok=True)
        link = os.path.join(bindir, "cacheman")
        if not os.path.exists(link):
            os.symlink(BIN, link)
        self.env["PATH"] = bindir + os.pathsep + self.env["PATH"]

    def cm(self, *args, input=None, env=None, timeout=60, cwd=None):
        """Runs cacheman with args; returns a Result with code, out (bytes), err (bytes)."""
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
        full_env = dict(self.env)
        if env:
            full_env.update(env)
        return subprocess.Popen([BIN, *args], env=full_env, cwd=self.tmp, **kwargs)

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
