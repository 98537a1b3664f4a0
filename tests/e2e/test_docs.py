"""The man page and the shell completions stay in sync with the binary.

The commands and options are read from the binary's own help (`cacheman --help`, `cacheman help
CMD`), never from a list kept here, so a command added to cli/Commands.cpp fails this test until
man/cacheman.1.scd and every file in completions/ know it, and a command documented there but not
in the binary (say `run`, before it exists) fails it too.

Tools: groff (groff-base) checks the roff, scdoc checks that man/cacheman.1 is generated from
man/cacheman.1.scd, bash-completion, zsh and fish run the completions as a shell would. A check
whose tool is missing is skipped, never passed.
"""
import datetime
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import BIN, CachemanTestCase

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MAN_SOURCE = os.path.join(ROOT, "man", "cacheman.1.scd")
MAN_ROFF = os.path.join(ROOT, "man", "cacheman.1")
BASH_COMPLETION = os.path.join(ROOT, "completions", "cacheman.bash")
ZSH_COMPLETION = os.path.join(ROOT, "completions", "_cacheman")
FISH_COMPLETION = os.path.join(ROOT, "completions", "cacheman.fish")
BASH_COMPLETION_PACKAGE = "/usr/share/bash-completion/bash_completion"

MAN_SECTIONS = [
    "NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "GLOBAL OPTIONS", "DURATIONS", "EXPORT FORMAT",
    "ENVIRONMENT", "FILES", "EXIT STATUS", "CONCURRENCY AND DURABILITY", "EXAMPLES", "SECURITY",
    "LIMITS", "SEE ALSO",
]


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def help_section(text, title):
    """The lines of one section of CLI11's help ("Options:", "Subcommands:"), up to a blank line."""
    lines = text.splitlines()
    try:
        start = lines.index(title) + 1
    except ValueError:
        return []
    out = []
    for line in lines[start:]:
        if not line.strip():
            break
        out.append(line)
    return out


def options_in(text):
    """Option names of a help text's Options section: '  -n,--namespace TEXT  ...' -> -n, --namespace."""
    names = []
    for line in help_section(text, "Options:"):
        first = line.split()[0]
        names += [name for name in first.split(",") if name.startswith("-")]
    return names


def man_section(source, title):
    """The text of one '# TITLE' section of the scdoc source."""
    match = re.search(r"^# %s\n(.*?)(?=^# |\Z)" % re.escape(title), source, re.M | re.S)
    return match.group(1) if match else ""


def as_word(name):
    """A regex matching an option or command name that is not part of a longer one."""
    return r"(?<![\w-])%s(?![\w-])" % re.escape(name)


