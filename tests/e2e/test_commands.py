"""Every v1 command's observable behaviour, as the contract (CONTRACT.md, "Commands (v1)") states it.

Each test runs the real binary in a fresh CACHEMAN_DIR and asserts exact stdout bytes, exit codes
and the one-line `cacheman: error: ...` on stderr. `run`, hooks, volatile caches and statistics
are out of scope here.
"""
import json
import os
import re
import unittest

from harness import CachemanTestCase


def rotations(cycle):
    """All the ways of printing the cycle [a, b, c] as 'x -> y -> z -> x'."""
    out = []
    for i in range(len(cycle)):
        r = cycle[i:] + cycle[:i]
        out.append(" -> ".join(r + [r[0]]))
    return out


class CommandTestCase(CachemanTestCase):
    def keys(self, cache):
        """The keys of CACHE as a list of str, via `keys` (which must succeed)."""
        r = self.ok("keys", cache)
        self.assertEqual(r.err, b"", r)
        if r.out == b"":
            return []
        self.assertTrue(r.out.endswith(b"\n"), r)
        return r.out[:-1].decode("utf-8").split("\n")

    def caches(self):
        """The names `list` prints, as a sorted list."""
        r = self.ok("list")
        if r.out == b"":
            return []
        self.assertTrue(r.out.endswith(b"\n"), r)
        return sorted(r.out[:-1].decode("utf-8").split("\n"))

    def list_json(self):
        r = self.ok("list", "--json")
        return {c["name"]: c for c in json.loads(r.out)}

    def export_lines(self, cache):
        r = self.ok("export", cache)
        self.assertEqual(r.err, b"", r)
        if r.out == b"":
            return []
        self.assertTrue(r.out.endswith(b"\n"), r)
        return r.out[:-1].split(b"\n")

    def assert_error_names(self, result, *words):
        for w in words:
            self.assertIn(w, result.errtext, result)

    def fill(self, *caches):
        """Puts one entry `k` = `<cache>-v` in each cache."""
        for c in caches:
            self.ok("set", c, "k", c + "-v")

    def assert_full(self, *caches):
        for c in caches:
            self.assertEqual(self.get(c, "k"), (c + "-v").encode(), "cache %s should be intact" % c)

    def assert_cleared(self, *caches):
        for c in caches:
            self.assertEqual(self.keys(c), [], "cache %s should be cleared" % c)


class Set(CommandTestCase):
    def test_value_argument(self):
        r = self.ok("set", "c", "k", "hello world")
        self.assertEqual((r.out, r.err), (b"", b""))
        self.assertEqual(self.ok("get", "c", "k").out, b"hello world")

    def test_overwrite_keeps_last(self):
        self.ok("set", "c", "k", "one")
        self.ok("set", "c", "k", "two")
        self.assertEqual(self.ok("get", "c", "k").out, b"two")
        self.assertEqual(self.keys("c"), ["k"])

    def test_stdin_when_value_absent(self):
        self.ok("set", "c", "k", input=b"from stdin\nsecond line\n")
        self.assertEqual(self.ok("get", "c", "k").out, b"from stdin\nsecond line\n")

    def test_stdin_when_value_is_dash(self):
        self.ok("set", "c", "k", "-", input=b"dash input")
        self.assertEqual(self.ok("get", "c", "k").out, b"dash input")

    def test_empty_stdin_stores_empty_value(self):
        self.ok("set", "c", "k", input=b"")
        r = self.ok("get", "c", "k")
        self.assertEqual(r.out, b"")
        self.assertEqual(self.keys("c"), ["k"])

    def test_empty_argument_stores_empty_value(self):
        self.ok("set", "c", "k", "")
        self.assertEqual(self.ok("get", "c", "k").out, b"")

    def test_binary_safe_with_nul_bytes(self):
        value = bytes(range(256)) * 16 + b"\x00\x00tail\x00"
        self.ok("set", "c", "bin", input=value)
        self.assertEqual(self.ok("get", "c", "bin").out, value)

    def test_invalid_utf8_value(self):
        value = b"\xff\xfe\xc3(\x80"
        self.ok("set", "c", "k", input=value)
        self.assertEqual(self.ok("get", "c", "k").out, value)

    def test_utf8_and_newlines_in_argument(self):
        self.ok("set", "c", "k", "café\n日本\n")
        self.assertEqual(self.ok("get", "c", "k").out, "café\n日本\n".encode())

    def test_double_dash_allows_value_starting_with_dash(self):
        self.ok("set", "c", "k", "--", "-5")
        self.assertEqual(self.ok("get", "c", "k").out, b"-5")
        self.ok("set", "c", "k2", "--", "--ttl")
        self.assertEqual(self.ok("get", "c", "k2").out, b"--ttl")

    def test_creates_cache(self):
        self.assertEqual(self.caches(), [])
        self.ok("set", "fresh", "k", "v")
        self.assertEqual(self.caches(), ["fresh"])


