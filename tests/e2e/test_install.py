"""Install and packaging (issue 5, "Install"): `cmake --install` of the build tree into a
temporary prefix puts the binary, the man page and the three shells' completions where they are
looked for, and CPack (cmake/Packaging.cmake) builds a Debian package of the same files.

The build tree is the one whose binary is under test (CACHEMAN_BIN=<build>/cli/cacheman). Where
the real shells are installed, they are asked whether they find the installed completions.
"""
import gzip
import os
import re
import shutil
import stat
import subprocess
import tempfile
import unittest
from pathlib import Path

from harness import BIN, CachemanTestCase

BUILD = Path(BIN).parents[1]
SOURCE = Path(__file__).resolve().parents[2]
CMAKE = shutil.which("cmake")
CPACK = shutil.which("cpack")
DPKG_DEB = shutil.which("dpkg-deb")

# The prefix-relative places of the installed files, and the source each one is a copy of.
INSTALLED = {
    "share/man/man1/cacheman.1": "man/cacheman.1",
    "share/bash-completion/completions/cacheman": "completions/cacheman.bash",
    "share/zsh/site-functions/_cacheman": "completions/_cacheman",
    "share/fish/vendor_completions.d/cacheman.fish": "completions/cacheman.fish",
}


def project_version():
    text = (SOURCE / "CMakeLists.txt").read_text()
    match = re.search(r"project\(cacheman\s+VERSION\s+([0-9.]+)", text)
    assert match, "no project(cacheman VERSION ...) in CMakeLists.txt"
    return match.group(1)


def run(args, **kwargs):
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("timeout", 600)
    return subprocess.run(args, **kwargs)


@unittest.skipUnless(CMAKE and (BUILD / "CMakeCache.txt").exists(),
                     "needs cmake and the build tree of CACHEMAN_BIN")
class InstallTest(CachemanTestCase):
    def setUp(self):
        super().setUp()
        self.prefix = Path(self.tmp) / "prefix"
        proc = run([CMAKE, "--install", str(BUILD), "--prefix", str(self.prefix)])
        self.assertEqual(proc.returncode, 0, proc.stderr.decode(errors="replace"))

    def shell_env(self, **extra):
        home = self.env["HOME"]
        # A shell of this test's own: no user configuration, nothing written outside tmp.
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "TERM": "dumb",
               "XDG_CONFIG_HOME": os.path.join(home, ".config"),
               "XDG_DATA_HOME": os.path.join(home, ".local/share")}
        os.makedirs(env["HOME"], exist_ok=True)
        env.update(extra)
        return env

    def test_binary_runs(self):
        binary = self.prefix / "bin" / "cacheman"
        self.assertTrue(binary.is_file(), "bin/cacheman is installed")
        self.assertTrue(os.access(binary, os.X_OK), "bin/cacheman is executable")
        proc = run([str(binary), "--version"])
        self.assertEqual(proc.returncode, 0, proc)
        self.assertEqual(proc.stdout.decode(), "cacheman %s\n" % project_version())
        self.assertEqual(proc.stderr, b"")
        # The installed copy is the binary under test, and it works on a store.
        self.assertEqual(binary.read_bytes(), Path(BIN).read_bytes())
        env = dict(self.env)
        for args in (["set", "c", "k", "v"], ["get", "c", "k"]):
            proc = run([str(binary), *args], env=env)
            self.assertEqual(proc.returncode, 0, proc)
        self.assertEqual(proc.stdout, b"v")

    def test_man_page_and_completions(self):
        for installed, source in INSTALLED.items():
            with self.subTest(file=installed):
                path = self.prefix / installed
                self.assertTrue(path.is_file(), "%s is installed" % installed)
                self.assertEqual(path.read_bytes(), (SOURCE / source).read_bytes(),
                                 "%s is a copy of %s" % (installed, source))
                mode = stat.S_IMODE(path.stat().st_mode)
                self.assertEqual(mode & 0o111, 0, "%s is not executable" % installed)
                self.assertEqual(mode & 0o044, 0o044, "%s is readable by all" % installed)

    @unittest.skipUnless(shutil.which("man"), "man is not installed")
    def test_man_finds_the_page(self):
        proc = run(["man", "-w", "cacheman"],
                   env=self.shell_env(MANPATH=str(self.prefix / "share" / "man")))
        self.assertEqual(proc.returncode, 0, proc)
        self.assertEqual(proc.stdout.decode().strip(),
                         str(self.prefix / "share/man/man1/cacheman.1"))

    @unittest.skipUnless(shutil.which("bash") and
                         os.path.exists("/usr/share/bash-completion/bash_completion"),
                         "bash-completion is not installed")
    def test_bash_completion_finds_it(self):
        """bash-completion loads completions on demand from <dir>/bash-completion/completions
        for each dir of XDG_DATA_DIRS (by default /usr/local/share and /usr/share)."""
        script = ("source /usr/share/bash-completion/bash_completion; "
                  "__load_completion cacheman && complete -p cacheman")
        proc = run(["bash", "--norc", "--noprofile", "-c", script],
                   env=self.shell_env(XDG_DATA_DIRS=str(self.prefix / "share")))
        self.assertEqual(proc.returncode, 0, proc)
        self.assertRegex(proc.stdout.decode(), r"complete .* cacheman$")

    @unittest.skipUnless(shutil.which("zsh"), "zsh is not installed")
    def test_zsh_finds_it(self):
        """With the prefix's site-functions on fpath (zsh has /usr/local's by default),
        compinit binds _cacheman to cacheman."""
        site = self.prefix / "share/zsh/site-functions"
        script = ("fpath=(%s $fpath); autoload -Uz compinit; compinit -u -D; "
                  "print -r -- ${_comps[cacheman]}") % site
        proc = run(["zsh", "-f", "-c", script], env=self.shell_env())
        self.assertEqual(proc.returncode, 0, proc)
        self.assertEqual(proc.stdout.decode().strip(), "_cacheman")
        default = run(["zsh", "-f", "-c", "print -l $fpath"], env=self.shell_env())
        self.assertIn("/usr/local/share/zsh/site-functions", default.stdout.decode().split(),
                      "zsh looks in the default prefix's site-functions")

    @unittest.skipUnless(shutil.which("fish"), "fish is not installed")
    def test_fish_finds_it(self):
        """fish reads vendor_completions.d under each dir of XDG_DATA_DIRS (for a command
        that is on PATH)."""
        path = "%s:%s" % (self.prefix / "bin", os.environ.get("PATH", "/usr/bin:/bin"))
        proc = run(["fish", "-c", "complete -C 'cacheman '"],
                   env=self.shell_env(XDG_DATA_DIRS=str(self.prefix / "share"), PATH=path))
        self.assertEqual(proc.returncode, 0, proc)
        candidates = [line.split("\t")[0] for line in proc.stdout.decode().splitlines()]
        for command in ("get", "set", "stats", "invalidate"):
            self.assertIn(command, candidates)


