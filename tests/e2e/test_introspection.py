"""Introspection and output (issue 5): stats, graph, why, log, check, their --json shapes, how
tables look on a terminal and in a pipe, and the hidden `__complete` the shell completions call.

Terminals are real: cacheman's stdout (or stderr) is the slave side of a pty from Python's pty
module, so isatty() is true exactly as in an interactive shell. Damage for `check` is done with
Python's sqlite3 module (orphan edges, missing or stray tables) and by overwriting bytes of a page.
"""
import json
import os
import pty
import re
import shutil
import sqlite3
import subprocess
import termios
import time
import unicodedata
import unittest
import xml.etree.ElementTree as ET

from harness import BIN, SCHEMA_VERSION, CachemanTestCase, Result

ESC = "\x1b"
BOLD = "\x1b[1m"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
STATS_HEADER = ["CACHE", "ENTRIES", "BYTES", "HITS", "MISSES", "LAST INVALIDATED"]
LOG_HEADER = ["WHEN", "COMMAND", "CACHE", "CLEARED"]
STATS_KEYS = {"name", "entries", "bytes", "hits", "misses", "last_invalidated", "volatile"}
LOG_KEYS = {"at", "command", "cache", "cleared"}
LOCAL_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
DOT = shutil.which("dot")


def display_width(text):
    """Columns a terminal gives text: East Asian wide characters take two, combining ones none."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def column_starts(header_line, names):
    """Display column at which each header name starts."""
    starts, offset = [], 0
    for name in names:
        index = header_line.index(name, offset)
        starts.append(display_width(header_line[:index]))
        offset = index + len(name)
    return starts


def cells_at(line, starts):
    """Splits a table line at the given display columns (each cell stripped of its padding)."""
    cells, current, column = [], "", 0
    boundaries = starts[1:] + [10**9]
    index = 0
    for ch in line:
        if column >= boundaries[index]:
            cells.append(current)
            current = ""
            index += 1
        current += ch
        column += display_width(ch)
    cells.append(current)
    return [c.rstrip(" ") for c in cells]


class IntrospectionTestCase(CachemanTestCase):
    def setUp(self):
        super().setUp()
        # Volatile caches go to a directory of this test, never /dev/shm.
        self.env["CACHEMAN_RUNTIME_DIR"] = os.path.join(self.tmp, "runtime")

    # --- helpers --------------------------------------------------------------------------
    def json_of(self, *args, **kwargs):
        r = self.ok("--json", *args, **kwargs)
        self.assertTrue(r.out.endswith(b"\n"), "JSON output ends with a newline: %r" % r)
        self.assertEqual(r.out.count(b"\n"), 1, "JSON output is one line: %r" % r)
        return json.loads(r.text)

    def stats(self, *args, **kwargs):
        return {s["name"]: s for s in self.json_of("stats", *args, **kwargs)}

    def on_terminal(self, *args, env=None, stdout_tty=True, stderr_tty=False, timeout=60):
        """Runs cacheman with stdout and/or stderr on a pty; returns a Result (bytes as written,
        the pty's output post-processing switched off so no \\r is added)."""
        full_env = dict(self.env)
        full_env.update(env or {})
        full_env = {k: v for k, v in full_env.items() if v is not None}
        master, slave = pty.openpty()
        attrs = termios.tcgetattr(slave)
        attrs[1] &= ~termios.OPOST
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        proc = subprocess.Popen(
            [BIN, *args], stdin=subprocess.DEVNULL,
            stdout=slave if stdout_tty else subprocess.PIPE,
            stderr=slave if stderr_tty else subprocess.PIPE,
            env=full_env, cwd=self.tmp)
        os.close(slave)
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every slave descriptor is closed
                break
            if not data:
                break
            chunks.append(data)
        os.close(master)
        out, err = proc.communicate(timeout=timeout)
        tty_bytes = b"".join(chunks)

        class Completed:
            returncode = proc.returncode
            stdout = tty_bytes if stdout_tty else out
            stderr = tty_bytes if stderr_tty else err
        return Result(Completed)

    def chain(self, *names):
        for parent, child in zip(names, names[1:]):
            self.ok("depend", parent, child)

    def log_table_rows(self):
        rows = self.sql("SELECT count(*) FROM log")
        return rows[0][0]


# ==============================================================================================
class StatsTest(IntrospectionTestCase):
    def test_json_shape_entries_and_bytes(self):
        self.ok("set", "a", "k1", "hello")
        self.ok("set", "a", "k2", input=b"\x00\xff\x01")
        self.set_now(self.CLOCK_START)
        self.ok("set", "--ttl", "1ms", "a", "gone", "xxxxxxxxxx")
        self.ok("set", "b", "k", "")
        self.ok("depend", "a", "c")
        self.set_now(self.CLOCK_START + 1)
        out = self.json_of("stats")
        self.assertIsInstance(out, list)
        self.assertEqual([s["name"] for s in out], ["a", "b", "c"], "sorted by name")
        for s in out:
            self.assertEqual(set(s), STATS_KEYS, s)
            for field in ("entries", "bytes", "hits", "misses"):
                self.assertIs(type(s[field]), int, (field, s))
            self.assertIs(type(s["volatile"]), bool, s)
            self.assertIsNone(s["last_invalidated"], s)
        by_name = {s["name"]: s for s in out}
        self.assertEqual((by_name["a"]["entries"], by_name["a"]["bytes"]), (2, 8),
                         "expired entries are not counted; bytes are the values' sizes")
        self.assertEqual((by_name["b"]["entries"], by_name["b"]["bytes"]), (1, 0))
        self.assertEqual((by_name["c"]["entries"], by_name["c"]["bytes"]), (0, 0))
        # --json after the command is the same.
        self.assertEqual(json.loads(self.ok("stats", "--json").text), out)

    def test_piped_lines(self):
        self.ok("set", "a", "k", "12345")
        self.ok("set", "b", "k", "1")
        r = self.ok("stats")
        self.assertEqual(r.text, "a\t1\t5\t0\t0\t-\nb\t1\t1\t0\t0\t-\n")

    def test_one_cache(self):
        self.ok("set", "a", "k", "v")
        self.ok("set", "b", "k", "vv")
        self.assertEqual(self.ok("stats", "b").text, "b\t1\t2\t0\t0\t-\n")
        out = self.json_of("stats", "b")
        self.assertEqual([s["name"] for s in out], ["b"])
        self.fails(1, "stats", "nope")
        r = self.cm("-q", "stats", "nope")
        self.assertEqual((r.code, r.out, r.err), (1, b"", b""))

    def test_get_counts_hits_and_misses(self):
        self.ok("set", "a", "k", "v")
        self.set_now(self.CLOCK_START)
        self.ok("set", "--ttl", "1ms", "a", "short", "v")
        self.set_now(self.CLOCK_START + 1)
        for _ in range(2):
            self.ok("get", "a", "k")
        for key in ("missing", "missing", "short"):  # an expired entry is a miss
            self.assertEqual(self.cm("get", "a", key).code, 1)
        self.assertEqual(self.cm("get", "nosuch", "k").code, 1)  # not a cache: not a lookup
        counts = os.path.join(self.dir, "default.counts")
        self.assertTrue(os.path.exists(counts), "lookups are appended to <dir>/<ns>.counts")
        with open(counts) as f:
            self.assertEqual(len(f.read().splitlines()), 5)
        s = self.stats()
        self.assertEqual((s["a"]["hits"], s["a"]["misses"]), (2, 3), s)
        self.assertNotIn("nosuch", s)
        self.assertFalse(os.path.exists(counts), "stats folds the counts file into the store")
        # Folded once: a second stats neither doubles nor loses them; later lookups add up.
        s = self.stats()
        self.assertEqual((s["a"]["hits"], s["a"]["misses"]), (2, 3), s)
        self.ok("get", "a", "k")
        self.assertEqual(self.ok("stats", "a").text, "a\t1\t1\t3\t3\t-\n")

    def test_run_counts_hits_and_misses(self):
        self.ok("run", "--cache", "r", "--", "echo", "hi")
        self.ok("run", "--cache", "r", "--", "echo", "hi")
        self.ok("run", "--cache", "r", "--", "echo", "other")
        self.ok("run", "--", "true")
        s = self.stats()
        self.assertEqual((s["r"]["hits"], s["r"]["misses"], s["r"]["entries"]), (1, 2, 2), s)
        self.assertEqual((s["run"]["hits"], s["run"]["misses"]), (0, 1), s)

    def test_counts_are_per_namespace(self):
        self.ok("set", "a", "k", "v")
        self.ok("-n", "other", "set", "a", "k", "v")
        self.ok("-n", "other", "get", "a", "k")
        self.assertTrue(os.path.exists(os.path.join(self.dir, "other.counts")))
        self.assertFalse(os.path.exists(os.path.join(self.dir, "default.counts")))
        self.assertEqual(self.stats()["a"]["hits"], 0)
        self.assertEqual(self.json_of("-n", "other", "stats")[0]["hits"], 1)
        self.assertEqual(self.json_of("--dir", self.dir, "-n", "other", "stats")[0]["hits"], 1)

    def test_lookup_is_not_blocked_by_a_writer(self):
        """Counting never makes get wait for a writer (the contract: statistics never block)."""
        self.ok("set", "a", "k", "v")
        con = sqlite3.connect(self.store_path(), isolation_level=None)
        try:
            con.execute("BEGIN EXCLUSIVE")
            con.execute("INSERT INTO stats(cache, hits, misses) VALUES('zz', 0, 0)")
            # The writer keeps its lock until both lookups have returned, and with a busy
            # timeout of a day a lookup that waited for it would not return at all.
            patient = {"CACHEMAN_BUSY_TIMEOUT": "1d"}
            try:
                hit = self.cm("get", "a", "k", env=patient, timeout=60)
                miss = self.cm("get", "a", "nope", env=patient, timeout=60)
            except subprocess.TimeoutExpired:
                self.fail("get waited for the writer")
            self.assertEqual((hit.code, hit.out), (0, b"v"), hit)
            self.assertEqual((miss.code, miss.out, miss.err), (1, b"", b""), miss)
        finally:
            con.execute("ROLLBACK")
            con.close()
        s = self.stats()
        self.assertEqual((s["a"]["hits"], s["a"]["misses"]), (1, 1))

    def test_last_invalidated(self):
        self.chain("a", "b")
        self.ok("set", "c", "k", "v")
        self.set_now(self.CLOCK_START + 0.5)
        self.ok("invalidate", "a")
        s = self.stats()
        for name in ("a", "b"):
            at = s[name]["last_invalidated"]
            self.assertIsInstance(at, (int, float))
            self.assertEqual(at, self.CLOCK_START + 0.5, name)
        self.assertIsNone(s["c"]["last_invalidated"], "an unrelated cache is untouched")
        at = s["a"]["last_invalidated"]
        # Local time: the same instant under two time zones (POSIX TZ strings need no tzdata).
        for tz, offset in (("UTC0", 0), ("XYZ-5:30", 5.5 * 3600)):
            line = self.ok("stats", "a", env={"TZ": tz}).text
            fields = line.rstrip("\n").split("\t")
            self.assertEqual(len(fields), 6, line)
            expected = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(int(at) + offset))
            self.assertEqual(fields[5], expected, (tz, line))
        self.assertTrue(self.ok("stats", "c").text.endswith("\t-\n"))

    def test_volatile_flag(self):
        self.ok("create", "--volatile", "v")
        self.ok("set", "v", "k", "vv")
        self.ok("set", "p", "k", "v")
        s = self.stats()
        self.assertIs(s["v"]["volatile"], True)
        self.assertIs(s["p"]["volatile"], False)
        self.assertEqual((s["v"]["entries"], s["v"]["bytes"]), (1, 2))

    def test_missing_namespace_prints_nothing_and_creates_nothing(self):
        r = self.ok("stats")
        self.assertEqual((r.out, r.err), (b"", b""))
        self.assertEqual(self.json_of("stats"), [])
        self.assertFalse(os.path.exists(self.dir), "stats created the store directory")

    def test_a_cache_created_again_after_drop_starts_without_lookups(self):
        """Hits and misses are per cache: a new cache that reuses a dropped one's name does not
        inherit its numbers (as entries, edges and settings are not inherited)."""
        self.ok("set", "a", "k", "v")
        self.ok("get", "a", "k")
        self.cm("get", "a", "nope")
        self.assertEqual(self.stats()["a"]["hits"], 1)
        self.ok("drop", "a")
        self.ok("set", "a", "k", "v")
        s = self.stats()["a"]
        self.assertEqual((s["hits"], s["misses"]), (0, 0), s)

    def test_lookups_not_yet_folded_do_not_reach_a_new_cache_of_the_same_name(self):
        """The same, when the dropped cache's lookups are still in the counts file (no stats
        ran between the lookups and the drop): they are the old cache's, not the new one's."""
        self.ok("set", "a", "k", "v")
        self.ok("get", "a", "k")
        self.cm("get", "a", "nope")
        self.ok("drop", "a")
        self.ok("set", "a", "k", "v")
        s = self.stats()["a"]
        self.assertEqual((s["hits"], s["misses"]), (0, 0), s)