class DocsTestCase(CachemanTestCase):
    @classmethod
    def setUpClass(cls):
        def run(*args):
            proc = subprocess.run([BIN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
            assert proc.returncode == 0, (args, proc)
            return proc.stdout.decode()

        cls.help = run("--help")
        cls.commands = [line.split()[0] for line in help_section(cls.help, "Subcommands:")]
        cls.global_options = options_in(cls.help)
        cls.command_options = {c: options_in(run("help", c)) for c in cls.commands}

    def setUp(self):
        super().setUp()
        # PATH first holds the binary under test, as 'cacheman', for the completions to call.
        bindir = os.path.join(self.tmp, "bin")
        os.mkdir(bindir)
        os.symlink(BIN, os.path.join(bindir, "cacheman"))
        self.env["PATH"] = bindir + os.pathsep + self.env["PATH"]

    def all_options(self):
        options = set(self.global_options)
        for names in self.command_options.values():
            options.update(names)
        return sorted(options)


class HelpIsParsed(DocsTestCase):
    """The other tests compare against what is read here; reading nothing would pass them all."""

    def test_help_lists_the_commands_and_options(self):
        for command in ("set", "get", "invalidate", "help"):
            self.assertIn(command, self.commands)
        for option in ("--dir", "-n", "--namespace", "--json", "-q", "-v", "--version"):
            self.assertIn(option, self.global_options)
        self.assertIn("--ttl", self.command_options["set"])
        self.assertIn("--dry-run", self.command_options["invalidate"])


class ManPage(DocsTestCase):
    def setUp(self):
        super().setUp()
        self.source = read(MAN_SOURCE)

    def test_has_every_section_in_order(self):
        titles = re.findall(r"^# (.+)$", self.source, re.M)
        self.assertEqual(titles, MAN_SECTIONS)

    def test_commands_section_describes_exactly_the_commands_of_help(self):
        section = man_section(self.source, "COMMANDS")
        # A command's entry is a line that starts with its name in bold: '*set* [*--ttl* ...'.
        documented = re.findall(r"^\*([a-z][a-z-]*)\*", section, re.M)
        for command in self.commands:
            self.assertIn(command, documented, "command '%s' missing from COMMANDS" % command)
        for command in documented:
            self.assertIn(command, self.commands,
                          "COMMANDS describes '%s', which 'cacheman --help' does not list" % command)

    def test_every_option_is_documented(self):
        commands = man_section(self.source, "COMMANDS")
        globals_ = man_section(self.source, "GLOBAL OPTIONS")
        for command, options in self.command_options.items():
            for option in options:
                self.assertTrue("*%s*" % option in commands,
                                "option %s of '%s' missing from COMMANDS" % (option, command))
        for option in self.global_options:
            self.assertTrue("*%s*" % option in globals_,
                            "option %s missing from GLOBAL OPTIONS" % option)

    def test_documents_the_environment(self):
        section = man_section(self.source, "ENVIRONMENT")
        for variable in ("CACHEMAN_DIR", "CACHEMAN_NAMESPACE", "XDG_CACHE_HOME", "HOME",
                         "CACHEMAN_BUSY_TIMEOUT"):
            self.assertTrue("*%s*" % variable.replace("_", "\\_") in section,
                            "%s missing from ENVIRONMENT" % variable)

    def test_groff_reports_nothing(self):
        groff = shutil.which("groff")
        if not groff:
            self.skipTest("groff is not installed (Debian: groff-base)")
        proc = subprocess.run([groff, "-man", "-ww", "-z", MAN_ROFF], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
        self.assertEqual(proc.returncode, 0, proc.stdout)
        self.assertEqual(proc.stdout.decode(), "")

    def test_committed_roff_is_generated_from_the_source(self):
        scdoc = shutil.which("scdoc")
        if not scdoc:
            self.skipTest("scdoc is not installed")
        committed = read(MAN_ROFF)
        # scdoc dates the page (.TH) with SOURCE_DATE_EPOCH, else today: regenerate with the
        # committed date so that only the content is compared.
        date = re.search(r'^\.TH "cacheman" "1" "(\d{4}-\d{2}-\d{2})"', committed, re.M)
        self.assertIsNotNone(date, "no .TH line with a date in man/cacheman.1")
        day = datetime.datetime.strptime(date.group(1), "%Y-%m-%d")
        epoch = int(day.replace(tzinfo=datetime.timezone.utc).timestamp())
        with open(MAN_SOURCE, "rb") as source:
            proc = subprocess.run([scdoc], stdin=source, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE,
                                  env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                                       "SOURCE_DATE_EPOCH": str(epoch)})
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())

        def content(roff):
            # The first line names the scdoc version, which may differ from the committer's.
            return [line for line in roff.splitlines() if not line.startswith('.\\" Generated by')]

        self.assertEqual(content(proc.stdout.decode()), content(committed),
                         "man/cacheman.1 is stale: run 'scdoc < man/cacheman.1.scd > man/cacheman.1'")


class CompletionFilesNameEverything(DocsTestCase):
    """Each completion file knows every command and every option of the binary."""

    def check_options(self, text, path, pattern=as_word):
        for option in self.all_options():
            self.assertTrue(re.search(pattern(option), text),
                            "option %s missing from %s" % (option, path))

    def test_bash(self):
        text = read(BASH_COMPLETION)
        match = re.search(r"^\s*local commands='([^']*)'", text, re.M)
        self.assertIsNotNone(match, "no commands list in %s" % BASH_COMPLETION)
        self.assertEqual(sorted(match.group(1).split()), sorted(self.commands))
        self.check_options(text, BASH_COMPLETION)

    def test_zsh(self):
        text = read(ZSH_COMPLETION)
        body = re.search(r"^_cacheman_commands\(\) \{\n(.*?)^\}", text, re.M | re.S)
        self.assertIsNotNone(body, "no _cacheman_commands in %s" % ZSH_COMPLETION)
        described = re.findall(r"^\s*'([a-z-]+):", body.group(1), re.M)
        self.assertEqual(sorted(described), sorted(self.commands))
        self.check_options(text, ZSH_COMPLETION)

    def test_fish(self):
        text = read(FISH_COMPLETION)
        offered = re.findall(r"-n __cacheman_no_command -a ([a-z-]+) ", text)
        self.assertEqual(sorted(offered), sorted(self.commands))

        def fish_option(option):
            if option.startswith("--"):
                return r"(?<![\w-])-l %s(?![\w-])" % re.escape(option[2:])
            return r"(?<![\w-])-s %s(?![\w-])" % re.escape(option[1:])

        self.check_options(text, FISH_COMPLETION, fish_option)


class CompletionsRun(DocsTestCase):
    """The completions, run by each shell, offer commands, options and the store's cache names."""

    def setUp(self):
        super().setUp()
        self.store = os.path.join(self.tmp, "completion-store")
        for cache in ("raw", "report", "my cache"):
            self.ok("--dir", self.store, "set", cache, "k", "v")
        self.ok("--dir", self.store, "-n", "other", "set", "elsewhere", "k", "v")

    def run_shell(self, argv, **kwargs):
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=self.env, cwd=self.tmp, timeout=60,
                              **kwargs)
        self.assertEqual(proc.returncode, 0, proc)
        return [line for line in proc.stdout.decode().splitlines() if line]

    # --- bash ---------------------------------------------------------------------------------
    def bash_complete(self, words, with_package):
        """COMPREPLY for the command line `words` (the last one being completed)."""
        script = """
            [ "$1" = 1 ] && source %s
            source %s
            shift
            COMP_WORDS=("$@")
            COMP_CWORD=$(($# - 1))
            COMP_LINE="$*"
            COMP_POINT=${#COMP_LINE}
            _cacheman cacheman "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
            printf '%%s\\n' "${COMPREPLY[@]}"
        """ % (BASH_COMPLETION_PACKAGE, BASH_COMPLETION)
        return self.run_shell(["bash", "-c", script, "bash", "1" if with_package else "0",
                               *words])

    def check_bash(self, with_package):
        complete = lambda *words: self.bash_complete(list(words), with_package)
        self.assertEqual(sorted(complete("cacheman", "")), sorted(self.commands))
        self.assertEqual(complete("cacheman", "inv"), ["invalidate"])
        self.assertIn("--ttl", complete("cacheman", "set", "--"))
        self.assertIn("--dry-run", complete("cacheman", "invalidate", "--"))
        self.assertNotIn("--ttl", complete("cacheman", "get", "--"))
        self.assertEqual(sorted(complete("cacheman", "--dir", self.store, "get", "")),
                         ["my\\ cache", "raw", "report"])
        self.assertEqual(complete("cacheman", "--dir", self.store, "get", "rep"), ["report"])
        self.assertEqual(complete("cacheman", "--dir", self.store, "-n", "other", "keys", ""),
                         ["elsewhere"])
        self.assertEqual(complete("cacheman", "keys", "--dir", self.store, "--namespace",
                                  "other", ""), ["elsewhere"])
        self.assertEqual(complete("cacheman", "--dir", self.store, "depend", "raw", "rep"),
                         ["report"])
        self.assertEqual(complete("cacheman", "--dir", self.store, "get", "raw", ""), [])
        self.assertEqual(sorted(complete("cacheman", "--dir", self.store, "-n", "")),
                         ["default", "other"])
        self.assertEqual(complete("cacheman", "help", "dep"), ["depend", "deps"])
        # Without --dir, the store of the environment (CACHEMAN_DIR) is listed.
        self.ok("set", "from-env", "k", "v")
        self.assertEqual(complete("cacheman", "get", "from"), ["from-env"])
        # run: its options, a cache for --cache, then the program; no global option after it.
        self.assertIn("--watch", complete("cacheman", "run", "--"))
        self.assertEqual(complete("cacheman", "run", "--j"), [])
        self.assertEqual(complete("cacheman", "--dir", self.store, "run", "--cache", "rep"),
                         ["report"])
        self.assertIn("echo", complete("cacheman", "run", "--ttl", "1d", "--", "ech"))
        self.assertIn("echo", complete("cacheman", "run", "--watch", "x", "ech"))

    def test_bash_alone(self):
        self.check_bash(with_package=False)

    def test_bash_with_bash_completion(self):
        if not os.path.exists(BASH_COMPLETION_PACKAGE):
            self.skipTest("bash-completion is not installed")
        self.check_bash(with_package=True)
        # The package's word splitting also gives the --dir=DIR spelling.
        self.assertEqual(self.bash_complete(["cacheman", "--dir=" + self.store, "get", "ra"],
                                            True), ["raw"])

    # --- fish ---------------------------------------------------------------------------------
    def fish_complete(self, line):
        if not shutil.which("fish"):
            self.skipTest("fish is not installed")
        script = 'source %s; complete -C"$argv[1]"' % FISH_COMPLETION
        out = self.run_shell(["fish", "--no-config", "-c", script, line])
        return [entry.split("\t")[0] for entry in out]

    def test_fish(self):
        self.assertEqual(sorted(self.fish_complete("cacheman ")), sorted(self.commands))
        self.assertIn("--ttl", self.fish_complete("cacheman set --"))
        self.assertNotIn("--ttl", self.fish_complete("cacheman get --"))
        self.assertEqual(sorted(self.fish_complete("cacheman --dir %s get " % self.store)),
                         ["my cache", "raw", "report"])
        self.assertEqual(self.fish_complete("cacheman --dir=%s -n other keys " % self.store),
                         ["elsewhere"])
        self.assertEqual(self.fish_complete("cacheman --dir %s depend raw rep" % self.store),
                         ["report"])
        self.assertEqual(self.fish_complete("cacheman --dir %s get raw " % self.store), [])
        self.assertIn("--watch", self.fish_complete("cacheman run --"))
        self.assertEqual(self.fish_complete("cacheman run --j"), [])
        self.assertEqual(self.fish_complete("cacheman --dir %s run --cache rep" % self.store),
                         ["report"])
        self.assertIn("echo", self.fish_complete("cacheman run --ttl 1d -- ech"))

    # --- zsh ----------------------------------------------------------------------------------
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
        out = self.run_shell(["zsh", "-f", "-c", self.ZSH_CAPTURE, "zsh",
                              os.path.dirname(ZSH_COMPLETION), line,
                              os.path.join(self.tmp, "zcompdump")])
        return sorted(set(out))

    def test_zsh(self):
        self.assertEqual(self.zsh_complete("cacheman "), sorted(self.commands))
        self.assertIn("--ttl", self.zsh_complete("cacheman set --"))
        self.assertNotIn("--ttl", self.zsh_complete("cacheman get --"))
        self.assertEqual(self.zsh_complete("cacheman --dir %s get " % self.store),
                         ["my\\ cache", "raw", "report"])
        self.assertEqual(self.zsh_complete("cacheman --dir=%s -n other keys " % self.store),
                         ["elsewhere"])
        self.assertEqual(self.zsh_complete("cacheman --dir %s depend raw " % self.store),
                         ["my\\ cache", "raw", "report"])
        self.assertIn("--watch", self.zsh_complete("cacheman run --"))
        self.assertEqual(self.zsh_complete("cacheman --dir %s run --cache rep" % self.store),
                         ["report"])
        self.assertIn("echo", self.zsh_complete("cacheman run --ttl 1d -- ech"))


if __name__ == "__main__":
    unittest.main()
