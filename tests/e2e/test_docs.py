"""The man page, the README and the shell completions stay in sync with the binary.

The commands and options are read from the binary's own help (`cacheman --help`, `cacheman help
CMD`), never from a list kept here, so a command added to cli/Commands.cpp fails this test until
man/cacheman.1.scd and every file in completions/ know it, and a command documented there but not
in the binary (say `run`, before it exists) fails it too. The members of every command's --json
output are read from the binary too, and must be documented under JSON OUTPUT.

Tools: groff (groff-base) checks the roff, scdoc checks that man/cacheman.1 is generated from
man/cacheman.1.scd. A check whose tool is missing is skipped, never passed. The completions are
run by real shells in test_completions.py.
"""
import datetime
import difflib
import json
import os
import re
import shutil
import subprocess
import unittest

from harness import BIN, CachemanTestCase

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MAN_SOURCE = os.path.join(ROOT, "man", "cacheman.1.scd")
MAN_ROFF = os.path.join(ROOT, "man", "cacheman.1")
BASH_COMPLETION = os.path.join(ROOT, "completions", "cacheman.bash")
ZSH_COMPLETION = os.path.join(ROOT, "completions", "_cacheman")
FISH_COMPLETION = os.path.join(ROOT, "completions", "cacheman.fish")
README = os.path.join(ROOT, "README.md")

MAN_SECTIONS = [
    "NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "GLOBAL OPTIONS", "DURATIONS", "EXPORT FORMAT",
    "JSON OUTPUT", "ENVIRONMENT", "FILES", "EXIT STATUS", "CONCURRENCY AND DURABILITY", "EXAMPLES",
    "SECURITY", "SHARED STORE", "LIMITS", "SEE ALSO",
]

# The introspection commands, which the README's tour shows.
INTROSPECTION = ["stats", "graph", "why", "log", "check"]


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


def man_entries(section):
    """The entries of a section: {first word of a '*word ...' line: its text up to the next one}."""
    entries = {}
    for match in re.finditer(r"^\*([a-z][a-z-]*)[* ](.*?)(?=^\*[a-z-]|\Z)", section, re.M | re.S):
        entries.setdefault(match.group(1), match.group(0))
    return entries


def json_members(value):
    """Every object member name in a JSON value, recursively."""
    names = set()
    if isinstance(value, dict):
        for name, member in value.items():
            names.add(name)
            names |= json_members(member)
    elif isinstance(value, list):
        for item in value:
            names |= json_members(item)
    return names


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
        self.put_binary_on_path()  # the completions call `cacheman`

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
                         "CACHEMAN_BUSY_TIMEOUT", "CACHEMAN_RUNTIME_DIR", "XDG_RUNTIME_DIR",
                         "NO_COLOR"):
            self.assertTrue("*%s*" % variable.replace("_", "\\_") in section,
                            "%s missing from ENVIRONMENT" % variable)

    def test_hidden_complete_is_not_a_command_but_is_described(self):
        self.assertNotIn("__complete", self.commands)
        commands = man_section(self.source, "COMMANDS")
        self.assertNotIn("\\_\\_complete", commands)
        files = man_section(self.source, "FILES")
        self.assertIn("*\\_\\_complete* _WHAT_", files)
        for what in ("*commands*", "*caches*", "*keys*", "*namespaces*"):
            self.assertIn(what, files)

    def test_files_describe_the_counts_file_and_the_tables(self):
        files = man_section(self.source, "FILES")
        self.assertIn("_DIR_/_NAMESPACE_.counts", files)
        for table in ("caches", "depends", "cache\\_<id>", "edits", "log", "stats"):
            self.assertRegex(files, r"(?m)^\*%s\*\(" % re.escape(table),
                             "table %s missing from FILES" % table)
        for path in ("bash-completion/completions/cacheman", "zsh/site-functions/\\_cacheman",
                     "fish/vendor\\_completions.d/cacheman.fish"):
            self.assertIn(path, files)

    def test_examples_memoize_a_step_and_build_a_chain(self):
        examples = man_section(self.source, "EXAMPLES")
        self.assertRegex(examples, r"cacheman run .*-- ")
        # A chain: a -> b -> c, declared with two depends.
        edges = re.findall(r"cacheman depend (\S+) (\S+)", examples)
        children = {child for _, child in edges}
        self.assertTrue(any(parent in children for parent, _ in edges), edges)
        for command in INTROSPECTION:
            self.assertIn("cacheman %s" % command, examples)

    def test_exit_status_lists_every_code(self):
        section = man_section(self.source, "EXIT STATUS")
        codes = re.findall(r"^\*(\d+)\*$", section, re.M)
        self.assertEqual(codes, ["0", "1", "2", "3", "4", "70", "130"])
        self.assertIn("*check*", section)

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

        generated = content(proc.stdout.decode())
        diff = list(difflib.unified_diff(content(committed), generated, "man/cacheman.1",
                                         "scdoc < man/cacheman.1.scd", lineterm="", n=1))
        self.assertFalse(diff, "man/cacheman.1 is stale: run "
                         "'scdoc < man/cacheman.1.scd > man/cacheman.1'\n" + "\n".join(diff[:40]))