# ==============================================================================================
class GraphTest(IntrospectionTestCase):
    def build(self):
        self.chain("raw", "parsed", "report")
        self.chain("raw", "summary", "report")
        self.ok("set", "alone", "k", "v")

    def test_json_shape(self):
        self.build()
        out = self.json_of("graph")
        self.assertEqual(set(out), {"nodes", "edges"})
        self.assertEqual(out["nodes"], ["alone", "parsed", "raw", "report", "summary"])
        self.assertEqual(out["edges"], [
            {"parent": "parsed", "child": "report"},
            {"parent": "raw", "child": "parsed"},
            {"parent": "raw", "child": "summary"},
            {"parent": "summary", "child": "report"},
        ])
        self.assertEqual(json.loads(self.ok("graph", "--format", "json").text), out)
        self.assertEqual(json.loads(self.ok("graph", "--json").text), out)
        self.ok("undepend", "raw", "summary")
        self.ok("drop", "parsed")
        out = self.json_of("graph")
        self.assertEqual(out["nodes"], ["alone", "raw", "report", "summary"])
        self.assertEqual(out["edges"], [{"parent": "summary", "child": "report"}])

    def test_dot_text(self):
        self.build()
        self.ok("create", "--volatile", "fleeting")
        self.ok("depend", "raw", "fleeting")
        for args in (("graph",), ("graph", "--format", "dot")):
            text = self.ok(*args).text
            lines = text.splitlines()
            self.assertEqual(lines[0], "digraph cacheman {")
            self.assertEqual(lines[-1], "}")
            self.assertIn("rankdir=LR;", text)
            self.assertIn('"raw" -> "parsed";', text)
            self.assertIn('"summary" -> "report";', text)
            self.assertRegex(text, r'"fleeting" \[style=dashed\];')
            self.assertRegex(text, r'\n\s*"alone";\n', "an isolated cache is a node")

    def render(self, dot_text):
        proc = subprocess.run([DOT, "-Tsvg"], input=dot_text, capture_output=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stderr, b"", "dot warned: %r" % proc.stderr)
        return ET.fromstring(proc.stdout)

    @unittest.skipUnless(DOT, "Graphviz is not installed (Debian: graphviz)")
    def test_dot_renders_with_graphviz(self):
        names = {
            'say "hi"': "back\\slash", "back\\slash": "ends\\", "node": "graph",
            "a -> b": "héllo wörld", "[x]": "x;y{}", "subgraph": "strict", "数据": "报告",
            "with space": "digraph",
        }
        for parent, child in names.items():
            self.ok("depend", parent, child)
        self.ok("set", "lonely}", "k", "v")
        graph = self.json_of("graph")
        svg = self.render(self.ok("graph").out)
        ns = "{http://www.w3.org/2000/svg}"
        labels, titles = {}, {}
        for g in svg.iter(ns + "g"):
            kind = g.get("class")
            title = g.find(ns + "title").text
            if kind == "node":
                text = "".join(g.find(ns + "text").itertext())
                labels[title] = text
            elif kind == "edge":
                titles[title] = True
        self.assertEqual(sorted(labels.values()), sorted(graph["nodes"]),
                         "every cache is drawn once, labelled with its name")
        rendered_edges = set()
        for title in titles:
            pairs = [(labels[t], labels[h]) for t in labels for h in labels
                     if t + "->" + h == title]
            self.assertEqual(len(pairs), 1, title)
            rendered_edges.add(pairs[0])
        self.assertEqual(rendered_edges, set(names.items()))

    @unittest.skipUnless(DOT, "Graphviz is not installed (Debian: graphviz)")
    def test_empty_graph_renders(self):
        self.render(self.ok("graph").out)
        self.assertEqual(self.json_of("graph"), {"nodes": [], "edges": []})
        self.assertFalse(os.path.exists(self.dir), "graph created the store")

    def test_bad_format(self):
        self.build()
        self.fails(2, "graph", "--format", "svg")
        self.fails(2, "graph", "--format")