class Get(CommandTestCase):
    def test_exact_bytes_no_newline_added(self):
        self.ok("set", "c", "k", "abc")
        r = self.ok("get", "c", "k")
        self.assertEqual(r.out, b"abc")
        self.assertEqual(r.err, b"")

    def test_trailing_newline_kept_not_doubled(self):
        self.ok("set", "c", "k", input=b"line\n")
        self.assertEqual(self.ok("get", "c", "k").out, b"line\n")

    def test_miss_on_existing_cache(self):
        self.ok("set", "c", "k", "v")
        r = self.cm("get", "c", "other")
        self.assertEqual((r.code, r.out), (1, b""), r)

    def test_miss_on_missing_cache(self):
        self.ok("set", "c", "k", "v")
        r = self.cm("get", "nosuch", "k")
        self.assertEqual((r.code, r.out), (1, b""), r)
        self.assertEqual(self.caches(), ["c"], "get must not create a cache")

    def test_miss_error_line_names_key_or_cache(self):
        self.ok("set", "c", "k", "v")
        r = self.cm("get", "c", "missingkey")
        self.assertEqual(r.code, 1)
        if r.err:  # a miss may be silent; if it speaks, it speaks the contract's format
            self.assertTrue(r.errtext.startswith("cacheman: error: "), r)
            self.assertEqual(r.errtext.count("\n"), 1, r)

    def test_keys_are_case_sensitive(self):
        self.ok("set", "c", "K", "upper")
        self.ok("set", "c", "k", "lower")
        self.assertEqual(self.ok("get", "c", "K").out, b"upper")
        self.assertEqual(self.ok("get", "c", "k").out, b"lower")


class Del(CommandTestCase):
    def setUp(self):
        super().setUp()
        for k in ("a", "b", "c", "d"):
            self.ok("set", "c", k, k)

    def test_multiple_keys(self):
        r = self.ok("del", "c", "a", "b")
        self.assertEqual((r.out, r.err), (b"", b""))
        self.assertEqual(self.keys("c"), ["c", "d"])

    def test_exit_0_when_at_least_one_removed(self):
        self.ok("del", "c", "nope", "a", "nope2")
        self.assertEqual(self.keys("c"), ["b", "c", "d"])

    def test_exit_1_when_none_removed(self):
        r = self.cm("del", "c", "x", "y")
        self.assertEqual((r.code, r.out), (1, b""), r)
        self.assertEqual(self.keys("c"), ["a", "b", "c", "d"])

    def test_deleting_twice(self):
        self.ok("del", "c", "a")
        r = self.cm("del", "c", "a")
        self.assertEqual((r.code, r.out), (1, b""), r)

    def test_missing_cache(self):
        r = self.cm("del", "nosuch", "a")
        self.assertEqual((r.code, r.out), (1, b""), r)
        self.assertEqual(self.caches(), ["c"])

    def test_get_after_del_misses(self):
        self.ok("del", "c", "a")
        self.assertIsNone(self.get("c", "a"))


class Keys(CommandTestCase):
    WORDS = ["b", "B", "a", "A", "z", "Z", "_", "10", "9", "é", "e", "日本", "ÿ", "~", " sp", "a b"]

    def test_byte_order_sorting(self):
        for w in self.WORDS:
            self.ok("set", "c", w, "v")
        expected = sorted(self.WORDS, key=lambda s: s.encode("utf-8"))
        r = self.ok("keys", "c")
        self.assertEqual(r.out, "".join(w + "\n" for w in expected).encode("utf-8"))

    def test_empty_cache_prints_nothing(self):
        self.ok("set", "c", "k", "v")
        self.ok("del", "c", "k")
        r = self.ok("keys", "c")
        self.assertEqual(r.out, b"")

    def test_missing_cache_exit_1(self):
        r = self.cm("keys", "nosuch")
        self.assertEqual((r.code, r.out), (1, b""), r)

    def test_nul_separated(self):
        self.ok("set", "c", "line1\nline2", "v")
        self.ok("set", "c", "plain", "v")
        r = self.ok("keys", "-0", "c")
        self.assertIn(r.out, (b"line1\nline2\x00plain\x00", b"line1\nline2\x00plain"), r)

    def test_json_after_command(self):
        tricky = ['quote"d', "back\\slash", "new\nline", "tab\t", "日本", "ctl\x01"]
        for k in tricky:
            self.ok("set", "c", k, "v")
        r = self.ok("keys", "--json", "c")
        self.assertEqual(json.loads(r.out), sorted(tricky, key=lambda s: s.encode()))

    def test_json_as_global_option(self):
        self.ok("set", "c", "b", "v")
        self.ok("set", "c", "a", "v")
        r = self.ok("--json", "keys", "c")
        self.assertEqual(json.loads(r.out), ["a", "b"])

    def test_json_empty_cache(self):
        self.ok("depend", "p", "c")
        self.assertEqual(json.loads(self.ok("keys", "--json", "c").out), [])


