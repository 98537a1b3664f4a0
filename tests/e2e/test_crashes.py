"""Kills during the very first write (issue 9, item 9): creating a store is atomic, so a `set`
killed while it creates the store leaves either no store or a whole one, and the next command
works; what a killed creation left behind is swept by the next one."""
import os
import signal
import subprocess
import unittest

from harness import CachemanTestCase


class KilledCreation(CachemanTestCase):
    def kill_when(self, seen, namespace):
        """Starts `set` on a new store and SIGKILLs it as soon as seen(files) is true for the
        files of the store directory (or lets it finish when it never is)."""
        proc = self.popen("-n", namespace, "set", "c", "k", "v", stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
        while proc.poll() is None:
            files = os.listdir(self.dir) if os.path.isdir(self.dir) else []
            if seen([f for f in files if f.startswith(namespace + ".")]):
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait(timeout=60)
        return proc.returncode

    def assert_next_commands_work(self, namespace):
        r = self.cm("-n", namespace, "get", "c", "k")
        self.assertIn(r.code, (0, 1), r)  # the killed set committed, or nothing was there
        self.assertIn(r.out, (b"v", b""))
        self.ok("-n", namespace, "set", "c", "k2", "v2")
        self.assertEqual(self.ok("-n", namespace, "get", "c", "k2").out, b"v2")
        self.ok("-n", namespace, "check")

    def test_killed_while_the_temporary_store_is_written(self):
        for attempt in range(20):
            namespace = "mid%d" % attempt
            self.kill_when(lambda files: any(".creating." in f for f in files), namespace)
            linked = os.path.exists(os.path.join(self.dir, namespace + ".sqlite"))
            self.assert_next_commands_work(namespace)
            if linked:
                continue  # killed after the store was whole: nothing was created again
            leftovers = [f for f in os.listdir(self.dir) if f.startswith(namespace + ".")
                         and ".creating." in f]
            self.assertEqual(leftovers, [], "the next creation swept what the kill left")

    def test_killed_as_soon_as_the_store_appears(self):
        for attempt in range(20):
            namespace = "just%d" % attempt
            self.kill_when(lambda files: namespace + ".sqlite" in files, namespace)
            self.assert_next_commands_work(namespace)

    def test_killed_at_the_first_file(self):
        for attempt in range(20):
            namespace = "first%d" % attempt
            self.kill_when(lambda files: bool(files), namespace)
            self.assert_next_commands_work(namespace)


if __name__ == "__main__":
    unittest.main()
