"""Hostile and malformed input: names, namespaces, commands, durations, import lines, huge values,
and store files cacheman did not make (CONTRACT.md, "Exit status", "Details that scripts rely on",
"Concurrency and durability"; issue 2, "Bad input").
"""
import base64
import json
import os
import random
import sqlite3
import stat
import unittest

from harness import CachemanTestCase


def paths(root):
    """The paths under root, ignoring SQLite's own -wal/-shm/-journal companions of a store."""
    out = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            if not name.endswith(("-wal", "-shm", "-journal")):
                out.add(os.path.relpath(os.path.join(dirpath, name), root))
    return out


def snapshot(root):
    """Every path under root with its type, size and mtime: to prove nothing was created or touched."""
    seen = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            seen[os.path.relpath(path, root)] = (stat.S_IFMT(st.st_mode), st.st_size, st.st_mtime_ns)
    return seen


class BadInputTestCase(CachemanTestCase):
    def caches(self):
        r = self.ok("list")
        return sorted(r.out.decode().split("\n")[:-1]) if r.out else []

    def refused(self, *args, **kwargs):
        """The command is refused with exit 2 and creates no file or directory."""
        before = paths(self.tmp)
        r = self.fails(2, *args, **kwargs)
        self.assertEqual(paths(self.tmp), before, "a refused command created files: %r" % (args,))
        return r

    def refused_untouched(self, *args, **kwargs):
        """Refused with exit 2 before any file is touched (not even opened for writing)."""
        before = snapshot(self.tmp)
        r = self.fails(2, *args, **kwargs)
        self.assertEqual(snapshot(self.tmp), before, "a refused command touched the disk: %r" % (args,))
        return r

    def file_state(self, path):
        with open(path, "rb") as f:
            data = f.read()
        return data, os.stat(path).st_mtime_ns