@unittest.skipUnless(CMAKE and (BUILD / "CMakeCache.txt").exists(),
                     "needs cmake and the build tree of CACHEMAN_BIN")
class DebianPackageTest(CachemanTestCase):
    """One `cpack -G DEB` in the build tree, into a temporary directory (-B), for all tests."""

    @classmethod
    def setUpClass(cls):
        if not CPACK or not DPKG_DEB:
            raise unittest.SkipTest("cpack or dpkg-deb is not installed")
        cls.packages = Path(tempfile.mkdtemp(prefix="cacheman-cpack-"))
        cls.out = cls.packages / "out"
        cls.debs_in_build_before = sorted(BUILD.glob("*.deb"))
        cls.cpack = run([CPACK, "-G", "DEB", "-B", str(cls.out)], cwd=str(BUILD))
        cls.debs = sorted(cls.out.glob("*.deb"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.packages, ignore_errors=True)

    def setUp(self):
        super().setUp()
        self.assertTrue((BUILD / "CPackConfig.cmake").exists(),
                        "the build tree has no CPack configuration (cmake/Packaging.cmake)")
        self.assertEqual(self.cpack.returncode, 0,
                         (self.cpack.stdout + self.cpack.stderr).decode(errors="replace"))
        self.assertEqual(len(self.debs), 1, self.debs)
        self.deb = self.debs[0]

    def contents(self):
        proc = run([DPKG_DEB, "-c", str(self.deb)])
        self.assertEqual(proc.returncode, 0, proc)
        files = {}
        for line in proc.stdout.decode().splitlines():
            fields = line.split(None, 5)
            name = fields[5].split(" -> ")[0]
            files[name[2:] if name.startswith("./") else name] = (fields[0], fields[1])
        return files

    def field(self, name):
        proc = run([DPKG_DEB, "-f", str(self.deb), name])
        self.assertEqual(proc.returncode, 0, proc)
        return proc.stdout.decode().strip()

    def test_file_name_and_control(self):
        version = project_version()
        arch = self.field("Architecture")
        if shutil.which("dpkg"):
            native = run(["dpkg", "--print-architecture"]).stdout.decode().strip()
            self.assertEqual(arch, native)
        self.assertEqual(self.deb.name, "cacheman_%s_%s.deb" % (version, arch),
                         "Debian's file name (CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)")
        self.assertEqual(self.field("Package"), "cacheman")
        self.assertEqual(self.field("Version"), version)
        self.assertRegex(self.field("Maintainer"), r"^[^<>]+ <[^<>@\s]+@[^<>\s]+>$")
        self.assertTrue(self.field("Description"))
        self.assertEqual(self.field("Depends"), "", "a static binary depends on nothing")

    def test_contains_binary_man_page_and_completions(self):
        files = self.contents()
        self.assertIn("usr/bin/cacheman", files)
        mode, owner = files["usr/bin/cacheman"]
        self.assertEqual((mode, owner), ("-rwxr-xr-x", "root/root"))
        man = [f for f in ("usr/share/man/man1/cacheman.1", "usr/share/man/man1/cacheman.1.gz")
               if f in files]
        self.assertEqual(len(man), 1, "the man page, once: %s" % sorted(files))
        for name in ("usr/share/bash-completion/completions/cacheman",
                     "usr/share/fish/vendor_completions.d/cacheman.fish"):
            self.assertIn(name, files)
        zsh = [f for f in files if f.startswith("usr/share/zsh/") and f.endswith("/_cacheman")]
        self.assertEqual(len(zsh), 1, sorted(files))
        for name, (mode, owner) in files.items():
            self.assertEqual(owner, "root/root", name)

    @unittest.skipUnless(shutil.which("zsh"), "zsh is not installed")
    def test_zsh_looks_where_the_package_puts_it(self):
        """Debian's zsh has /usr/local/share/zsh/site-functions on fpath, but under /usr only
        vendor-completions: the package's file must be in a directory zsh searches."""
        zsh = [f for f in self.contents()
               if f.startswith("usr/share/zsh/") and f.endswith("/_cacheman")]
        fpath = run(["zsh", "-f", "-c", "print -l $fpath"]).stdout.decode().split()
        self.assertIn("/" + os.path.dirname(zsh[0]), fpath)

    @unittest.skipUnless(shutil.which("fish"), "fish is not installed")
    def test_fish_looks_where_the_package_puts_it(self):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.tmp,
               "XDG_CONFIG_HOME": os.path.join(self.tmp, ".config"),
               "XDG_DATA_HOME": os.path.join(self.tmp, ".local/share")}
        dirs = run(["fish", "-c", "string join \\n $__fish_vendor_completionsdirs"],
                   env=env).stdout.decode().split()
        self.assertIn("/usr/share/fish/vendor_completions.d", dirs)

    def test_extracted_files_work(self):
        root = Path(self.tmp) / "root"
        proc = run([DPKG_DEB, "-x", str(self.deb), str(root)])
        self.assertEqual(proc.returncode, 0, proc)
        proc = run([str(root / "usr/bin/cacheman"), "--version"])
        self.assertEqual(proc.returncode, 0, proc)
        self.assertEqual(proc.stdout.decode(), "cacheman %s\n" % project_version())
        proc = run([str(root / "usr/bin/cacheman"), "set", "c", "k", "v"], env=self.env)
        self.assertEqual(proc.returncode, 0, proc)
        man_dir = root / "usr/share/man/man1"
        if (man_dir / "cacheman.1.gz").exists():
            page = gzip.decompress((man_dir / "cacheman.1.gz").read_bytes())
        else:
            page = (man_dir / "cacheman.1").read_bytes()
        self.assertEqual(page, (SOURCE / "man/cacheman.1").read_bytes())
        self.assertEqual(
            (root / "usr/share/bash-completion/completions/cacheman").read_bytes(),
            (SOURCE / "completions/cacheman.bash").read_bytes())

    def test_output_stays_in_the_given_directory(self):
        self.assertTrue((self.out / "_CPack_Packages").is_dir(), "cpack staged under -B")
        self.assertEqual(sorted(BUILD.glob("*.deb")), self.debs_in_build_before,
                         "cpack -B left a package in the build tree")


if __name__ == "__main__":
    unittest.main()