class JsonOutput(DocsTestCase):
    """Every command that prints JSON is under JSON OUTPUT, with every member it prints."""

    # Each command line with --json, run on the store that setUp builds.
    JSON_COMMANDS = {
        "keys": ["keys", "raw"],
        "list": ["list"],
        "deps": ["deps", "parsed"],
        "invalidate": ["invalidate", "--dry-run", "raw"],
        "show": ["show", "raw"],
        "run": ["run", "--explain", "--env", "HOME", "--key", "v1", "--", "true"],
        "stats": ["stats"],
        "graph": ["graph"],
        "why": ["why", "report"],
        "log": ["log"],
        "check": ["check"],
    }

    def setUp(self):
        super().setUp()
        self.ok("depend", "raw", "parsed")
        self.ok("depend", "parsed", "report")
        self.ok("set", "raw", "k", "v")
        self.ok("get", "raw", "k")
        self.ok("create", "--builder", "true", "--ttl", "1h", "built")
        self.ok("run", "--env", "HOME", "--key", "v1", "--", "true")
        self.ok("invalidate", "parsed")
        self.section = man_section(read(MAN_SOURCE), "JSON OUTPUT")
        self.entries = man_entries(self.section)

    def test_every_json_command_is_documented_with_its_members(self):
        self.assertTrue(self.section, "no JSON OUTPUT section")
        for command, argv in self.JSON_COMMANDS.items():
            self.assertIn(command, self.entries, "%s missing from JSON OUTPUT" % command)
            r = self.ok("--json", *argv)
            self.assertEqual(r.text.count("\n"), 1, "one line: %r" % r)
            value = json.loads(r.text)
            members = json_members(value)
            if command in ("list", "stats", "log", "graph", "why", "run", "check", "show"):
                self.assertTrue(members or value, "%s printed nothing to check: %r" % (command, r))
            for member in members:
                self.assertIn("*%s*" % member.replace("_", "\\_"), self.entries[command],
                              "member %r of '%s --json' is not documented under JSON OUTPUT"
                              % (member, command))

    def test_the_global_option_names_the_same_commands(self):
        globals_ = man_section(read(MAN_SOURCE), "GLOBAL OPTIONS")
        entry = re.search(r"^\*--json\*\n(.*?)(?=^\*)", globals_, re.M | re.S)
        self.assertIsNotNone(entry, "no --json under GLOBAL OPTIONS")
        for command in self.JSON_COMMANDS:
            self.assertRegex(entry.group(1), r"\*%s[* ]" % command,
                             "--json under GLOBAL OPTIONS does not name %s" % command)

    def test_json_before_and_after_the_command_agree(self):
        for command, argv in self.JSON_COMMANDS.items():
            if command == "run":
                continue  # everything after run belongs to run or its program
            before = self.ok("--json", *argv).text
            after = self.ok(*argv, "--json").text
            if command in ("log", "stats"):
                # stats folds new counts; log has no entries of its own: compare the shape only.
                self.assertEqual(json_members(json.loads(before)),
                                 json_members(json.loads(after)), command)
            else:
                self.assertEqual(before, after, command)


class Readme(DocsTestCase):
    def setUp(self):
        super().setUp()
        self.text = read(README)

    def readme_section(self, title):
        match = re.search(r"^## %s\n(.*?)(?=^## |\Z)" % re.escape(title), self.text, re.M | re.S)
        self.assertIsNotNone(match, "no '## %s' section in README.md" % title)
        return match.group(1)

    def test_commands_table_lists_every_command(self):
        table = self.readme_section("Commands")
        listed = re.findall(r"^\| `([a-z][a-z-]*)[ `]", table, re.M)
        self.assertEqual(sorted(set(listed)), sorted(self.commands))

    def test_tour_shows_the_introspection_commands(self):
        tour = self.readme_section("Tour")
        for command in INTROSPECTION:
            self.assertRegex(tour, r"(?m)^\$ cacheman (--json )?%s\b" % command)

    def test_install_notes_name_the_installed_files(self):
        text = self.text
        for path in ("share/man/man1/cacheman.1", "share/bash-completion/completions/cacheman",
                     "share/zsh/site-functions/_cacheman",
                     "share/fish/vendor_completions.d/cacheman.fish"):
            self.assertTrue(path in text, "README.md does not say where %s goes" % path)

    def test_setup_section_is_intact(self):
        setup = self.readme_section("Set-up")
        self.assertIn(".ci/setup", setup)
        self.assertIn("ctest --test-dir build --output-on-failure -j 2", setup)


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


if __name__ == "__main__":
    unittest.main()