class HostileCacheNames(BadInputTestCase):
    NAMES = [
        'a"b', "a'b", "'; DROP TABLE depends; --", '"; DROP TABLE caches; --',
        "depends", "sqlite_master", "sqlite_schema", "caches", "cache_1", "main",
        "with space", " leading", "café/日本", "a/../b", "[x]", "`x`", "\\", "emoji \U0001F600",
    ]

    def setUp(self):
        super().setUp()
        self.ok("depend", "sentinel", "sentinel_child")
        self.ok("set", "sentinel", "k", "s")
        self.ok("set", "sentinel_child", "k", "sc")

    def assert_sentinels_intact(self):
        self.assertEqual(self.get("sentinel", "k"), b"s")
        self.assertEqual(self.get("sentinel_child", "k"), b"sc")
        self.assertEqual(self.sql("SELECT parent, child FROM depends"), [("sentinel", "sentinel_child")])
        self.assertEqual(self.integrity(), "ok")

    def exercise(self, name):
        """Either the name behaves as an ordinary cache, or it is refused with exit 2."""
        r = self.cm("set", name, "k", "v")
        if r.code == 2:
            self.assertTrue(r.errtext.startswith("cacheman: error: "), r)
            self.assertEqual(sorted(self.caches()), ["sentinel", "sentinel_child"])
            self.assert_sentinels_intact()
            return
        self.assertEqual(r.code, 0, (name, r))
        self.assertEqual(self.ok("get", name, "k").out, b"v")
        self.assertEqual(self.ok("keys", name).out, b"k\n")
        listed = {c["name"]: c for c in json.loads(self.ok("list", "--json").out)}
        self.assertEqual(sorted(listed), sorted([name, "sentinel", "sentinel_child"]))
        self.assertEqual(listed[name]["entries"], 1)
        self.assertEqual(self.ok("export", name).out, b'{"key": "k", "value": "v"}\n')
        # An edge out of it, a cascade through it, then drop.
        self.ok("depend", name, "hostile_child")
        self.ok("set", "hostile_child", "k", "hc")
        self.assertEqual(self.ok("invalidate", "--dry-run", name).out.decode(),
                         name + "\nhostile_child\n")
        self.ok("invalidate", name)
        self.assertEqual(self.ok("keys", name).out, b"")
        self.assertIsNone(self.get("hostile_child", "k"))
        self.ok("drop", name)
        self.ok("drop", "hostile_child")
        self.assertEqual(sorted(self.caches()), ["sentinel", "sentinel_child"])
        self.assert_sentinels_intact()

    def test_hostile_names(self):
        for name in self.NAMES:
            with self.subTest(name=name):
                self.exercise(name)

    def test_two_hostile_names_at_once(self):
        # Names that might map onto one another or onto metadata stay separate caches.
        names = ["depends", "caches", "sqlite_master", "'; DROP TABLE depends; --", 'a"b']
        for i, n in enumerate(names):
            r = self.cm("set", n, "k", str(i))
            self.assertIn(r.code, (0, 2), r)
        for i, n in enumerate(names):
            if n in self.caches():
                self.assertEqual(self.get(n, "k"), str(i).encode(), n)
        self.assert_sentinels_intact()

    def test_ascii_case_makes_distinct_caches(self):
        for n, v in [("Abc", "1"), ("abc", "2"), ("ABC", "3"), ("Depends", "4"), ("depends", "5")]:
            self.ok("set", n, "k", v)
        for n, v in [("Abc", "1"), ("abc", "2"), ("ABC", "3"), ("Depends", "4"), ("depends", "5")]:
            self.assertEqual(self.get(n, "k"), v.encode(), n)
        self.ok("depend", "abc", "child")
        self.ok("set", "child", "k", "c")
        self.ok("invalidate", "ABC")
        self.assertEqual(self.get("child", "k"), b"c", "invalidating ABC must not touch abc's child")
        self.assertEqual(self.get("abc", "k"), b"2")
        self.assertEqual(len(self.caches()), 2 + 6)
        self.ok("drop", "Abc")
        self.assertEqual(self.get("abc", "k"), b"2")

    def test_name_length_limit(self):
        self.ok("set", "a" * 255, "k", "v")
        self.assertEqual(self.get("a" * 255, "k"), b"v")
        self.refused("set", "b" * 256, "k", "v")
        self.ok("set", "é" * 127 + "x", "k", "v")  # 255 bytes
        self.refused("set", "é" * 128, "k", "v")  # 256 bytes, 128 characters
        self.refused("depend", "p", "c" * 256)
        self.assertNotIn("p", self.caches())

    def test_control_characters_refused(self):
        for name in ["a\nb", "a\tb", "\x01", "a\x1fb", "a\x7fb", "\r", "trailing\n", "\x1b[31mred"]:
            with self.subTest(name=name):
                self.refused("set", name, "k", "v")
                self.refused("depend", "sentinel", name)
        self.assert_sentinels_intact()

    def test_invalid_utf8_name_refused(self):
        self.refused(b"set", b"caf\xe9", b"k", b"v")
        self.refused(b"set", b"\xff\xfe", b"k", b"v")
        self.refused(b"set", b"\xed\xa0\x80", b"k", b"v")  # an encoded surrogate

    def test_empty_name_refused(self):
        for args in [("set", "", "k", "v"), ("get", "", "k"), ("keys", ""), ("depend", "", "x"),
                     ("depend", "x", ""), ("invalidate", ""), ("drop", ""), ("export", ""),
                     ("del", "", "k")]:
            with self.subTest(args=args):
                self.refused(*args)
        self.refused("import", "", input=b'{"key": "a", "value": "1"}\n')
        self.assert_sentinels_intact()

    def test_values_and_keys_starting_with_dash(self):
        self.ok("set", "c", "k", "--", "-5")
        self.assertEqual(self.get("c", "k"), b"-5")
        self.ok("set", "c", "--", "-key", "-value")
        self.assertEqual(self.ok("get", "c", "--", "-key").out, b"-value")
        self.ok("set", "--", "-cache", "k", "--help")
        self.assertEqual(self.ok("get", "--", "-cache", "k").out, b"--help")


