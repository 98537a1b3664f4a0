"""The seed's dependent-caches walk-through (CacheMan README, "Dependent caches"), step by step.

edge's 'processed' is computed from root's 'raw' (raw * 5). It stays stale after raw changes
until root is invalidated; then it is recomputed from the new raw.
"""
import unittest

from harness import CachemanTestCase


class WalkThrough(CachemanTestCase):
    def processed(self):
        """The seed's set_processed_value(), as a shell script would write it."""
        cached = self.get("edge", "processed")
        if cached is not None:
            return int(cached)
        raw = self.get("root", "raw")
        value = int(raw or b"0") * 5
        self.ok("set", "edge", "processed", str(value))
        return value

    def test_dependent_invalidation_step_by_step(self):
        self.ok("depend", "root", "edge")
        self.assertEqual(self.processed(), 0)  # no raw value yet
        self.ok("set", "root", "raw", "1")
        self.assertEqual(self.processed(), 0)  # still 0: edge holds the stale result
        self.assertEqual(self.ok("invalidate", "root").out, b"")
        self.assertEqual(self.ok("keys", "edge").out, b"")  # edge cleared with root
        self.assertEqual(self.ok("keys", "root").out, b"")  # root cleared too
        self.ok("set", "root", "raw", "1")
        self.assertEqual(self.processed(), 5)  # recomputed from the new raw
        self.assertEqual(self.ok("get", "edge", "processed").out, b"5")
        self.assertEqual(self.ok("keys", "edge").out, b"processed\n")


if __name__ == "__main__":
    unittest.main()