class List(CommandTestCase):
    def test_empty_namespace(self):
        r = self.ok("list")
        self.assertEqual((r.out, r.err), (b"", b""))

    def test_one_name_per_line(self):
        for c in ("beta", "alpha", "with space", "café"):
            self.ok("set", c, "k", "v")
        r = self.ok("list")
        self.assertTrue(r.out.endswith(b"\n"))
        self.assertEqual(sorted(r.out[:-1].split(b"\n")),
                         sorted(x.encode() for x in ("beta", "alpha", "with space", "café")))

    def test_json_fields(self):
        self.ok("set", "a", "k1", "12345")
        self.ok("set", "a", "k2", input=b"\x00\x01\x02")
        self.ok("set", "a", "k3", "")
        self.ok("depend", "a", "b")
        self.ok("depend", "a", "c")
        self.ok("depend", "b", "d")
        self.ok("depend", "x", "b")
        data = self.list_json()
        self.assertEqual(sorted(data), ["a", "b", "c", "d", "x"])
        a = data["a"]
        self.assertEqual(a["entries"], 3)
        self.assertEqual(a["bytes"], 8)
        self.assertEqual(sorted(a["parents"]), [])
        self.assertEqual(sorted(a["children"]), ["b", "c"])
        b = data["b"]
        self.assertEqual((b["entries"], b["bytes"]), (0, 0))
        self.assertEqual(sorted(b["parents"]), ["a", "x"])
        self.assertEqual(sorted(b["children"]), ["d"])
        self.assertEqual(sorted(data["d"]["parents"]), ["b"])
        self.assertEqual(data["d"]["children"], [])

    def test_json_as_global_option(self):
        self.ok("set", "a", "k", "vv")
        (a,) = json.loads(self.ok("--json", "list").out)
        self.assertEqual((a["name"], a["entries"], a["bytes"], a["parents"], a["children"]),
                         ("a", 1, 2, [], []))

    def test_json_empty_namespace(self):
        self.assertEqual(json.loads(self.ok("list", "--json").out), [])

    def test_entries_after_delete_and_overwrite(self):
        self.ok("set", "a", "k1", "aaaa")
        self.ok("set", "a", "k2", "bb")
        self.ok("set", "a", "k1", "c")
        self.ok("del", "a", "k2")
        a = self.list_json()["a"]
        self.assertEqual((a["entries"], a["bytes"]), (1, 1))


class DependUndepend(CommandTestCase):
    def test_depend_creates_both_caches(self):
        r = self.ok("depend", "p", "c")
        self.assertEqual((r.out, r.err), (b"", b""))
        self.assertEqual(self.caches(), ["c", "p"])
        self.assertEqual(self.keys("p"), [])
        self.assertEqual(self.keys("c"), [])

    def test_existing_edge_is_a_noop(self):
        self.ok("depend", "p", "c")
        self.ok("set", "c", "k", "v")
        r = self.ok("depend", "p", "c")
        self.assertEqual(r.out, b"")
        self.assertEqual(self.sql("SELECT parent, child FROM depends"), [("p", "c")])
        self.assertEqual(self.ok("get", "c", "k").out, b"v", "re-adding an edge clears nothing")
        self.assertEqual(self.list_json()["p"]["children"], ["c"])

    def test_two_node_cycle_refused(self):
        self.ok("depend", "a", "b")
        r = self.fails(2, "depend", "b", "a")
        self.assertTrue(any(p in r.errtext for p in rotations(["a", "b"])), r)
        self.assertEqual(self.sql("SELECT parent, child FROM depends"), [("a", "b")])

    def test_self_edge_refused(self):
        r = self.fails(2, "depend", "a", "a")
        self.assertIn("a -> a", r.errtext)
        self.assertEqual(self.sql("SELECT count(*) FROM depends"), [(0,)])

    def test_long_cycle_prints_whole_path(self):
        self.ok("depend", "a", "b")
        self.ok("depend", "b", "c")
        self.ok("depend", "c", "d")
        self.ok("depend", "x", "a")  # not part of the cycle
        r = self.fails(2, "depend", "d", "a")
        self.assertTrue(any(p in r.errtext for p in rotations(["a", "b", "c", "d"])), r)
        self.assertNotIn("x ->", r.errtext)
        self.assertEqual(len(self.sql("SELECT * FROM depends")), 4)

    def test_non_cycle_diamond_accepted(self):
        self.ok("depend", "a", "b")
        self.ok("depend", "a", "c")
        self.ok("depend", "b", "d")
        self.ok("depend", "c", "d")
        self.ok("depend", "a", "d")  # shortcut edge, still acyclic
        self.assertEqual(len(self.sql("SELECT * FROM depends")), 5)

    def test_undepend(self):
        self.ok("depend", "p", "c")
        self.fill("p", "c")
        r = self.ok("undepend", "p", "c")
        self.assertEqual((r.out, r.err), (b"", b""))
        self.assertEqual(self.sql("SELECT count(*) FROM depends"), [(0,)])
        self.assertEqual(self.caches(), ["c", "p"], "undepend keeps both caches")
        self.ok("invalidate", "p")
        self.assert_full("c")

    def test_undepend_missing_edge(self):
        self.ok("depend", "p", "c")
        self.fails(1, "undepend", "c", "p")
        self.fails(1, "undepend", "p", "nosuch")
        self.fails(1, "undepend", "nosuch1", "nosuch2")
        self.assertEqual(self.sql("SELECT parent, child FROM depends"), [("p", "c")])

    def test_undepend_then_reverse_edge_allowed(self):
        self.ok("depend", "a", "b")
        self.ok("undepend", "a", "b")
        self.ok("depend", "b", "a")
        self.assertEqual(self.sql("SELECT parent, child FROM depends"), [("b", "a")])


