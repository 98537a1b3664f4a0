"""The test clock: with CACHEMAN_TEST=1, CACHEMAN_NOW (unix seconds) is the current time for
everything cacheman does with time; without CACHEMAN_TEST=1 it is ignored (README, "Development";
man page, ENVIRONMENT). The other suites rely on it instead of sleeping.
"""
import json
import unittest

from harness import CachemanTestCase


class TestClock(CachemanTestCase):
    def expires(self, cache, key):
        for line in self.ok("export", cache).text.splitlines():
            entry = json.loads(line)
            if entry["key"] == key:
                return entry.get("expires")
        self.fail("no key %r in %r" % (key, cache))

    def test_expiry_follows_the_test_clock(self):
        self.set_now(self.CLOCK_START + 0.5)
        self.ok("set", "--ttl", "10s", "c", "k", "v")
        self.assertEqual(self.expires("c", "k"), self.CLOCK_START + 10.5)
        self.set_now(self.CLOCK_START + 10.25)
        self.assertEqual(self.get("c", "k"), b"v")
        self.set_now(self.CLOCK_START + 10.5)
        self.assertIsNone(self.get("c", "k"), "expired at the test clock's time")
        self.assertEqual(self.ok("keys", "c").out, b"")

    def test_run_records_and_the_log_use_it(self):
        self.set_now(self.CLOCK_START)
        self.ok("run", "--ttl", "1h", "--", "echo", "hi")
        self.set_now(self.CLOCK_START + 100)
        explained = json.loads(self.ok("--json", "run", "--explain", "--ttl", "1h", "--",
                                       "echo", "hi").text)
        self.assertEqual((explained["hit"], explained["created"], explained["expires"]),
                         (True, self.CLOCK_START, self.CLOCK_START + 3600), explained)
        self.ok("invalidate", "run")
        (entry,) = json.loads(self.ok("--json", "log").text)
        self.assertEqual(entry["at"], self.CLOCK_START + 100)
        self.assertEqual(self.ok("log", env={"TZ": "UTC0"}).text,
                         "2023-11-14 22:15:00\tinvalidate\trun\trun\n")

    def test_ignored_without_cacheman_test(self):
        for test in (None, "", "0", "yes"):
            with self.subTest(CACHEMAN_TEST=test):
                env = {"CACHEMAN_TEST": test, "CACHEMAN_NOW": "1000"}
                self.ok("set", "--ttl", "1h", "c", "k", "v", env=env)
                # By the system clock, far later than 1000 + 3600.
                self.assertGreater(self.expires("c", "k"), self.CLOCK_START)
                self.ok("set", "c", "k", "v", env={"CACHEMAN_TEST": test, "CACHEMAN_NOW": "soon"})

    def test_empty_is_unset(self):
        self.ok("set", "--ttl", "1h", "c", "k", "v",
                env={"CACHEMAN_TEST": "1", "CACHEMAN_NOW": ""})
        self.assertGreater(self.expires("c", "k"), self.CLOCK_START)

    def test_invalid_value_is_a_usage_error(self):
        self.ok("set", "c", "k", "v")
        for bad in ("soon", "-5", "1e9", "1.", "0x10", " 1", "99999999999999"):
            env = {"CACHEMAN_TEST": "1", "CACHEMAN_NOW": bad}
            for args in (("get", "c", "k"), ("set", "c", "k", "w"), ("list",)):
                with self.subTest(bad=bad, args=args):
                    r = self.fails(2, *args, env=env)
                    self.assertIn("CACHEMAN_NOW '%s'" % bad, r.errtext)
        self.assertEqual(self.get("c", "k"), b"v", "nothing was written")


if __name__ == "__main__":
    unittest.main()