# ==============================================================================================
class WhyTest(IntrospectionTestCase):
    def test_diamond_chains(self):
        self.chain("raw", "parsed", "report")
        self.chain("raw", "summary", "report")
        self.chain("other", "report")
        self.chain("report", "downstream")
        self.ok("set", "unrelated", "k", "v")
        self.assertEqual(self.ok("why", "report").text,
                         "other -> report\nraw -> parsed -> report\nraw -> summary -> report\n")
        self.assertEqual(self.json_of("why", "report"),
                         [["other", "report"], ["raw", "parsed", "report"],
                          ["raw", "summary", "report"]])
        self.assertEqual(self.json_of("why", "parsed"), [["raw", "parsed"]])
        self.ok("undepend", "raw", "summary")
        self.assertEqual(self.json_of("why", "report"),
                         [["other", "report"], ["raw", "parsed", "report"],
                          ["summary", "report"]])

    def test_agrees_with_invalidate(self):
        """Every cache on a chain clears the target when invalidated, and no other cache does."""
        edges = [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("d", "t"), ("e", "t"),
                 ("f", "e"), ("g", "h"), ("t", "u"), ("b", "t"), ("i", "c")]
        for parent, child in edges:
            self.ok("depend", parent, child)
        chains = self.json_of("why", "t")
        parents = {}
        for parent, child in edges:
            parents.setdefault(child, set()).add(parent)
        self.assertEqual(chains, sorted(chains))
        self.assertEqual(len(chains), len({tuple(c) for c in chains}), "no chain twice")
        for chain in chains:
            self.assertEqual(chain[-1], "t")
            self.assertNotIn(chain[0], parents, "a chain starts at a cache without parents")
            for parent, child in zip(chain, chain[1:]):
                self.assertIn((parent, child), edges, chain)
        # a->b->d->t, a->c->d->t, a->b->t, i->c->d->t, f->e->t
        self.assertEqual(len(chains), 5, chains)
        on_chains = {name for chain in chains for name in chain[:-1]}
        clears_t = set()
        for name in "abcdefghiu":
            dry = self.ok("invalidate", "--dry-run", name).text.split()
            if "t" in dry:
                clears_t.add(name)
        self.assertEqual(on_chains, clears_t)

    def test_root_and_missing(self):
        self.chain("root", "leaf")
        r = self.ok("why", "root")
        self.assertEqual((r.out, r.err), (b"", b""))
        self.assertEqual(self.json_of("why", "root"), [])
        r = self.ok("-v", "why", "root")
        self.assertEqual(r.out, b"")
        self.assertIn("root", r.errtext)
        self.fails(1, "why", "nope")
        self.fails(2, "why")

    def test_many_paths_are_bounded(self):
        """A ladder of 12 diamonds has 4096 paths: at most 1000 lines, quickly."""
        previous = ["top"]
        for level in range(12):
            layer = ["l%d%s" % (level, side) for side in "ab"]
            for parent in previous:
                for child in layer:
                    self.ok("depend", parent, child)
            previous = layer
        for parent in previous:
            self.ok("depend", parent, "bottom")
        r = self.cm("why", "bottom", timeout=60)
        self.assertEqual(r.code, 0, r)
        lines = r.text.splitlines()
        self.assertTrue(0 < len(lines) <= 1000, len(lines))
        self.assertEqual(len(lines), len(set(lines)))
        self.assertEqual(lines, sorted(lines))
        for line in lines:
            steps = line.split(" -> ")
            self.assertEqual((steps[0], steps[-1], len(steps)), ("top", "bottom", 14), line)
        self.assertTrue(0 < len(self.json_of("why", "bottom")) <= 1000)