class HostileNamespaces(BadInputTestCase):
    def test_refused_before_touching_anything(self):
        for ns in ["../x", "a/b", ".hidden", "", ".", "..", "/abs", "a b", "x" * 65, "日本",
                   "a:b", "a\\b", "a\tb"]:
            with self.subTest(ns=ns):
                self.refused_untouched("-n", ns, "set", "c", "k", "v")
                self.refused_untouched("--namespace", ns, "get", "c", "k")
                self.refused_untouched("-n", ns, "list")
        self.assertFalse(os.path.exists(self.dir))

    def test_refused_from_environment(self):
        for ns in ["../x", "a/b", ".hidden", "x" * 65]:
            with self.subTest(ns=ns):
                self.refused_untouched("set", "c", "k", "v", env={"CACHEMAN_NAMESPACE": ns})
        self.assertFalse(os.path.exists(self.dir))

    def test_longest_and_allowed_characters(self):
        ns = "A-z_0.9" + "x" * 57  # 64 characters
        self.ok("-n", ns, "set", "c", "k", "v")
        self.assertTrue(os.path.isfile(os.path.join(self.dir, ns + ".sqlite")))
        self.ok("-n", "a.b", "set", "c", "k", "v")
        self.assertTrue(os.path.isfile(os.path.join(self.dir, "a.b.sqlite")))

    def test_empty_env_namespace_is_default(self):
        self.ok("set", "c", "k", "v", env={"CACHEMAN_NAMESPACE": ""})
        for f in os.listdir(self.dir):
            self.assertTrue(f.startswith("default.sqlite"), f)
        self.assertTrue(os.path.isfile(self.store_path("default")))
        self.assertEqual(self.ok("get", "c", "k").out, b"v")


class UnknownCommandsAndArguments(BadInputTestCase):
    def test_unknown_command(self):
        r = self.refused("frobnicate")
        self.assertIn("frobnicate", r.errtext)
        self.refused("frobnicate", "c", "k")
        self.refused("SET", "c", "k", "v")

    def test_near_miss_suggests(self):
        for typo, meant in [("invalidat", "invalidate"), ("dpend", "depend"), ("exprt", "export"),
                            ("gett", "get"), ("undepnd", "undepend")]:
            with self.subTest(typo=typo):
                r = self.refused(typo, "c")
                self.assertIn("'%s'" % meant, r.errtext)

    def test_transposed_letters_suggest_the_command(self):
        # Swapping two letters is the commonest typo; it must suggest the command meant, not
        # some other command that happens to be as far away by plain edit distance.
        for typo, meant in [("lsit", "list"), ("dorp", "drop"), ("ipmort", "import")]:
            with self.subTest(typo=typo):
                r = self.refused(typo, "c")
                self.assertIn("'%s'" % meant, r.errtext)

    def test_missing_arguments(self):
        for args in [("set",), ("set", "c"), ("get",), ("get", "c"), ("del",), ("del", "c"),
                     ("keys",), ("depend",), ("depend", "a"), ("undepend", "a"), ("invalidate",),
                     ("drop",), ("export",), ("import",), ("deps",), ("--dir",), ("-n",),
                     ("set", "--ttl")]:
            with self.subTest(args=args):
                self.refused(*args)

    def test_error_stays_one_line_when_input_holds_newlines(self):
        # "Errors go to stderr as one line": user input echoed in a message must not break it.
        self.ok("set", "c", "k", "v")
        for args in [("foo\nbar",), ("-n", "a\nb", "list"), ("set", "--ttl", "1\nx", "c", "k", "v"),
                     ("set", "a\nb", "k", "v")]:
            with self.subTest(args=args):
                self.refused(*args)
        r = self.cm("import", "c", os.path.join(self.tmp, "no\nsuch"))
        self.assertNotEqual(r.code, 0)
        self.assertTrue(r.errtext.startswith("cacheman: error: "), r)
        self.assertEqual(r.errtext.count("\n"), 1, r)

    def test_no_command(self):
        r = self.cm()
        self.assertEqual((r.code, r.out), (2, b""), r)
        self.assertFalse(os.path.exists(self.dir))

    def test_unknown_option(self):
        self.refused("--bogus", "list")
        self.refused("set", "--bogus", "c", "k", "v")
        self.refused("get", "-x", "c", "k")

    def test_an_unknown_option_is_named_even_when_it_hides_an_argument(self):
        # `get -rf k` once answered "key is required": the option took the cache's place.
        for args, word in ((("get", "-rf", "k"), "-rf"), (("del", "--force", "c"), "--force"),
                           (("set", "--ttl=1s", "--bogus=1", "c"), "--bogus=1")):
            r = self.fails(2, *args)
            self.assertEqual(r.errtext, "cacheman: error: unknown option '%s' for %s\n"
                             % (word, args[0]), args)
        self.assertEqual(self.cm("set", "c", "k", "--", "-5").code, 0, "after --, a value")
        self.assertEqual(self.get("c", "k"), b"-5")

    def test_too_many_arguments(self):
        self.ok("set", "c", "k", "v")
        self.refused("get", "c", "k", "extra")
        self.refused("set", "c", "k", "v", "extra")
        self.refused("depend", "a", "b", "c")
        self.refused("drop", "c", "d")


