#!/usr/bin/env python3
"""List the functions of lib/ and cli/ longer than a limit (default 120 lines).

The code is clang-formatted, so a function starts at a line in column 0
that opens a body ("{" alone on the next line, or at the end of the
signature) and ends at the "}" in column 0 that closes it. A function may be
long on purpose: its comment (the lines just above it) then says why, with
the words "long on purpose". Such functions are listed as "explained".

Usage: scripts/long_functions.py [--limit N] [FILE...]
Exit status: 1 when a function is over the limit without a reason.
"""
import argparse
import glob
import os
import re
import sys

NAME = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(")


def functions(path):
    """(name, first line, last line, comment above) of each function."""
    lines = open(path, encoding="utf-8").read().split("\n")
    out = []
    i = 0
    while i < len(lines):
        line = lines[i]
        starts = (line[:1].isalpha() or line[:1] == "_") and "(" in line \
            and not line.startswith(("typedef", "struct", "enum", "union")) \
            and not line.rstrip().endswith(";")
        if not starts:
            i += 1
            continue
        # the signature runs to the line that opens the body
        j = i
        while j < len(lines) and "{" not in lines[j] and not lines[j].rstrip().endswith(";"):
            j += 1
        if j >= len(lines) or lines[j].rstrip().endswith(";"):
            i = j + 1
            continue
        if lines[j].rstrip().endswith("}"):  # a one-line body
            i = j + 1
            continue
        k = j
        while k < len(lines) and lines[k] != "}" and not lines[k].startswith("}"):
            k += 1
        m = NAME.search(line)
        name = m.group(1) if m else line.strip()
        comment = []
        c = i - 1
        while c >= 0 and (lines[c].startswith(("/*", " *", "//")) or lines[c].endswith("*/")):
            comment.insert(0, lines[c])
            c -= 1
        out.append((name, i + 1, k + 1, "\n".join(comment)))
        i = k + 1
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=120)
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    files = a.files or sorted(glob.glob(os.path.join(root, "lib", "*.c")) +
                              glob.glob(os.path.join(root, "lib", "*", "*.c")) +
                              glob.glob(os.path.join(root, "cli", "*.c")))
    bad = 0
    for f in files:
        for name, first, last, comment in functions(f):
            n = last - first + 1
            if n <= a.limit:
                continue
            why = "long on purpose" in comment
            print("%s:%d: %s: %d lines%s" % (os.path.relpath(f, root), first, name, n,
                                             " (explained)" if why else ""))
            bad += not why
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