# ==============================================================================================
class LogTest(IntrospectionTestCase):
    def test_invalidate_is_recorded_with_its_cascade(self):
        self.chain("a", "b", "c")
        self.ok("set", "d", "k", "v")
        self.set_now(self.CLOCK_START + 0.25)
        self.ok("invalidate", "a")
        out = self.json_of("log")
        self.assertEqual(len(out), 1, out)
        entry = out[0]
        self.assertEqual(set(entry), LOG_KEYS)
        self.assertEqual(entry["at"], self.CLOCK_START + 0.25, entry)
        self.assertEqual((entry["command"], entry["cache"], entry["cleared"]),
                         ("invalidate", "a", ["a", "b", "c"]))
        line = self.ok("log", env={"TZ": "UTC0"}).text
        fields = line.rstrip("\n").split("\t")
        self.assertEqual(fields[1:], ["invalidate", "a", "a,b,c"], line)
        self.assertEqual(fields[0], time.strftime("%Y-%m-%d %H:%M:%S",
                                                  time.gmtime(int(entry["at"]))))
        self.ok("invalidate", "--dry-run", "a")
        self.assertEqual(len(self.json_of("log")), 1, "a dry run is not recorded")

    def test_newest_first_limit_and_default(self):
        self.chain("p", "q")
        names = ["c%02d" % i for i in range(25)]
        for name in names:
            self.ok("set", name, "k", "v")
            self.ok("invalidate", name)
        out = self.json_of("log")
        self.assertEqual(len(out), 20, "20 entries by default")
        self.assertEqual([e["cache"] for e in out], names[::-1][:20], "newest first")
        self.assertEqual([e["cache"] for e in self.json_of("log", "--limit", "3")],
                         ["c24", "c23", "c22"])
        self.assertEqual(len(self.json_of("log", "--limit", "100")), 25)
        self.assertEqual(len(self.ok("log", "--limit", "7").text.splitlines()), 7)
        ats = [e["at"] for e in self.json_of("log", "--limit", "100")]
        self.assertEqual(ats, sorted(ats, reverse=True))

    def test_filter_by_cache(self):
        self.chain("a", "b", "c")
        self.chain("x", "c")
        self.ok("invalidate", "a")
        self.ok("invalidate", "x")
        self.ok("invalidate", "b")
        self.assertEqual([e["cache"] for e in self.json_of("log", "c")], ["b", "x", "a"])
        self.assertEqual([e["cache"] for e in self.json_of("log", "b")], ["b", "a"])
        self.assertEqual([e["cache"] for e in self.json_of("log", "x")], ["x"])
        self.assertEqual([e["cache"] for e in self.json_of("log", "--limit", "1", "c")], ["b"])
        self.assertEqual(self.json_of("log", "nosuch"), [])

    def test_key_invalidation_rebuild_and_drop(self):
        self.chain("a", "b", "c")
        self.ok("set", "a", "k", "v")
        self.ok("set", "c", "k", "v")
        self.ok("invalidate", "a", "k")
        self.ok("create", "--builder", "echo '{\"key\": \"k\", \"value\": \"v\"}'", "built")
        self.ok("depend", "built", "a")
        self.ok("rebuild", "built")
        self.ok("set", "c", "k", "v")
        self.ok("drop", "b")
        self.assertIsNone(self.get("c", "k"), "drop cleared b's dependent")
        out = self.json_of("log")
        got = [(e["command"], e["cache"], e["cleared"]) for e in out]
        self.assertEqual(got[2], ("invalidate", "a", ["a", "b", "c"]))
        self.assertEqual(got[1][:2], ("rebuild", "built"))
        self.assertEqual(got[1][2][0], "built")
        self.assertIn("a", got[1][2])
        self.assertEqual(got[0][:2], ("drop", "b"))
        self.assertEqual(got[0][2], ["b", "c"],
                         "drop's entry names what it cleared, cascade included")
        self.assertEqual([e["command"] for e in self.json_of("log", "c")][:1], ["drop"],
                         "the drop cleared c, so it is in c's history")
        self.assertIn("drop", [e["command"] for e in self.json_of("log", "b")],
                      "a dropped cache keeps its history")

    def test_bad_limit(self):
        for bad in ("0", "-1", "abc", "1.5"):
            self.fails(2, "log", "--limit", bad)

    def test_bounded_to_the_newest_1000(self):
        """998 older entries (written as cacheman writes them), then real invalidations cross
        the bound: the store keeps exactly the newest 1000."""
        self.ok("set", "a", "k", "v")
        con = sqlite3.connect(self.store_path())
        with con:
            con.executemany("INSERT INTO log(at, command, cache, cleared) VALUES(?, ?, ?, ?)",
                            [(1.0e9 + i, "invalidate", "old%04d" % i, '["old%04d"]' % i)
                             for i in range(998)])
        con.close()
        for i in range(5):
            self.ok("invalidate", "a")
        self.assertEqual(self.log_table_rows(), 1000)
        out = self.json_of("log", "--limit", "5000")
        self.assertEqual(len(out), 1000)
        self.assertEqual([e["cache"] for e in out[:5]], ["a"] * 5)
        self.assertEqual(out[-1]["cache"], "old0003", "the oldest entries are forgotten first")
        self.assertEqual(self.json_of("log", "old0002"), [])

    def test_bounded_with_real_commands(self):
        """1010 real invalidations: the log never holds more than 1000 entries."""
        self.ok("set", "a", "k", "v")
        script = "for i in $(seq 1010); do \"$0\" invalidate a || exit 1; done"
        proc = subprocess.run(["sh", "-c", script, BIN], env=self.env, cwd=self.tmp,
                              capture_output=True, timeout=500)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.log_table_rows(), 1000)
        self.assertEqual(len(self.json_of("log", "--limit", "100000")), 1000)

    def test_missing_namespace(self):
        r = self.ok("log")
        self.assertEqual((r.out, r.err), (b"", b""))
        self.assertEqual(self.json_of("log"), [])
        self.assertFalse(os.path.exists(self.dir), "log created the store")