class BadDurations(BadInputTestCase):
    def test_refused(self):
        self.ok("set", "other", "k", "v")
        for ttl in ["0", "0s", "0ms", "-1s", "-1", "1.5s", "1w", "abc", "", "s", "1 s", " 1s",
                    "1s ", "1S", "1sec", "1e3", "+5s", "0x10", "1h30m", "99999999999999999999999d"]:
            with self.subTest(ttl=ttl):
                self.refused("set", "--ttl", ttl, "c", "k", "v")
                self.refused("set", "--ttl=" + ttl, "c", "k", "v")
        r = self.cm("get", "c", "k")
        self.assertEqual((r.code, r.out), (1, b""))
        self.assertEqual(self.caches(), ["other"])


class MalformedImport(BadInputTestCase):
    GOOD = b'{"key": "a", "value": "1"}\n\n{"key": "b", "value": "2"}\n'  # lines 1-3

    BAD_LINES = [
        b"not json",
        b"{",
        b'{"key": "c"}',
        b'{"value": "x"}',
        b'{"key": 5, "value": "x"}',
        b'{"key": null, "value": "x"}',
        b'{"key": "c", "value": 5}',
        b'{"key": "c", "value": ["x"]}',
        b'{"key": "c", "value_base64": "!!!notbase64"}',
        b'{"key": "c", "value": "x", "expires": "soon"}',
        b'{"key": "c", "value": "x"} trailing',
        b'{"key": "c", "value": "x"',
        b'[1, 2]',
        b'"just a string"',
        b'{"key": "a\\u0000b", "value": "x"}',
        b'{"key": "c", "value": "bad escape \\q"}',
        b'{"key": "\xff", "value": "x"}',
        # Numbers the store could not give back, and numbers JSON does not allow.
        b'{"key": "c", "value": "x", "expires": 1e300}',
        b'{"key": "c", "value": "x", "expires": -1}',
        b'{"key": "c", "value": "x", "expires": 253402300800}',
        b'{"key": "c", "value": "x", "expires": 1e400}',
        b'{"key": "c", "value": "x", "expires": 01}',
        b'{"key": "c", "value": "x", "expires": -01}',
        b'{"key": "c", "value": "x", "other": [01]}',
        b'{"key": "c", "value": "x", "expires": NaN}',
        # Base64 that is not canonical: padding bits, missing or extra padding.
        b'{"key": "c", "value_base64": "AP9="}',
        b'{"key": "c", "value_base64": "Zh=="}',
        b'{"key": "c", "value_base64": "Zg"}',
        b'{"key": "c", "value_base64": "Zg==="}',
        b'{"key": "c", "value_base64": "Zg==Zg=="}',
        # Members twice, control characters, lone surrogates, trailing garbage.
        b'{"key": "c", "value": "x", "value": "y"}',
        b'{"key": "c", "value": "x", "expires": null, "expires": null}',
        b'{"key": "c", "value": "a\x01b"}',
        b'{"key": "c", "value": "\\ud800"}',
        b'{"key": "c", "value": "\\udc00\\ud800"}',
        b'{"key": "c", "value": "x"}{"key": "d", "value": "y"}',
        b'{"key": "c", "value": "x"},',
    ]

    def setUp(self):
        super().setUp()
        self.ok("set", "c", "pre", "existing")
        self.ok("set", "c", "a", "old-a")

    def test_each_malformed_line_refuses_whole_import(self):
        for bad in self.BAD_LINES:
            with self.subTest(line=bad):
                data = self.GOOD + bad + b'\n{"key": "z", "value": "26"}\n'
                r = self.refused("import", "c", input=data)
                self.assertRegex(r.errtext, r"line 4\b")
                self.assertEqual(self.ok("keys", "c").out, b"a\npre\n")
                self.assertEqual(self.get("c", "a"), b"old-a")
                self.assertEqual(self.get("c", "pre"), b"existing")

    def test_expires_the_store_cannot_hold_is_refused_and_named(self):
        # Once accepted, and exported as "-9223372036854775.(0(", which import then refused.
        before = self.ok("export", "c").out
        for expires in [b"1e300", b"-1e300", b"-0.5", b"253402300800", b"253402300799.9996"]:
            with self.subTest(expires=expires):
                data = (b'{"key": "n", "value": "1"}\n'
                        b'{"key": "a", "value": "b", "expires": ' + expires + b'}\n')
                r = self.refused("import", "c", input=data)
                self.assertEqual(r.out, b"")
                self.assertEqual(
                    r.errtext,
                    'cacheman: error: malformed import line 2: "expires" is not between 0 and '
                    '253402300799.999 (unix seconds up to the end of year 9999) at column 39 '
                    '(stdin)\n')
                self.assertEqual(self.ok("export", "c").out, before)

    def test_expires_at_the_bounds_is_kept_exactly(self):
        data = (b'{"key": "last", "value": "x", "expires": 253402300799.999}\n'
                b'{"key": "zero", "value": "x", "expires": 0}\n')
        self.ok("import", "d", input=data)
        self.assertEqual(self.ok("export", "d").out,
                         b'{"key": "last", "value": "x", "expires": 253402300799.999}\n')

    def test_malformed_first_line_of_file(self):
        path = os.path.join(self.tmp, "bad.jsonl")
        with open(path, "wb") as f:
            f.write(b'oops\n{"key": "x", "value": "1"}\n')
        r = self.refused("import", "c", path)
        self.assertRegex(r.errtext, r"line 1\b")
        self.assertEqual(self.ok("keys", "c").out, b"a\npre\n")

    def test_malformed_last_line_far_down(self):
        lines = [json.dumps({"key": "k%05d" % i, "value": "v"}).encode() for i in range(5000)]
        data = b"\n".join(lines) + b"\n{bad\n"
        r = self.refused("import", "c", input=data)
        self.assertRegex(r.errtext, r"line 5001\b")
        self.assertEqual(self.ok("keys", "c").out, b"a\npre\n")

    def test_import_into_new_cache_refused_leaves_no_entries(self):
        r = self.cm("import", "fresh", input=self.GOOD + b"bad\n")
        self.assertEqual(r.code, 2, r)
        got = self.cm("keys", "fresh")
        self.assertIn(got.code, (0, 1))
        self.assertEqual(got.out, b"")


