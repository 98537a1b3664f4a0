"""The C++ library as a user gets it: `cmake --install` of the build, then examples/ configured
and built against the installed package (find_package(cacheman) -> cacheman::cacheman) and run
against a fresh store, which the command then reads. The store's hooks (a saver set with
`cacheman create`) run for the library's edits as they do for the command's."""
import json
import os
import shutil
import subprocess
import unittest
from pathlib import Path

from harness import BIN, CachemanTestCase

# ctest runs this with CACHEMAN_BIN=<build>/cli/cacheman.
BUILD = Path(BIN).parent.parent
SOURCE = Path(__file__).resolve().parents[2]
CMAKE = shutil.which("cmake")

EXPECTED = """\
raw[a.txt] = hello
a.txt: hello (5 bytes)
b.txt: world! (6 bytes)
sizes has 2 entries
after invalidating raw/a.txt: raw has 1, sizes has 0
error: no such key 'a.txt' in cache 'raw'
write-back: 3 pending, the store has 0
after save: the store has 3
after the write-back cache is gone: the store has 4
"""


@unittest.skipUnless(CMAKE and (BUILD / "CMakeCache.txt").exists(),
                     "needs cmake and the build directory of CACHEMAN_BIN")
class PackageTest(CachemanTestCase):
    def tool(self, *args, env=None):
        proc = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                              timeout=300)
        self.assertEqual(proc.returncode, 0, "%s failed:\n%s" % (" ".join(map(str, args)),
                                                                 proc.stdout.decode(errors="replace")))
        return proc

    def test_example_builds_against_the_installed_package(self):
        prefix = Path(self.tmp) / "prefix"
        self.tool(CMAKE, "--install", str(BUILD), "--prefix", str(prefix))

        header = prefix / "include" / "cacheman" / "cacheman.hpp"
        self.assertTrue(header.is_file())
        # Only standard headers and the public error header: nothing of core's and no
        # <sqlite3.h> reaches the user.
        public = ["cacheman.hpp", "Error.hpp"]
        for name in public:
            self.assertTrue((header.parent / name).is_file(), name)
            includes = [line for line in (header.parent / name).read_text().splitlines()
                        if line.startswith("#include")]
            self.assertTrue(includes)
            for line in includes:
                self.assertRegex(line, r"^#include <([a-z_]+|cacheman/Error\.hpp)>$")
        package = list(prefix.glob("lib*/cmake/cacheman"))
        self.assertEqual(len(package), 1, list(prefix.rglob("*")))
        for name in ("cacheman-config.cmake", "cacheman-config-version.cmake",
                     "cacheman-targets.cmake"):
            self.assertTrue((package[0] / name).is_file(), name)
        self.assertEqual(len(list(prefix.glob("lib*/libcacheman.a"))), 1)

        example_build = Path(self.tmp) / "example-build"
        self.tool(CMAKE, "-S", str(SOURCE / "examples"), "-B", str(example_build),
                  "-DCMAKE_PREFIX_PATH=" + str(prefix), "-DCMAKE_BUILD_TYPE=Release")
        self.tool(CMAKE, "--build", str(example_build))

        # The library honours hooks set with the command: this saver runs at every edit.
        saved = Path(self.dir) / "log.saved"
        self.ok("create", "log", "--saver", 'cat > "$CACHEMAN_DIR/log.saved"',
                "--autosync-checks", "60:1")

        # Run with the harness's clean environment: the store is CACHEMAN_DIR.
        proc = subprocess.run([str(example_build / "basic")], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=self.env, cwd=self.tmp, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout.decode(), EXPECTED)
        self.assertEqual(proc.stderr, b"")

        # The command reads what the library wrote, the write-back commits included.
        self.assertEqual(self.ok("keys", "log").text, "line1\nline2\nline3\nline4\n")
        self.assertEqual(saved.read_bytes(), self.ok("export", "log").out)
        self.assertEqual(self.get("log", "line4"), b"entry 4")
        self.assertEqual(self.ok("keys", "raw").text, "b.txt\n")
        self.assertEqual(self.ok("keys", "sizes").text, "")
        self.assertEqual(self.integrity(), "ok")

        # The library's lookups are counted as the command's are.
        # The example looked raw up twice: a hit (raw.get("a.txt")) and a miss (raw["a.txt"]
        # after the invalidation); one get of the command's adds a hit.
        self.assertEqual(self.get("raw", "b.txt"), b"world!")
        stats = {c["name"]: c for c in json.loads(self.ok("--json", "stats").text)}
        self.assertEqual((stats["raw"]["hits"], stats["raw"]["misses"]), (2, 1), stats)


if __name__ == "__main__":
    unittest.main()