class Invalidate(CommandTestCase):
    def test_whole_cache(self):
        self.ok("set", "c", "k1", "v")
        self.ok("set", "c", "k2", "v")
        r = self.ok("invalidate", "c")
        self.assertEqual((r.out, r.err), (b"", b""))
        self.assertEqual(self.keys("c"), [])
        self.assertEqual(self.caches(), ["c"], "the cache still exists, empty")

    def test_key_clears_key_and_all_dependents(self):
        self.ok("depend", "p", "c1")
        self.ok("depend", "p", "c2")
        self.ok("depend", "c1", "g")
        self.ok("set", "p", "k1", "1")
        self.ok("set", "p", "k2", "2")
        self.fill("c1", "c2", "g")
        self.ok("set", "c1", "other", "x")
        r = self.ok("invalidate", "p", "k1")
        self.assertEqual(r.out, b"")
        self.assertEqual(self.keys("p"), ["k2"])
        self.assertEqual(self.ok("get", "p", "k2").out, b"2")
        self.assert_cleared("c1", "c2", "g")

    def test_missing_key_on_existing_cache_exits_0_and_clears_dependents(self):
        self.ok("depend", "p", "c")
        self.ok("set", "p", "keep", "1")
        self.fill("c")
        r = self.ok("invalidate", "p", "missingkey")
        self.assertEqual(r.out, b"")
        self.assertEqual(self.keys("p"), ["keep"])
        self.assert_cleared("c")

    def test_transitive(self):
        chain = ["a", "b", "c", "d", "e"]
        for p, c in zip(chain, chain[1:]):
            self.ok("depend", p, c)
        self.fill(*chain)
        self.ok("invalidate", "b")
        self.assert_full("a")
        self.assert_cleared("b", "c", "d", "e")

    def test_diamond(self):
        for p, c in [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("d", "e")]:
            self.ok("depend", p, c)
        self.fill("a", "b", "c", "d", "e")
        self.ok("invalidate", "a")
        self.assert_cleared("a", "b", "c", "d", "e")

    def test_upstream_siblings_and_unrelated_untouched(self):
        # up -> mid -> down ; up -> sibling ; other -> down ; lone
        for p, c in [("up", "mid"), ("mid", "down"), ("up", "sibling"), ("other", "down")]:
            self.ok("depend", p, c)
        self.fill("up", "mid", "down", "sibling", "other", "lone")
        self.ok("invalidate", "mid")
        self.assert_cleared("mid", "down")
        self.assert_full("up", "sibling", "other", "lone")

    def test_unknown_cache(self):
        self.ok("set", "c", "k", "v")
        r = self.fails(1, "invalidate", "nosuch")
        self.assert_error_names(r, "nosuch")
        self.fails(1, "invalidate", "nosuch", "k")
        self.assertEqual(self.caches(), ["c"])
        self.assertEqual(self.get("c", "k"), b"v")

    def test_dry_run_prints_cache_first_then_dependents(self):
        for p, c in [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("up", "a")]:
            self.ok("depend", p, c)
        self.fill("up", "a", "b", "c", "d", "z")
        r = self.ok("invalidate", "--dry-run", "a")
        self.assertEqual(r.err, b"")
        self.assertTrue(r.out.endswith(b"\n"), r)
        lines = r.out[:-1].decode().split("\n")
        self.assertEqual(lines[0], "a")
        self.assertEqual(sorted(lines[1:]), ["b", "c", "d"], "each dependent once")
        self.assert_full("up", "a", "b", "c", "d", "z")

    def test_dry_run_leaf(self):
        self.ok("depend", "a", "b")
        self.fill("a", "b")
        self.assertEqual(self.ok("invalidate", "--dry-run", "b").out, b"b\n")
        self.assert_full("a", "b")

    def test_dry_run_unknown_cache(self):
        self.fails(1, "invalidate", "--dry-run", "nosuch")

    def test_invalidated_cache_accepts_new_values(self):
        self.ok("depend", "a", "b")
        self.fill("a", "b")
        self.ok("invalidate", "a")
        self.ok("set", "b", "k", "new")
        self.assertEqual(self.ok("get", "b", "k").out, b"new")


