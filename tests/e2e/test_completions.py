"""The shell completions, run by real shells, offer the right candidates.

bash (with and without the bash-completion package) is driven interactively on a
pseudo-terminal: readline splits the line and calls the completion function, which is wrapped to
print what it offers. zsh is driven the same way through its zpty module, with compadd wrapped.
fish is asked with `complete -C`, its own completion machinery. Each test runs against a store in
a temporary directory given with --dir, and against the hidden `cacheman __complete` that the
completions ask for namespaces, caches and keys; what they pass for --store (a postgresql:// URL of a
server that is not there, on which __complete finds nothing) is seen in a log of the binary's
arguments. A shell that is not installed is skipped, never passed (.ci/setup installs
bash-completion, zsh and fish).
"""
import os
import pty
import re
import select
import shutil
import subprocess
import time
import unittest

from harness import BIN, CachemanTestCase

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BASH_COMPLETION = os.path.join(ROOT, "completions", "cacheman.bash")
ZSH_COMPLETION = os.path.join(ROOT, "completions", "_cacheman")
FISH_COMPLETION = os.path.join(ROOT, "completions", "cacheman.fish")
BASH_COMPLETION_PACKAGE = "/usr/share/bash-completion/bash_completion"
# A --store URL with '?', '&' and '=' in it, for a server that is not there (no such socket
# directory): `cacheman --store URL __complete ...` prints nothing and exits 0.
STORE_URL = "postgresql://ci@/builds?host=/nowhere&port=1"


def help_commands():
    """The commands that `cacheman --help` lists (the hidden __complete is not among them)."""
    proc = subprocess.run([BIN, "--help"], stdout=subprocess.PIPE, check=True,
                          env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    lines = proc.stdout.decode().splitlines()
    start = lines.index("Subcommands:") + 1
    commands = []
    for line in lines[start:]:
        if not line.strip():
            break
        commands.append(line.split()[0])
    return commands


class PtySession:
    """An interactive program on a pseudo-terminal: write to it, read its output until a mark."""

    def __init__(self, argv, env, cwd):
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     cwd=cwd, start_new_session=True)
        os.close(slave)
        self.buffer = b""

    def write(self, text):
        os.write(self.master, text.encode())

    def read_until(self, mark, timeout=30):
        """The output up to and including the first occurrence of `mark` (which is consumed)."""
        deadline = time.monotonic() + timeout
        mark = mark.encode()
        while True:
            index = self.buffer.find(mark)
            if index >= 0:
                end = index + len(mark)
                out, self.buffer = self.buffer[:end], self.buffer[end:]
                return out.decode("utf-8", "replace")
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("timed out waiting for %r; output so far: %r"
                                     % (mark, self.buffer[-2000:]))
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError("the shell ended; output: %r" % self.buffer[-2000:])
                self.buffer += chunk

    def close(self):
        try:
            self.proc.kill()
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)
        os.close(self.master)


class CompletionTestCase(CachemanTestCase):
    """A store with a few caches and keys, and `cacheman` on PATH as the binary under test."""

    @classmethod
    def setUpClass(cls):
        cls.commands = help_commands()

    def setUp(self):
        super().setUp()
        self.put_binary_on_path()  # the completions call `cacheman`
        os.makedirs(self.env["HOME"])
        self.store = os.path.join(self.tmp, "completion-store")
        for cache, key in (("raw", "page 1"), ("raw", "k"), ("report", "total"),
                           ("my cache", "k"), ("colons", "a:b")):
            self.ok("--dir", self.store, "set", cache, key, "v")
        self.ok("--dir", self.store, "-n", "other", "set", "elsewhere", "there", "v")
        # A cache with a builder that has never run: completing its keys must not run it.
        self.marker = os.path.join(self.tmp, "builder-ran")
        self.ok("--dir", self.store, "create", "--builder", "touch '%s'" % self.marker, "lazy")

    def log_invocations(self):
        """Makes `cacheman` on PATH a script that logs its arguments, then runs the binary under
        test; returns a function that gives the argument lists of the `__complete` calls logged
        so far (and clears the log)."""
        log = os.path.join(self.tmp, "invocations")
        link = os.path.join(self.tmp, "bin", "cacheman")
        os.unlink(link)
        with open(link, "w") as f:
            f.write("#!/bin/sh\nprintf '%%s\\0' \"$@\" >> '%s'\necho >> '%s'\nexec '%s' \"$@\"\n"
                    % (log, log, BIN))
        os.chmod(link, 0o755)

        def calls():
            try:
                with open(log, "rb") as f:
                    lines = f.read().decode().splitlines()
            except FileNotFoundError:
                return []
            os.unlink(log)
            return [args for args in (line.split("\0")[:-1] for line in lines)
                    if "__complete" in args]
        return calls

    def check_store_url(self, complete, lines):
        """Each of `lines` (LINE, WORDS) completes to nothing, after asking `cacheman WORDS`:
        the --store URL reaches __complete as one word, without its shell quoting."""
        calls = self.log_invocations()
        for line, words in lines:
            with self.subTest(line=line):
                self.assertEqual(complete(line), [], line)
                self.assertEqual(calls(), [words], line)


