"""Lists the test classes of end-to-end test files, for tests/CMakeLists.txt (one ctest each).

Usage: e2e_classes.py FILE...; prints one `MODULE;CLASS` line per class that unittest would run
from MODULE: a class that derives (through classes of its own file) from a base whose name ends
in TestCase (unittest.TestCase, harness.CachemanTestCase, ...) and has test methods of its own
or inherited from its file. It reads the files without importing them, so configuring needs
neither the binary nor the tests' imports. A file it cannot parse, or that has no such class, is
printed as `MODULE;` so that the whole module runs as one ctest and shows its error.
"""
import ast
import os
import sys


def dotted(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return dotted(node.value) + "." + node.attr
    return ""


def test_classes(source):
    classes = {n.name: n for n in ast.parse(source).body if isinstance(n, ast.ClassDef)}

    def bases(name):
        return [dotted(b) for b in classes[name].bases]

    def is_test_case(name, seen=()):
        return any((b in classes and b not in seen and is_test_case(b, seen + (name,)))
                   or (b not in classes and b.endswith("TestCase")) for b in bases(name))

    def has_tests(name, seen=()):
        own = any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name.startswith("test")
                  for n in classes[name].body)
        return own or any(b in classes and b not in seen and has_tests(b, seen + (name,))
                          for b in bases(name))

    return [name for name in classes if is_test_case(name) and has_tests(name)]


def main(files):
    for path in files:
        module = os.path.splitext(os.path.basename(path))[0]
        try:
            with open(path, encoding="utf-8") as f:
                names = test_classes(f.read())
        except (OSError, SyntaxError, ValueError):
            names = []
        for name in names or [""]:
            print(f"{module};{name}")


if __name__ == "__main__":
    main(sys.argv[1:])