class Drop(CommandTestCase):
    def setUp(self):
        super().setUp()
        # a -> b -> c ; x -> b ; b -> d ; lone
        for p, c in [("a", "b"), ("b", "c"), ("x", "b"), ("b", "d")]:
            self.ok("depend", p, c)
        self.fill("a", "b", "c", "x", "d", "lone")

    def test_drop(self):
        r = self.ok("drop", "b")
        self.assertEqual((r.out, r.err), (b"", b""))
        self.assertEqual(self.caches(), ["a", "c", "d", "lone", "x"])
        self.assert_cleared("c", "d")
        self.assert_full("a", "x", "lone")
        r = self.cm("get", "b", "k")
        self.assertEqual((r.code, r.out), (1, b""))
        self.fails(1, "keys", "b")
        self.assertEqual(self.sql("SELECT count(*) FROM depends WHERE parent='b' OR child='b'"),
                         [(0,)])
        data = self.list_json()
        self.assertEqual(data["a"]["children"], [])
        self.assertEqual(data["x"]["children"], [])
        self.assertEqual(data["c"]["parents"], [])

    def test_recreated_cache_has_no_old_edges(self):
        self.ok("drop", "b")
        self.ok("set", "b", "k", "fresh")
        self.ok("invalidate", "a")
        self.assertEqual(self.get("b", "k"), b"fresh")
        self.fill("c")
        self.ok("invalidate", "b")
        self.assert_full("c")

    def test_drop_unknown(self):
        self.fails(1, "drop", "nosuch")
        self.assertEqual(len(self.caches()), 6)