class CompleteCommand(CompletionTestCase):
    """The hidden `cacheman __complete` that the completions ask."""

    def complete(self, *args):
        r = self.cm(*args)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.err, b"", r)
        return r.text.splitlines()

    def test_commands_are_those_of_help(self):
        self.assertEqual(self.complete("__complete", "commands"), self.commands)
        self.assertNotIn("__complete", self.commands)

    def test_caches_keys_and_namespaces_of_the_selected_store(self):
        self.assertEqual(self.complete("--dir", self.store, "__complete", "caches"),
                         ["colons", "lazy", "my cache", "raw", "report"])
        self.assertEqual(self.complete("--dir", self.store, "__complete", "keys", "raw"),
                         ["k", "page 1"])
        self.assertEqual(self.complete("--dir", self.store, "-n", "other", "__complete", "caches"),
                         ["elsewhere"])
        self.assertEqual(self.complete("--dir", self.store, "__complete", "namespaces"),
                         ["default", "other"])
        # Without --dir, the store of the environment.
        self.ok("set", "from-env", "k", "v")
        self.assertEqual(self.complete("__complete", "caches"), ["from-env"])

    def test_silent_on_what_does_not_exist_and_creates_nothing(self):
        missing = os.path.join(self.tmp, "missing")
        self.assertEqual(self.complete("--dir", missing, "__complete", "caches"), [])
        self.assertEqual(self.complete("--dir", missing, "__complete", "namespaces"), [])
        self.assertEqual(self.complete("--dir", self.store, "__complete", "keys", "nope"), [])
        self.assertEqual(self.complete("--dir", self.store, "-n", "bad/name", "__complete",
                                       "caches"), [])
        self.assertFalse(os.path.exists(missing))

    def test_runs_no_hook(self):
        self.assertEqual(self.complete("--dir", self.store, "__complete", "keys", "lazy"), [])
        self.assertFalse(os.path.exists(self.marker))