class Sizes(BadInputTestCase):
    def test_20_mb_value(self):
        value = random.Random(20).randbytes(20 * 1024 * 1024)
        self.ok("set", "big", "blob", input=value)
        r = self.ok("get", "big", "blob")
        self.assertEqual(len(r.out), len(value))
        self.assertTrue(r.out == value, "20 MB value differs after get")
        dump = self.ok("export", "big").out
        obj = json.loads(dump)
        self.assertEqual(base64.b64decode(obj["value_base64"]), value)
        self.ok("import", "copy", input=dump)
        self.assertTrue(self.ok("get", "copy", "blob").out == value, "20 MB value differs after import")
        listed = {c["name"]: c for c in json.loads(self.ok("list", "--json").out)}
        self.assertEqual(listed["big"]["bytes"], len(value))

    def test_large_text_value_through_json(self):
        value = (b"0123456789abcdef\n\"\\" * (4 * 1024 * 1024 // 19 + 1))[: 4 * 1024 * 1024]
        self.ok("set", "big", "text", input=value)
        dump = self.ok("export", "big").out
        self.assertEqual(json.loads(dump)["value"].encode(), value)
        self.ok("import", "copy", input=dump)
        self.assertTrue(self.ok("get", "copy", "text").out == value)

    def test_20000_character_key(self):
        key = "k" + "é日x" * 6666 + "!"  # 20,000 characters
        self.assertEqual(len(key), 20000)
        self.ok("set", "c", key, "v")
        self.ok("set", "c", "short", "s")
        self.assertEqual(self.ok("get", "c", key).out, b"v")
        self.assertEqual(self.ok("keys", "c").out, (key + "\nshort\n").encode())
        dump = self.ok("export", "c").out
        self.ok("import", "copy", input=dump)
        self.assertEqual(self.ok("get", "copy", key).out, b"v")
        self.ok("del", "c", key)
        self.assertEqual(self.ok("keys", "c").out, b"short\n")


class ForeignStoreFiles(BadInputTestCase):
    READS = [("get", "c", "k"), ("keys", "c"), ("list",), ("export", "c"), ("deps", "c"),
             ("invalidate", "--dry-run", "c")]
    WRITES = [("set", "c", "k", "v"), ("del", "c", "k"), ("depend", "a", "b"), ("undepend", "a", "b"),
              ("invalidate", "c"), ("drop", "c")]

    def plant(self, data):
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        path = self.store_path()
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
        return path

    def assert_refused_untouched(self, path):
        state = self.file_state(path)
        for args in self.READS + self.WRITES + [("import", "c")]:
            with self.subTest(args=args):
                if self.file_state(path) != state:  # an earlier command broke it: restore
                    with open(path, "wb") as f:
                        f.write(state[0])
                    os.utime(path, ns=(state[1], state[1]))
                    for companion in (path + "-wal", path + "-shm"):
                        if os.path.exists(companion):
                            os.remove(companion)
                r = self.cm(*args, input=b'{"key": "a", "value": "1"}\n')
                # First: was the user's file left exactly as it was (bytes and mtime)?
                self.assertEqual(self.file_state(path), state, "the foreign file changed: %r" % (args,))
                self.assertEqual((r.code, r.out), (3, b""), r)
                self.assertTrue(r.errtext.startswith("cacheman: error: "), r)
                self.assertEqual(r.errtext.count("\n"), 1, r)
                self.assertIn("default.sqlite", r.errtext)

    def test_random_bytes(self):
        path = self.plant(random.Random(3).randbytes(64 * 1024))
        self.assert_refused_untouched(path)

    def test_text_file(self):
        path = self.plant(b"my precious notes, not a database\n" * 200)
        self.assert_refused_untouched(path)

    def test_one_byte_file(self):
        path = self.plant(b"x")
        self.assert_refused_untouched(path)

    def test_someone_elses_sqlite_database(self):
        os.makedirs(self.dir, mode=0o700)
        path = self.store_path()
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE t(x)")
        con.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(100)])
        con.commit()
        con.close()
        os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
        self.assert_refused_untouched(path)
        con = sqlite3.connect(path)
        self.assertEqual(con.execute("SELECT count(*) FROM t").fetchone(), (100,))
        self.assertEqual(con.execute("PRAGMA journal_mode").fetchone(), ("delete",))
        con.close()

    def test_newer_schema(self):
        self.ok("set", "c", "k", "v")
        con = sqlite3.connect(self.store_path())
        con.execute("PRAGMA user_version=99")
        con.commit()
        con.close()
        for leftover in ("-wal", "-shm"):
            self.assertFalse(os.path.exists(self.store_path() + leftover))
        path = self.store_path()
        os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
        self.assert_refused_untouched(path)
        self.assertEqual(self.sql("PRAGMA user_version"), [(99,)])

    def test_zero_byte_file_is_initialised(self):
        self.plant(b"")
        self.ok("set", "c", "k", "v")
        self.assertEqual(self.get("c", "k"), b"v")
        self.assertGreater(os.path.getsize(self.store_path()), 0)
        self.assertEqual(self.integrity(), "ok")

    def test_zero_byte_file_read(self):
        self.plant(b"")
        r = self.cm("get", "c", "k")
        self.assertEqual((r.code, r.out), (1, b""), r)
        self.assertEqual(self.ok("list").out, b"")

    def test_directory_at_store_path(self):
        os.makedirs(self.store_path())
        self.fails(3, "set", "c", "k", "v")
        self.assertEqual(os.listdir(self.store_path()), [])