class ExportImport(CommandTestCase):
    def test_exact_format(self):
        self.ok("set", "c", "k", "v")
        self.assertEqual(self.ok("export", "c").out, b'{"key": "k", "value": "v"}\n')

    def test_base64_for_non_utf8(self):
        self.ok("set", "c", "b", input=b"\xff\x00")
        self.assertEqual(self.ok("export", "c").out, b'{"key": "b", "value_base64": "/wA="}\n')

    def test_expires_for_ttl_entries(self):
        self.set_now(self.CLOCK_START + 0.25)
        self.ok("set", "--ttl", "100s", "c", "t", "x")
        line = self.ok("export", "c").out
        m = re.fullmatch(rb'\{"key": "t", "value": "x", "expires": ([0-9]+(?:\.[0-9]+)?)\}\n', line)
        self.assertIsNotNone(m, line)
        self.assertEqual(float(m.group(1)), self.CLOCK_START + 100.25)

    def test_several_entries_one_object_per_line(self):
        self.ok("set", "c", "b", "2")
        self.ok("set", "c", "a", "1")
        self.ok("set", "c", "z", input=b"\x80")
        lines = sorted(self.export_lines("c"))
        self.assertEqual(lines, sorted([b'{"key": "a", "value": "1"}', b'{"key": "b", "value": "2"}',
                                        b'{"key": "z", "value_base64": "gA=="}']))

    def test_json_escaping(self):
        values = {
            'q"uote': 'va"lue',
            "back\\slash": "\\",
            "nl\nkey": "line1\nline2\r\n",
            "ctl": "\x01\x1f\t\x7f",
            "utf8": "café 日本 \U0001F600",
            "nul": "a\x00b",
        }
        for k, v in values.items():
            self.ok("set", "c", k, input=v.encode())
        lines = self.export_lines("c")
        self.assertEqual(len(lines), len(values))
        got = {}
        for line in lines:
            obj = json.loads(line)
            self.assertEqual(set(obj), {"key", "value"}, line)
            got[obj["key"]] = obj["value"]
        self.assertEqual(got, values)

    def test_empty_cache_exports_nothing(self):
        self.ok("depend", "c", "d")
        r = self.ok("export", "c")
        self.assertEqual(r.out, b"")

    def test_export_unknown_cache(self):
        self.fails(1, "export", "nosuch")

    def test_round_trip(self):
        values = {
            "text": b"plain",
            "bin": bytes(range(256)),
            "empty": b"",
            "nl\nkey": b"multi\nline\n",
            "uni": "日本".encode(),
        }
        for k, v in values.items():
            self.ok("set", "src", k, input=v)
        self.ok("set", "--ttl", "1h", "src", "ttl", "soon")
        dump = self.ok("export", "src").out
        r = self.ok("import", "dst", input=dump)
        self.assertEqual((r.out, r.err), (b"", b""))
        for k, v in values.items():
            self.assertEqual(self.ok("get", "dst", k).out, v, k)
        self.assertEqual(self.ok("get", "dst", "ttl").out, b"soon")
        src = {json.loads(l)["key"]: json.loads(l) for l in self.export_lines("src")}
        dst = {json.loads(l)["key"]: json.loads(l) for l in self.export_lines("dst")}
        self.assertEqual(set(src), set(dst))
        for k in src:
            s, d = dict(src[k]), dict(dst[k])
            se, de = s.pop("expires", None), d.pop("expires", None)
            self.assertEqual(s, d)
            self.assertEqual(se is None, de is None, k)
            if se is not None:
                self.assertAlmostEqual(se, de, delta=1.0)

    def test_round_trip_with_ttls_is_exact(self):
        # export | import | export writes the same bytes: every expires, to the millisecond.
        for ttl, key in [("1h", "hour"), ("7d", "week"), ("90061s", "odd"), ("3600001ms", "ms")]:
            self.ok("set", "--ttl", ttl, "src", key, "v-" + key)
        self.ok("set", "src", "forever", "no ttl")
        self.ok("import", "src", input=(
            b'{"key": "fraction", "value": "f", "expires": 4102444800.3456}\n'
            b'{"key": "below", "value": "b", "expires": 4102444800.0004}\n'
            b'{"key": "half", "value_base64": "/wA=", "expires": 4102444800.5}\n'
            b'{"key": "exponent", "value": "e", "expires": 4.1024448001e9}\n'))
        dump = self.ok("export", "src").out
        lines = dict((json.loads(l)["key"], l) for l in dump.splitlines())
        self.assertEqual(lines["fraction"], b'{"key": "fraction", "value": "f", "expires": 4102444800.346}')
        self.assertEqual(lines["below"], b'{"key": "below", "value": "b", "expires": 4102444800}')
        self.assertEqual(lines["half"], b'{"key": "half", "value_base64": "/wA=", "expires": 4102444800.5}')
        self.assertEqual(lines["exponent"], b'{"key": "exponent", "value": "e", "expires": 4102444800.1}')
        self.assertEqual(lines["forever"], b'{"key": "forever", "value": "no ttl"}')
        for key in ["hour", "week", "odd", "ms"]:
            self.assertRegex(lines[key], rb'^\{"key": "%s", "value": "v-%s", "expires": [1-9][0-9]*(\.[0-9]{0,2}[1-9])?\}$'
                             % (key.encode(), key.encode()))
        self.ok("import", "dst", input=dump)
        self.assertEqual(self.ok("export", "dst").out, dump)
        self.ok("import", "dst2", input=self.ok("export", "dst").out)
        self.assertEqual(self.ok("export", "dst2").out, dump)
        self.assertEqual(self.get("dst2", "half"), b"\xff\x00")

    def test_import_from_file(self):
        path = os.path.join(self.tmp, "in.jsonl")
        with open(path, "wb") as f:
            f.write(b'{"key": "a", "value": "1"}\n{"key": "b", "value_base64": "/wA="}\n')
        self.ok("import", "c", path)
        self.assertEqual(self.get("c", "a"), b"1")
        self.assertEqual(self.get("c", "b"), b"\xff\x00")

    def test_import_from_stdin_dash(self):
        self.ok("import", "c", "-", input=b'{"key": "a", "value": "1"}\n')
        self.assertEqual(self.get("c", "a"), b"1")

    def test_import_adds_and_overwrites(self):
        self.ok("set", "c", "old", "kept")
        self.ok("set", "c", "a", "before")
        self.ok("import", "c", input=b'{"key": "a", "value": "after"}\n{"key": "n", "value": "new"}\n')
        self.assertEqual(self.keys("c"), ["a", "n", "old"])
        self.assertEqual(self.get("c", "a"), b"after")
        self.assertEqual(self.get("c", "old"), b"kept")

    def test_blank_lines_skipped(self):
        data = b'\n{"key": "a", "value": "1"}\n\n\n{"key": "b", "value": "2"}\n\n'
        self.ok("import", "c", input=data)
        self.assertEqual(self.keys("c"), ["a", "b"])

    def test_last_line_without_newline(self):
        self.ok("import", "c", input=b'{"key": "a", "value": "1"}\n{"key": "b", "value": "2"}')
        self.assertEqual(self.get("c", "b"), b"2")

    def test_duplicate_key_keeps_last(self):
        data = b'{"key": "a", "value": "1"}\n{"key": "a", "value": "2"}\n{"key": "a", "value": "3"}\n'
        self.ok("import", "c", input=data)
        self.assertEqual(self.keys("c"), ["a"])
        self.assertEqual(self.get("c", "a"), b"3")

    def test_import_expires(self):
        self.set_now(self.CLOCK_START)
        future = self.CLOCK_START + 3600
        past = self.CLOCK_START - 3600
        data = (json.dumps({"key": "f", "value": "1", "expires": future}) + "\n" +
                json.dumps({"key": "p", "value": "2", "expires": past}) + "\n").encode()
        self.ok("import", "c", input=data)
        self.assertEqual(self.get("c", "f"), b"1")
        self.assertIsNone(self.get("c", "p"), "an entry imported already expired is invisible")
        (line,) = self.export_lines("c")
        self.assertEqual(json.loads(line)["expires"], future)
        self.set_now(future)
        self.assertIsNone(self.get("c", "f"), "invisible from the moment it expires")

    def test_all_or_nothing(self):
        self.ok("set", "c", "pre", "existing")
        data = b'{"key": "a", "value": "1"}\n{"key": "b", "value": "2"}\nnot json\n{"key": "d", "value": "4"}\n'
        r = self.fails(2, "import", "c", input=data)
        self.assertRegex(r.errtext, r"line 3\b")
        self.assertEqual(self.keys("c"), ["pre"])
        self.assertEqual(self.get("c", "pre"), b"existing")

    def test_import_empty_input(self):
        self.ok("set", "c", "pre", "x")
        self.ok("import", "c", input=b"")
        self.assertEqual(self.keys("c"), ["pre"])