# ==============================================================================================
class CheckTest(IntrospectionTestCase):
    def populate(self, entries=3):
        lines = "".join(json.dumps({"key": "k%05d" % i, "value": "v" * 50}) + "\n"
                        for i in range(entries))
        self.ok("import", "big", input=lines.encode())
        self.chain("a", "b")
        self.ok("set", "a", "k", "v")

    def file_bytes(self):
        with open(self.store_path(), "rb") as f:
            return f.read()

    def damaged(self, problem_fragment=None):
        r = self.cm("check")
        self.assertEqual(r.code, 3, r)
        self.assertEqual(r.errtext, "cacheman: error: the store is damaged (%s)\n"
                         % self.store_path(), r)
        self.assertTrue(r.text.startswith("integrity: "), r)
        self.assertIn("schema version: %d\n" % SCHEMA_VERSION, r.text)
        j = self.cm("--json", "check")
        self.assertEqual(j.code, 3, j)
        report = json.loads(j.text)
        self.assertEqual(set(report), {"ok", "integrity", "schema_version", "problems"})
        self.assertIs(report["ok"], False)
        if problem_fragment:
            self.assertIn("problem: ", r.text)
            self.assertTrue(any(problem_fragment in p for p in report["problems"]), report)
        return r, report

    def test_healthy(self):
        self.populate()
        before = self.file_bytes()
        r = self.ok("check")
        self.assertEqual(r.text, "integrity: ok\nschema version: %d\n" % SCHEMA_VERSION)
        self.assertEqual(r.err, b"")
        self.assertEqual(self.json_of("check"), {"ok": True, "integrity": ["ok"],
                                                  "schema_version": SCHEMA_VERSION, "problems": []})
        self.assertEqual(self.file_bytes(), before, "check changes nothing")

    def test_missing_namespace_is_sound_and_not_created(self):
        self.assertEqual(self.ok("check").text, "integrity: ok\nschema version: %d\n" % SCHEMA_VERSION)
        self.assertIs(self.json_of("check")["ok"], True)
        self.assertFalse(os.path.exists(self.dir))

    def test_orphan_edge(self):
        self.populate()
        con = sqlite3.connect(self.store_path())
        with con:
            con.execute("INSERT INTO depends(parent, child) VALUES('ghost', 'a')")
        con.close()
        r, report = self.damaged("orphan edge 'ghost' -> 'a'")
        self.assertIn("problem: orphan edge 'ghost' -> 'a'\n", r.text)
        self.assertEqual(report["integrity"], ["ok"], "SQLite itself finds nothing wrong")

    def test_cache_without_its_table(self):
        self.populate()
        (cache_id,) = self.sql("SELECT id FROM caches WHERE name = 'b'")[0]
        con = sqlite3.connect(self.store_path())
        con.execute("DROP TABLE cache_%d" % cache_id)
        con.commit()
        con.close()
        self.damaged("'b'")

    def test_table_without_its_cache(self):
        self.populate()
        con = sqlite3.connect(self.store_path())
        con.execute("CREATE TABLE cache_9999(key TEXT PRIMARY KEY, expires REAL, value BLOB)")
        con.commit()
        con.close()
        self.damaged("cache_9999")

    def corrupt_a_page(self):
        self.populate(entries=3000)
        con = sqlite3.connect(self.store_path())
        page_size = con.execute("PRAGMA page_size").fetchone()[0]
        (cache_id,) = con.execute("SELECT id FROM caches WHERE name = 'big'").fetchone()
        try:
            pages = [p for (p,) in con.execute(
                "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno",
                ("cache_%d" % cache_id,))]
        except sqlite3.OperationalError:  # no dbstat: a page in the middle of the file
            pages = [con.execute("PRAGMA page_count").fetchone()[0] // 2]
        con.close()
        self.assertTrue(pages)
        page = pages[len(pages) // 2]
        with open(self.store_path(), "r+b") as f:
            f.seek((page - 1) * page_size + 8)  # the cell pointer array of a leaf page
            f.write(b"\xff" * 64)

    def test_corrupted_page_exits_3(self):
        self.corrupt_a_page()
        before = self.file_bytes()
        for args in (["check"], ["--json", "check"], ["-v", "check"], ["check", "--json"]):
            with self.subTest(args=args):
                r = self.cm(*args)
                self.assertEqual(r.code, 3, r)
                self.assertTrue(r.errtext.startswith("cacheman: error: "), r)
                self.assertEqual(r.errtext.count("\n"), 1, r)
        self.assertEqual(self.file_bytes(), before, "check changes nothing")

    def test_corrupted_page_is_reported(self):
        """Whatever else is on the command line, check prints what PRAGMA integrity_check
        found (the man page: 'a line integrity: with ... its messages, joined by semicolons';
        with --json, ok false and the messages) and exits 3."""
        self.corrupt_a_page()
        for args in (["check"], ["-v", "check"], ["--dir", self.dir, "check"],
                     ["-q", "-v", "check"], ["-v", "-v", "-v", "check"]):
            with self.subTest(args=args):
                r = self.cm(*args)
                self.assertEqual(r.code, 3, r)
                self.assertTrue(r.text.startswith("integrity: "), "no report: %r" % r)
                self.assertNotIn("integrity: ok\n", r.text)
                self.assertIn("schema version: %d\n" % SCHEMA_VERSION, r.text)
            json_args = ["--json"] + args
            with self.subTest(args=json_args):
                r = self.cm(*json_args)
                self.assertEqual(r.code, 3, r)
                self.assertTrue(r.out, "no report: %r" % r)
                report = json.loads(r.text)
                self.assertIs(report["ok"], False)
                self.assertNotEqual(report["integrity"], ["ok"])
                self.assertEqual(report["schema_version"], SCHEMA_VERSION)

    def test_not_a_store(self):
        os.makedirs(self.dir, mode=0o700)
        with open(self.store_path(), "wb") as f:
            f.write(b"just some text, not SQLite\n" * 200)
        before = self.file_bytes()
        r = self.cm("check")
        self.assertEqual(r.code, 3, r)
        self.assertTrue(r.errtext.startswith("cacheman: error: "), r)
        self.assertEqual(r.out, b"")
        self.assertEqual(self.cm("--json", "check").code, 3)
        self.assertEqual(self.file_bytes(), before)


# ==============================================================================================
class OutputTest(IntrospectionTestCase):
    def build(self):
        self.chain("alpha", "beta")
        self.ok("set", "alpha", "k", "v" * 1234)
        self.ok("set", "a-much-longer-cache-name", "k", "v")
        self.ok("get", "alpha", "k")
        self.ok("invalidate", "alpha")
        self.ok("set", "alpha", "k", "v" * 1234)

    def assert_aligned_table(self, text, header, expected_rows):
        lines = text.split("\n")
        self.assertEqual(lines[-1], "", "ends with a newline: %r" % text)
        lines = [ANSI.sub("", line) for line in lines[:-1]]
        self.assertEqual(len(lines), len(expected_rows) + 1, text)
        starts = column_starts(lines[0], header)
        self.assertEqual(cells_at(lines[0], starts), header, lines[0])
        for line, expected in zip(lines[1:], expected_rows):
            cells = cells_at(line, starts)
            self.assertEqual(cells, expected, "column not aligned under its header:\n" + text)
            for start in starts[1:]:
                prefix = ""
                for ch in line:
                    if display_width(prefix) >= start:
                        break
                    prefix += ch
                self.assertEqual(prefix[-1:], " ", "cells are separated by spaces:\n" + text)

    def test_piped_tables_are_plain(self):
        self.build()
        for args, fields in ((("stats",), 6), (("log",), 4)):
            r = self.ok(*args)
            self.assertNotIn(b"\x1b", r.out)
            lines = r.text.splitlines()
            self.assertTrue(lines)
            self.assertNotIn("CACHE", lines[0], "no header when piped")
            for line in lines:
                self.assertEqual(len(line.split("\t")), fields, line)
        self.assertEqual(self.ok("stats").text.splitlines()[0].split("\t")[0],
                         "a-much-longer-cache-name")

    def test_terminal_stats_table(self):
        self.build()
        r = self.on_terminal("stats", env={"TZ": "UTC0"})
        self.assertEqual(r.code, 0, r)
        text = r.out.decode()
        first = text.split("\n")[0]
        self.assertTrue(first.startswith(BOLD), "the header is bold on a terminal: %r" % text)
        self.assertEqual(ANSI.sub("", text).count(ESC), 0, "only SGR codes: %r" % text)
        expected = [line.split("\t") for line in
                    self.ok("stats", env={"TZ": "UTC0"}).text.splitlines()]
        self.assert_aligned_table(text, STATS_HEADER, expected)
        self.assertNotIn(BOLD, text.split("\n", 1)[1], "only the header is bold")

    def test_terminal_log_table(self):
        self.build()
        self.ok("invalidate", "beta")
        r = self.on_terminal("log", env={"TZ": "UTC0"})
        self.assertEqual(r.code, 0, r)
        text = r.out.decode()
        self.assertTrue(text.startswith(BOLD), text)
        expected = [line.split("\t") for line in
                    self.ok("log", env={"TZ": "UTC0"}).text.splitlines()]
        self.assertEqual(len(expected), 2)
        self.assert_aligned_table(text, LOG_HEADER, expected)

    def test_terminal_alignment_with_wide_names(self):
        self.ok("set", "héllo wörld", "k", "v")
        self.ok("set", "数据", "k", "vvvvvvvvvvvvvvvvvvvvvvvvvvvv")
        self.ok("set", "z", "k", "v")
        r = self.on_terminal("stats")
        self.assertEqual(r.code, 0, r)
        expected = [line.split("\t") for line in self.ok("stats").text.splitlines()]
        self.assert_aligned_table(r.out.decode(), STATS_HEADER, expected)

    def test_no_color(self):
        self.build()
        for value in ("1", "yes", "0"):
            with self.subTest(NO_COLOR=value):
                for args, header in ((("stats",), STATS_HEADER), (("log",), LOG_HEADER)):
                    r = self.on_terminal(*args, env={"NO_COLOR": value, "TZ": "UTC0"})
                    self.assertEqual(r.code, 0, r)
                    self.assertNotIn(b"\x1b", r.out, "NO_COLOR=%s: %r" % (value, r.out))
                    expected = [line.split("\t") for line in
                                self.ok(*args, env={"TZ": "UTC0"}).text.splitlines()]
                    self.assert_aligned_table(r.out.decode(), header, expected)
        # An empty NO_COLOR counts as unset (man page, ENVIRONMENT).
        r = self.on_terminal("stats", env={"NO_COLOR": ""})
        self.assertIn(BOLD.encode(), r.out)

    def test_data_on_a_terminal_is_never_decorated(self):
        self.build()
        for args in (("--json", "stats"), ("--json", "log"), ("--json", "graph"),
                     ("--json", "why", "beta"), ("--json", "check")):
            r = self.on_terminal(*args)
            self.assertEqual(r.code, 0, r)
            self.assertNotIn(b"\x1b", r.out, args)
            json.loads(r.out.decode())
        for args in (("graph",), ("why", "beta"), ("check",), ("__complete", "caches")):
            r = self.on_terminal(*args)
            self.assertEqual(r.code, 0, r)
            self.assertNotIn(b"\x1b", r.out, args)
            self.assertEqual(r.out, self.ok(*args).out, "same as piped: %r" % (args,))

    def test_stderr_terminal_stdout_pipe_is_plain(self):
        self.build()
        r = self.on_terminal("stats", stdout_tty=False, stderr_tty=True)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.out, self.ok("stats").out)
        self.assertNotIn(b"\x1b", r.out)
        self.assertNotIn(b"CACHE", r.out)

    def test_empty_table_on_a_terminal(self):
        self.ok("set", "a", "k", "v")
        r = self.on_terminal("log")
        self.assertEqual(r.code, 0, r)
        lines = ANSI.sub("", r.out.decode()).splitlines()
        self.assertIn(lines, ([], ["WHEN  COMMAND  CACHE  CLEARED"]), r)


# ==============================================================================================
class CompleteTest(IntrospectionTestCase):
    def complete(self, *args, env=None):
        r = self.cm(*args, env=env)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.err, b"", r)
        return r.text.splitlines()

    def test_commands(self):
        help_text = self.ok("--help").text
        listed = re.findall(r"^  ([a-z][a-z-]*)  ", help_text.split("Subcommands:", 1)[1],
                            re.MULTILINE)
        got = self.complete("__complete", "commands")
        self.assertIn("stats", got)
        self.assertIn("check", got)
        self.assertNotIn("__complete", got)
        self.assertEqual(sorted(got), sorted(listed))
        self.assertNotIn("__complete", help_text, "the hidden command stays hidden")

    def test_caches_honour_dir_and_namespace(self):
        other = os.path.join(self.tmp, "elsewhere")
        self.ok("set", "d1", "k", "v")
        self.ok("set", "d2", "k", "v")
        self.ok("-n", "ns", "set", "n1", "k", "v")
        self.ok("--dir", other, "set", "o1", "k", "v")
        self.ok("--dir", other, "-n", "ns", "set", "on1", "k", "v")
        self.assertEqual(self.complete("__complete", "caches"), ["d1", "d2"])
        self.assertEqual(self.complete("-n", "ns", "__complete", "caches"), ["n1"])
        self.assertEqual(self.complete("--namespace", "ns", "__complete", "caches"), ["n1"])
        self.assertEqual(self.complete("__complete", "caches", env={"CACHEMAN_NAMESPACE": "ns"}),
                         ["n1"])
        self.assertEqual(self.complete("--dir", other, "__complete", "caches"), ["o1"])
        self.assertEqual(self.complete("--dir", other, "-n", "ns", "__complete", "caches"),
                         ["on1"])
        self.assertEqual(self.complete("__complete", "caches", env={"CACHEMAN_DIR": other}),
                         ["o1"])

    def test_keys(self):
        self.ok("set", "c", "b", "v")
        self.ok("set", "c", "a", "v")
        self.ok("set", "c", "B", "v")
        self.set_now(self.CLOCK_START)
        self.ok("set", "--ttl", "1ms", "c", "expired", "v")
        self.ok("-n", "ns", "set", "c", "only-in-ns", "v")
        self.set_now(self.CLOCK_START + 1)
        self.assertEqual(self.complete("__complete", "keys", "c"), ["B", "a", "b"])
        self.assertEqual(self.complete("-n", "ns", "__complete", "keys", "c"), ["only-in-ns"])
        self.assertEqual(self.complete("--dir", self.dir, "-n", "ns", "__complete", "keys", "c"),
                         ["only-in-ns"])
        self.assertEqual(self.complete("__complete", "keys", "nosuch"), [])
        self.assertEqual(self.complete("__complete", "keys"), [])

    def test_namespaces(self):
        self.ok("set", "c", "k", "v")
        self.ok("-n", "zeta", "set", "c", "k", "v")
        self.ok("-n", "alpha.v2", "set", "c", "k", "v")
        self.ok("get", "c", "k")  # leaves default.counts beside the stores
        for junk in ("notes.txt", ".hidden.sqlite", "bad name.sqlite", "x.sqlite-wal"):
            open(os.path.join(self.dir, junk), "w").close()
        self.assertEqual(self.complete("__complete", "namespaces"),
                         ["alpha.v2", "default", "zeta"])
        other = os.path.join(self.tmp, "elsewhere")
        self.ok("--dir", other, "-n", "mine", "set", "c", "k", "v")
        self.assertEqual(self.complete("--dir", other, "__complete", "namespaces"), ["mine"])

    def test_silent_when_nothing_is_there(self):
        for args in (("__complete", "caches"), ("__complete", "keys", "c"),
                     ("__complete", "namespaces")):
            self.assertEqual(self.complete(*args), [], args)
        self.assertFalse(os.path.exists(self.dir), "completion created the store")
        os.makedirs(self.dir, mode=0o700)
        with open(self.store_path(), "wb") as f:
            f.write(b"not a database\n" * 100)
        self.assertEqual(self.complete("__complete", "caches"), [])
        self.assertEqual(self.complete("__complete", "keys", "c"), [])
        with open(self.store_path(), "rb") as f:
            self.assertEqual(f.read(), b"not a database\n" * 100)

    def test_never_runs_a_hook(self):
        marker = os.path.join(self.tmp, "builder-ran")
        builder = "touch %s; echo '{\"key\": \"built\", \"value\": \"v\"}'" % marker
        self.ok("create", "--builder", builder, "lazy")
        self.assertEqual(self.complete("__complete", "keys", "lazy"), [])
        self.assertEqual(self.complete("__complete", "caches"), ["lazy"])
        self.assertFalse(os.path.exists(marker), "a completion ran the builder")
        self.assertEqual(self.ok("keys", "lazy").text, "built\n")  # a real read builds it
        self.assertTrue(os.path.exists(marker))


if __name__ == "__main__":
    unittest.main()