class StoreDirectory(BadInputTestCase):
    def test_dir_under_a_regular_file(self):
        blocker = os.path.join(self.tmp, "afile")
        with open(blocker, "wb") as f:
            f.write(b"i am a file\n")
        r = self.fails(3, "--dir", os.path.join(blocker, "sub"), "set", "c", "k", "v")
        self.assertIn("afile", r.errtext)
        r = self.fails(3, "set", "c", "k", "v", env={"CACHEMAN_DIR": os.path.join(blocker, "a", "b")})
        self.assertIn("afile", r.errtext)
        with open(blocker, "rb") as f:
            self.assertEqual(f.read(), b"i am a file\n")

    def test_dir_is_a_regular_file(self):
        blocker = os.path.join(self.tmp, "afile")
        with open(blocker, "wb") as f:
            f.write(b"i am a file\n")
        self.fails(3, "--dir", blocker, "set", "c", "k", "v")
        with open(blocker, "rb") as f:
            self.assertEqual(f.read(), b"i am a file\n")

    @unittest.skipIf(os.geteuid() == 0, "root ignores directory permissions")
    def test_dir_under_read_only_dir(self):
        ro = os.path.join(self.tmp, "ro")
        os.makedirs(ro, mode=0o500)
        self.fails(3, "--dir", os.path.join(ro, "sub"), "set", "c", "k", "v")
        self.assertEqual(os.listdir(ro), [])

    def test_modes_when_created(self):
        old = os.umask(0)  # the child inherits it: the modes must come from cacheman itself
        try:
            self.ok("set", "c", "k", "v", env={"CACHEMAN_DIR": os.path.join(self.dir, "deep", "er")})
        finally:
            os.umask(old)
        leaf = os.path.join(self.dir, "deep", "er")
        self.assertEqual(stat.S_IMODE(os.stat(leaf).st_mode), 0o700)
        files = [f for f in os.listdir(leaf) if f.startswith("default.sqlite")]
        self.assertIn("default.sqlite", files)
        for f in files:
            self.assertEqual(stat.S_IMODE(os.stat(os.path.join(leaf, f)).st_mode), 0o600, f)

    def test_modes_with_default_umask(self):
        old = os.umask(0o022)
        try:
            self.ok("set", "c", "k", "v")
        finally:
            os.umask(old)
        self.assertEqual(stat.S_IMODE(os.stat(self.dir).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(self.store_path()).st_mode), 0o600)


if __name__ == "__main__":
    unittest.main()