class Deps(CommandTestCase):
    def setUp(self):
        super().setUp()
        # u -> a -> b -> c ; a -> c ; v -> a ; z unrelated
        for p, c in [("u", "a"), ("a", "b"), ("b", "c"), ("a", "c"), ("v", "a"), ("w", "u")]:
            self.ok("depend", p, c)
        self.ok("set", "z", "k", "v")

    def lines(self, *args):
        r = self.ok("deps", *args)
        self.assertEqual(r.err, b"")
        if r.out == b"":
            return []
        self.assertTrue(r.out.endswith(b"\n"), r)
        return sorted(r.out[:-1].decode().split("\n"))

    def test_direct(self):
        self.assertEqual(self.lines("a"),
                         sorted(["parent\tu", "parent\tv", "child\tb", "child\tc"]))
        self.assertEqual(self.lines("c"), sorted(["parent\ta", "parent\tb"]))

    def test_all_transitive(self):
        self.assertEqual(self.lines("--all", "a"),
                         sorted(["parent\tu", "parent\tv", "parent\tw", "child\tb", "child\tc"]))
        self.assertEqual(self.lines("--all", "w"),
                         sorted(["child\tu", "child\ta", "child\tb", "child\tc"]))

    def test_no_edges(self):
        self.assertEqual(self.ok("deps", "z").out, b"")

    def test_json(self):
        obj = json.loads(self.ok("deps", "--json", "a").out)
        self.assertEqual(obj["name"], "a")
        self.assertEqual(sorted(obj["parents"]), ["u", "v"])
        self.assertEqual(sorted(obj["children"]), ["b", "c"])
        obj = json.loads(self.ok("--json", "deps", "z").out)
        self.assertEqual(obj, {**obj, "name": "z", "parents": [], "children": []})

    def test_unknown_cache(self):
        self.fails(1, "deps", "nosuch")


class Ttl(CommandTestCase):
    def expires_of(self, cache, key):
        for line in self.export_lines(cache):
            obj = json.loads(line)
            if obj["key"] == key:
                return obj.get("expires")
        self.fail("no key %r in export" % key)

    def test_one_second_ttl_expires_everywhere(self):
        self.set_now(self.CLOCK_START)
        self.ok("set", "--ttl", "1s", "c", "short", "gone")
        self.ok("set", "c", "long", "kept")
        self.assertEqual(self.get("c", "short"), b"gone")
        self.set_now(self.CLOCK_START + 0.999)
        self.assertEqual(self.get("c", "short"), b"gone")
        self.set_now(self.CLOCK_START + 1)
        r = self.cm("get", "c", "short")
        self.assertEqual((r.code, r.out), (1, b""), r)
        self.assertEqual(self.keys("c"), ["long"])
        self.assertEqual(json.loads(self.ok("keys", "--json", "c").out), ["long"])
        c = self.list_json()["c"]
        self.assertEqual((c["entries"], c["bytes"]), (1, 4))
        self.assertEqual(self.ok("export", "c").out, b'{"key": "long", "value": "kept"}\n')
        self.fails(1, "del", "c", "short")
        self.assertEqual(self.caches(), ["c"])

    def test_units(self):
        self.set_now(self.CLOCK_START)
        for key, ttl, seconds in [("bare", "100", 100), ("ms", "1500ms", 1.5), ("s", "7s", 7),
                                  ("m", "2m", 120), ("h", "3h", 3 * 3600), ("d", "2d", 2 * 86400),
                                  ("big", "90m", 5400)]:
            self.ok("set", "--ttl", ttl, "c", key, "v")
            self.assertEqual(self.expires_of("c", key), self.CLOCK_START + seconds, key)

    def test_set_without_ttl_is_permanent(self):
        self.ok("set", "c", "k", "v")
        self.assertIsNone(self.expires_of("c", "k"))

    def test_reset_with_new_ttl(self):
        self.set_now(self.CLOCK_START)
        self.ok("set", "--ttl", "1h", "c", "k", "v")
        self.ok("set", "--ttl", "2d", "c", "k", "w")
        self.assertEqual(self.expires_of("c", "k"), self.CLOCK_START + 2 * 86400)
        self.assertEqual(self.get("c", "k"), b"w")


