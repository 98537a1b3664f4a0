"""How tables look on a terminal (cli/Output.cpp): columns are measured in display columns, not
bytes, so names in Greek, in CJK or with combining accents line up; the bold header is reset
before its newline.

cacheman's stdout is the slave side of a real pty (test_introspection's on_terminal), so isatty()
is true exactly as in an interactive shell.
"""
import unittest

from test_introspection import (ANSI, BOLD, LOG_HEADER, STATS_HEADER, IntrospectionTestCase,
                                display_width)

RESET = "\x1b[0m"
NAMES = ["ελληνικά", "数据缓存", "cafe\u0301-cre\u0300me", "plain"]


def laid_out(header, rows):
    """The lines a terminal table must hold: each column as wide as its widest cell on the
    screen, two spaces between columns, no padding after the last."""
    widths = [max(display_width(row[i]) for row in [header] + rows) for i in range(len(header))]
    lines = []
    for row in [header] + rows:
        line = "".join(cell + " " * (widths[i] - display_width(cell) + 2)
                       for i, cell in enumerate(row[:-1]))
        lines.append(line + row[-1])
    return lines


class TableTest(IntrospectionTestCase):
    def setUp(self):
        super().setUp()
        for i, name in enumerate(NAMES):
            self.ok("set", name, "k", "v" * (10 ** i))
        self.ok("get", NAMES[1], "k")
        self.ok("depend", NAMES[0], NAMES[1])
        self.ok("depend", NAMES[1], NAMES[2])
        self.ok("invalidate", NAMES[0])

    def table(self, header, *args):
        """The table on a terminal (colour off) and the rows it must show (from the pipe)."""
        env = {"NO_COLOR": "1", "TZ": "UTC0"}
        r = self.on_terminal(*args, env=env)
        self.assertEqual(r.code, 0, r)
        rows = [line.split("\t") for line in self.ok(*args, env=env).text.splitlines()]
        self.assertTrue(rows)
        return r.out.decode(), laid_out(header, rows)

    def test_stats_columns_start_at_the_same_display_column_in_every_row(self):
        text, expected = self.table(STATS_HEADER, "stats")
        self.assertEqual(text.split("\n"), expected + [""])
        for name in NAMES:
            self.assertIn(name, text)

    def test_log_columns_start_at_the_same_display_column_in_every_row(self):
        text, expected = self.table(LOG_HEADER, "log")
        self.assertEqual(text.split("\n"), expected + [""])
        self.assertIn(",".join(NAMES[:3]), text, "the cascade, in its order")

    def test_bold_header_is_reset_before_its_newline(self):
        for args in (("stats",), ("log",)):
            with self.subTest(args=args):
                r = self.on_terminal(*args)
                self.assertEqual(r.code, 0, r)
                lines = r.out.decode().split("\n")
                self.assertTrue(lines[0].startswith(BOLD), lines)
                self.assertTrue(lines[0].endswith(RESET), "reset ends the header line: %r" % lines)
                for line in lines[1:]:
                    self.assertNotIn("\x1b", line, "only the header is decorated: %r" % lines)
                self.assertEqual([ANSI.sub("", line) for line in lines],
                                 self.table(STATS_HEADER if args == ("stats",) else LOG_HEADER,
                                            *args)[1] + [""])


if __name__ == "__main__":
    unittest.main()