def help_options(*args):
    """The option names of the Options section of `cacheman [help CMD]` (-n,--namespace -> both)."""
    proc = subprocess.run([BIN, *args], stdout=subprocess.PIPE, check=True,
                          env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    lines = proc.stdout.decode().splitlines()
    names = set()
    for line in lines[lines.index("Options:") + 1:]:
        if not line.strip():
            break
        if line.split()[0].startswith("-"):  # not a wrapped description
            names.update(line.split()[0].split(","))
    return names


# What each shell must offer for `cacheman -` and `cacheman CMD -`: exactly the options the
# binary has. Global options come before the command (CONTRACT.md); all but --version are
# accepted after it too, except after run, whose options are its own.
GLOBAL_OPTIONS = help_options("--help")
GLOBALS_AFTER = GLOBAL_OPTIONS - {"--version", "-h", "--help"}


def expected_options(command):
    if command is None:
        return sorted(GLOBAL_OPTIONS)
    own = help_options("help", command)
    return sorted(own if command == "run" else own | GLOBALS_AFTER)


class OptionsOfEveryCommand:
    """Mixin: `complete(line)` offers exactly the binary's options, no more, no fewer."""

    def check_options(self, complete):
        for command in [None] + help_commands():
            with self.subTest(command=command):
                line = "cacheman %s-" % ("" if command is None else command + " ")
                # "-" and "--" (the end of run's options, offered by zsh) are not options.
                offered = sorted(o for o in complete(line)
                                 if o.startswith("-") and o not in ("-", "--"))
                self.assertEqual(offered, expected_options(command), line)


class Bash(CompletionTestCase, OptionsOfEveryCommand):
    WRAPPER = r"""
        # The prompt says when readline is ready for input: typed before, a TAB would reach
        # the terminal's line discipline instead.
        PS1='<pr''ompt>' PS2='' PROMPT_COMMAND=''
        bind 'set bell-style none' 2>/dev/null
        [ "$CM_PACKAGE" = 1 ] && source %s
        source %s
        # Prints what _cacheman offers, one '<hit>' line each, then lets readline use it.
        _cacheman_wrapped() {
            _cacheman "$@"
            local c
            for c in "${COMPREPLY[@]}"; do printf '\n<h''it>%%s\n' "$c"; done
        }
        complete -F _cacheman_wrapped cacheman
    """

    def bash_session(self, with_package):
        if not shutil.which("bash"):
            self.skipTest("bash is not installed")
        if with_package and not os.path.exists(BASH_COMPLETION_PACKAGE):
            self.skipTest("bash-completion is not installed")
        env = dict(self.env, TERM="dumb", INPUTRC="/dev/null",
                   CM_PACKAGE="1" if with_package else "0")
        session = PtySession(["bash", "--norc", "--noprofile", "-i"], env, self.tmp)
        self.addCleanup(session.close)
        script = os.path.join(self.tmp, "wrapper.bash")
        with open(script, "w") as f:
            f.write(self.WRAPPER % (BASH_COMPLETION_PACKAGE, BASH_COMPLETION))
        session.write("source %s; echo '<rea''dy>'\n" % script)
        session.read_until("<ready>")
        session.read_until("<prompt>")
        return session

    def bash_complete(self, session, line):
        """What the completion offers for `line`, the cursor at its end, after one TAB."""
        # TAB completes; ^U then empties the line (whatever TAB inserted) for the next one.
        session.write(line + "\t\x15echo '<do''ne>'\n")
        out = session.read_until("<done>")
        session.read_until("<prompt>")
        return sorted({m.rstrip("\r") for m in re.findall(r"<hit>([^\n]*)", out)})

    def check_common(self, session):
        complete = lambda line: self.bash_complete(session, line)
        store = self.store
        self.assertEqual(complete("cacheman "), sorted(self.commands))
        self.assertEqual(complete("cacheman inv"), ["invalidate"])
        self.assertIn("--ttl", complete("cacheman set --"))
        self.assertIn("--dry-run", complete("cacheman invalidate --"))
        self.assertIn("--format", complete("cacheman graph --"))
        self.assertIn("--limit", complete("cacheman log --"))
        self.assertNotIn("--ttl", complete("cacheman get --"))
        self.assertEqual(complete("cacheman graph --format "), ["dot", "json"])
        self.assertEqual(complete("cacheman --dir %s get " % store),
                         ["colons", "lazy", "my\\ cache", "raw", "report"])
        self.assertEqual(complete("cacheman --dir %s get rep" % store), ["report"])
        self.assertEqual(complete("cacheman --dir %s -n other keys " % store), ["elsewhere"])
        self.assertEqual(complete("cacheman keys --dir %s --namespace other " % store),
                         ["elsewhere"])
        self.assertEqual(complete("cacheman --dir %s depend raw rep" % store), ["report"])
        self.assertEqual(complete("cacheman --dir %s stats r" % store), ["raw", "report"])
        self.assertEqual(complete("cacheman --dir %s why rep" % store), ["report"])
        # Keys after the cache name of get, del and invalidate.
        self.assertEqual(complete("cacheman --dir %s get raw " % store), ["k", "page\\ 1"])
        self.assertEqual(complete("cacheman --dir %s get raw pa" % store), ["page\\ 1"])
        self.assertEqual(complete("cacheman --dir %s get my\\ cache " % store), ["k"])
        self.assertEqual(complete("cacheman --dir %s get 'my cache' " % store), ["k"])
        self.assertEqual(complete("cacheman --dir %s del raw k " % store), ["k", "page\\ 1"])
        self.assertEqual(complete("cacheman --dir %s invalidate --dry-run raw " % store),
                         ["k", "page\\ 1"])
        self.assertEqual(complete("cacheman --dir %s -n other get elsewhere " % store),
                         ["there"])
        self.assertEqual(complete("cacheman --dir %s set raw " % store), [])
        self.assertEqual(complete("cacheman --dir %s get lazy " % store), [])
        self.assertFalse(os.path.exists(self.marker), "completing keys ran a builder")
        self.assertEqual(complete("cacheman --dir %s -n " % store), ["default", "other"])
        self.assertEqual(complete("cacheman help dep"), ["depend", "deps"])
        # Without --dir, the store of the environment (CACHEMAN_DIR).
        self.ok("set", "from-env", "k", "v")
        self.assertEqual(complete("cacheman get from"), ["from-env"])
        # run: its options, a cache for --cache, then the program; no global option after it.
        self.assertIn("--watch", complete("cacheman run --"))
        self.assertEqual(complete("cacheman run --j"), [])
        self.assertEqual(complete("cacheman --dir %s run --cache rep" % store), ["report"])
        self.assertIn("echo", complete("cacheman run --ttl 1d -- ech"))
        self.assertIn("echo", complete("cacheman run --watch x ech"))

    def check_store(self, session):
        """--store: its URL is not completed, and is passed to __complete (the URL is quoted:
        readline splits words at ':' without bash-completion to join them)."""
        complete = lambda line: self.bash_complete(session, line)
        self.assertEqual(complete("cacheman --store "), [])
        self.assertEqual(complete("cacheman --store 'postgresql://h/db?x=1' "), sorted(self.commands))
        self.assertIn("--store", complete("cacheman --st"))
        self.assertIn("--store", complete("cacheman get --st"))
        url = STORE_URL
        self.check_store_url(complete, [
            ("cacheman --store '%s' get " % url, ["--store=" + url, "__complete", "caches"]),
            ('cacheman --store "%s" -n other keys ' % url,
             ["--store=" + url, "--namespace=other", "__complete", "caches"]),
            ("cacheman keys --store '%s' " % url, ["--store=" + url, "__complete", "caches"]),
            ("cacheman --store '%s' get raw " % url, ["--store=" + url, "__complete", "keys", "raw"]),
            ("cacheman --store '%s' run --cache rep" % url,
             ["--store=" + url, "__complete", "caches"]),
        ])

    def test_bash_alone(self):
        session = self.bash_session(with_package=False)
        self.check_common(session)
        self.check_store(session)

    def test_bash_offers_exactly_the_options_of_each_command(self):
        session = self.bash_session(with_package=False)
        self.check_options(lambda line: self.bash_complete(session, line))

    def test_bash_with_bash_completion(self):
        session = self.bash_session(with_package=True)
        self.check_common(session)
        complete = lambda line: self.bash_complete(session, line)
        # The package joins the words that readline splits at '=' and ':'.
        self.assertEqual(complete("cacheman --dir=%s get ra" % self.store), ["raw"])
        self.assertEqual(complete("cacheman --dir=%s --namespace=other get " % self.store),
                         ["elsewhere"])
        self.assertEqual(complete("cacheman --dir %s get colons a:" % self.store), ["b"])
        self.check_store(session)
        self.assertEqual(complete("cacheman --store="), [])
        url, escaped = STORE_URL, STORE_URL.replace("&", "\\&")
        self.check_store_url(complete, [
            ("cacheman --store %s get " % escaped, ["--store=" + url, "__complete", "caches"]),
            ("cacheman --store=%s --namespace=other get " % escaped,
             ["--store=" + url, "--namespace=other", "__complete", "caches"]),
            ("cacheman --store='%s' get raw " % url,
             ["--store=" + url, "__complete", "keys", "raw"]),
        ])


class Fish(CompletionTestCase, OptionsOfEveryCommand):
    def fish_complete(self, line):
        if not shutil.which("fish"):
            self.skipTest("fish is not installed")
        script = 'source %s; complete -C"$argv[1]"' % FISH_COMPLETION
        proc = subprocess.run(["fish", "--no-config", "-c", script, line],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=self.env, cwd=self.tmp, timeout=60)
        self.assertEqual(proc.returncode, 0, proc)
        self.assertEqual(proc.stderr, b"", proc)
        out = [line for line in proc.stdout.decode().splitlines() if line]
        return sorted(entry.split("\t")[0] for entry in out)

    def test_fish_offers_exactly_the_options_of_each_command(self):
        self.check_options(self.fish_complete)

    def test_fish(self):
        complete = self.fish_complete
        store = self.store
        self.assertEqual(complete("cacheman "), sorted(self.commands))
        self.assertIn("--ttl", complete("cacheman set --"))
        self.assertIn("--format", complete("cacheman graph --"))
        self.assertIn("--limit", complete("cacheman log --"))
        self.assertNotIn("--ttl", complete("cacheman get --"))
        self.assertEqual(complete("cacheman graph --format "), ["dot", "json"])
        self.assertEqual(complete("cacheman --dir %s get " % store),
                         ["colons", "lazy", "my cache", "raw", "report"])
        self.assertEqual(complete("cacheman --dir=%s -n other keys " % store), ["elsewhere"])
        self.assertEqual(complete("cacheman --dir %s depend raw rep" % store), ["report"])
        self.assertEqual(complete("cacheman --dir %s stats r" % store), ["raw", "report"])
        self.assertEqual(complete("cacheman --dir %s get raw " % store), ["k", "page 1"])
        self.assertEqual(complete("cacheman --dir %s get 'my cache' " % store), ["k"])
        self.assertEqual(complete("cacheman --dir %s del raw k " % store), ["k", "page 1"])
        self.assertEqual(complete("cacheman --dir %s invalidate --dry-run raw " % store),
                         ["k", "page 1"])
        self.assertEqual(complete("cacheman --dir %s --namespace other get elsewhere " % store),
                         ["there"])
        self.assertEqual(complete("cacheman --dir %s set raw " % store), [])
        self.assertEqual(complete("cacheman --dir %s get lazy " % store), [])
        self.assertFalse(os.path.exists(self.marker), "completing keys ran a builder")
        self.assertEqual(complete("cacheman --dir %s -n " % store), ["default", "other"])
        self.assertIn("--watch", complete("cacheman run --"))
        self.assertEqual(complete("cacheman run --j"), [])
        self.assertEqual(complete("cacheman --dir %s run --cache rep" % store), ["report"])
        self.assertIn("echo", complete("cacheman run --ttl 1d -- ech"))

    def test_fish_store(self):
        complete = self.fish_complete
        self.assertEqual(complete("cacheman --store "), [])
        self.assertEqual(complete("cacheman --store="), [])
        self.assertIn("--store", complete("cacheman get --st"))
        url, escaped = STORE_URL, STORE_URL.replace("&", "\\&").replace("?", "\\?")
        self.check_store_url(complete, [
            ("cacheman --store '%s' get " % url, ["--store=" + url, "__complete", "caches"]),
            ("cacheman --store %s get " % escaped, ["--store=" + url, "__complete", "caches"]),
            ("cacheman --store='%s' -n other keys " % url,
             ["--store=" + url, "--namespace=other", "__complete", "caches"]),
            ('cacheman keys --store "%s" ' % url, ["--store=" + url, "__complete", "caches"]),
            ("cacheman --store '%s' get raw " % url, ["--store=" + url, "__complete", "keys", "raw"]),
            ("cacheman --store '%s' run --cache rep" % url,
             ["--store=" + url, "__complete", "caches"]),
        ])


class Zsh(CompletionTestCase, OptionsOfEveryCommand):
    ZSH_CAPTURE = r"""
        # Runs an interactive zsh on a pseudo-terminal with the completion functions of $1 (and
        # compinit's dump file $3), types $2 and TAB, and prints every match the completion
        # system offers (compadd is wrapped to print them).
        zmodload zsh/zpty || exit 1
        zpty z zsh -f -i
        zpty -w z "PS1='' PROMPT='' RPROMPT=''"
        zpty -w z "fpath=(${(q)1} \$fpath); autoload -U compinit; compinit -u -d ${(q)3}"
        zpty -w z 'compadd() {
          if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
          local -a hits; builtin compadd -A hits "$@"; local r=$?
          (( $#hits )) && print -rl -- "<hit>"${^hits}
          builtin compadd "$@"
          return r
        }'
        zpty -w z 'finish() { print -r -- "<done>"; zle kill-whole-line }; zle -N finish'
        zpty -w z 'bindkey "^X" finish; print -r -- "<rea""dy>"'
        zpty -r z line '*<ready>*' || exit 1
        zpty -w -n z "$2"$'\t\x18'
        while zpty -r z line; do
          [[ $line == *'<done>'* ]] && break
          [[ $line == *'<hit>'* ]] && print -r -- "${${line##*<hit>}%%$'\r'}"
        done
        zpty -d z
    """

    def zsh_complete(self, line):
        if not shutil.which("zsh"):
            self.skipTest("zsh is not installed")
        proc = subprocess.run(["zsh", "-f", "-c", self.ZSH_CAPTURE, "zsh",
                               os.path.dirname(ZSH_COMPLETION), line,
                               os.path.join(self.tmp, "zcompdump")],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=self.env, cwd=self.tmp, timeout=60)
        self.assertEqual(proc.returncode, 0, proc)
        return sorted({line for line in proc.stdout.decode().splitlines() if line})

    def test_zsh_offers_exactly_the_options_of_each_command(self):
        self.check_options(self.zsh_complete)

    def test_zsh(self):
        complete = self.zsh_complete
        store = self.store
        self.assertEqual(complete("cacheman "), sorted(self.commands))
        self.assertIn("--ttl", complete("cacheman set --"))
        self.assertIn("--format", complete("cacheman graph --"))
        self.assertIn("--limit", complete("cacheman log --"))
        self.assertNotIn("--ttl", complete("cacheman get --"))
        self.assertEqual(complete("cacheman graph --format "), ["dot", "json"])
        self.assertEqual(complete("cacheman --dir %s get " % store),
                         ["colons", "lazy", "my\\ cache", "raw", "report"])
        self.assertEqual(complete("cacheman --dir=%s -n other keys " % store), ["elsewhere"])
        self.assertEqual(complete("cacheman --dir %s depend raw " % store),
                         ["colons", "lazy", "my\\ cache", "raw", "report"])
        self.assertEqual(complete("cacheman --dir %s stats r" % store), ["raw", "report"])
        self.assertEqual(complete("cacheman --dir %s get raw " % store), ["k", "page\\ 1"])
        self.assertEqual(complete("cacheman --dir %s get my\\ cache " % store), ["k"])
        self.assertEqual(complete("cacheman --dir %s del raw k " % store), ["k", "page\\ 1"])
        self.assertEqual(complete("cacheman --dir %s invalidate --dry-run raw " % store),
                         ["k", "page\\ 1"])
        self.assertEqual(complete("cacheman --dir %s -n other get elsewhere " % store),
                         ["there"])
        self.assertEqual(complete("cacheman --dir %s get lazy " % store), [])
        self.assertFalse(os.path.exists(self.marker), "completing keys ran a builder")
        self.assertEqual(complete("cacheman --dir %s -n " % store), ["default", "other"])
        self.assertIn("--watch", complete("cacheman run --"))
        self.assertEqual(complete("cacheman --dir %s run --cache rep" % store), ["report"])
        self.assertIn("echo", complete("cacheman run --ttl 1d -- ech"))

    def test_zsh_store(self):
        complete = self.zsh_complete
        self.assertEqual(complete("cacheman --store "), [])
        self.assertEqual(complete("cacheman --store="), [])
        self.assertIn("--store", complete("cacheman get --st"))
        url, escaped = STORE_URL, STORE_URL.replace("&", "\\&").replace("?", "\\?")
        self.check_store_url(complete, [
            ("cacheman --store '%s' get " % url, ["--store=" + url, "__complete", "caches"]),
            ("cacheman --store %s get " % escaped, ["--store=" + url, "__complete", "caches"]),
            ("cacheman --store='%s' -n other keys " % url,
             ["--store=" + url, "--namespace=other", "__complete", "caches"]),
            ('cacheman keys --store "%s" ' % url, ["--store=" + url, "__complete", "caches"]),
            ("cacheman --store '%s' get raw " % url, ["--store=" + url, "__complete", "keys", "raw"]),
            ("cacheman --store '%s' run --cache rep" % url,
             ["--store=" + url, "__complete", "caches"]),
        ])


if __name__ == "__main__":
    unittest.main()