class GlobalOptions(CommandTestCase):
    def test_dir_option(self):
        other = os.path.join(self.tmp, "elsewhere")
        self.ok("--dir", other, "set", "c", "k", "v")
        self.assertTrue(os.path.isfile(os.path.join(other, "default.sqlite")))
        self.assertFalse(os.path.exists(self.store_path()))
        self.assertEqual(self.ok("--dir", other, "get", "c", "k").out, b"v")
        self.assertEqual(self.cm("get", "c", "k").code, 1)

    def test_namespace_option(self):
        self.ok("-n", "other", "set", "c", "k", "v1")
        self.ok("--namespace", "third", "set", "c", "k", "v3")
        self.ok("set", "c", "k", "v0")
        self.assertTrue(os.path.isfile(self.store_path("other")))
        self.assertEqual(self.ok("-n", "other", "get", "c", "k").out, b"v1")
        self.assertEqual(self.ok("--namespace", "third", "get", "c", "k").out, b"v3")
        self.assertEqual(self.ok("get", "c", "k").out, b"v0")
        self.ok("-n", "other", "invalidate", "c")
        self.assertEqual(self.ok("get", "c", "k").out, b"v0", "namespaces are separate files")

    def test_version(self):
        r = self.ok("--version")
        self.assertRegex(r.text, r"\Acacheman \d+\.\d+(\.\d+)?\S*\n\Z")
        self.assertEqual(r.err, b"")
        self.assertFalse(os.path.exists(self.dir), "--version touches no store")

    def test_help(self):
        for flag in ("-h", "--help"):
            r = self.ok(flag)
            self.assertEqual(r.err, b"")
            for command in ("set", "get", "del", "keys", "list", "depend", "undepend",
                            "invalidate", "drop", "export", "import", "deps"):
                self.assertRegex(r.text, r"(?m)^\s+%s\b" % command)
        self.assertFalse(os.path.exists(self.dir), "--help touches no store")

    def test_help_command(self):
        r = self.ok("help", "set")
        self.assertEqual(r.err, b"")
        self.assertIn("Usage", r.text)
        self.assertIn("set", r.text)
        self.assertIn("--ttl", r.text)
        self.assertNotIn("undepend", r.text, "help set describes set only")

    def test_command_help_flag(self):
        r = self.ok("set", "--help")
        self.assertIn("--ttl", r.text)
        self.assertFalse(os.path.exists(self.dir))

    def test_help_unknown_command(self):
        self.fails(2, "help", "nosuchcommand")


class SchemaFacts(CommandTestCase):
    def test_depends_table_holds_edges(self):
        self.ok("depend", "p", "c")
        self.ok("depend", "c", "g")
        cols = {row[1] for row in self.sql("PRAGMA table_info(depends)")}
        self.assertLessEqual({"parent", "child"}, cols)
        self.assertEqual(sorted(self.sql("SELECT parent, child FROM depends")),
                         [("c", "g"), ("p", "c")])
        self.ok("undepend", "p", "c")
        self.assertEqual(self.sql("SELECT parent, child FROM depends"), [("c", "g")])

    def test_wal_and_integrity(self):
        self.ok("set", "c", "k", "v")
        self.ok("depend", "c", "d")
        self.ok("invalidate", "c")
        self.assertEqual(self.sql("PRAGMA journal_mode"), [("wal",)])
        self.assertEqual(self.integrity(), "ok")

    def test_one_table_per_cache(self):
        self.ok("set", "c", "k", "v")
        before = {r[0] for r in self.sql("SELECT name FROM sqlite_master WHERE type='table'")}
        self.ok("set", "d", "k", "v")
        after = {r[0] for r in self.sql("SELECT name FROM sqlite_master WHERE type='table'")}
        self.assertEqual(len(after - before), 1, after - before)


if __name__ == "__main__":
    unittest.main()
