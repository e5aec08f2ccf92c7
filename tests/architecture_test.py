#!/usr/bin/env python3
"""The architecture test: layers and no circles (tests/layers.txt).

Fails (exit 1), naming each offence, when
  - a file in lib/ or cli/ is not listed in tests/layers.txt;
  - a file includes a private header of a layer above its own, or a file of
    cli/ includes a private header of lib/ (the CLI uses the public API);
  - a file calls an `sfl_` function defined in a layer above its own;
  - files call each other in a circle, in any layer (a -> b -> ... -> a).

Calls are found in the source text: every `sfl_name(` outside comments,
matched to the file that defines `sfl_name` (a definition is a line in
column 0 that opens a function body). Static helpers without the `sfl_`
prefix stay inside their file and are not followed.

Usage: tests/architecture_test.py [ROOT]   (default: this file's project)
"""
import collections
import glob
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
CALL = re.compile(r"\b(sfl_[A-Za-z0-9_]+)\s*\(")
DEF = re.compile(r"^[A-Za-z_][^;(=]*?\b(sfl_[A-Za-z0-9_]+)\s*\(")
COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
STRING = re.compile(r'"(?:\\.|[^"\\\n])*"')


def read_layers(path):
    order, layer_of = [], {}
    for line in open(path, encoding="utf-8"):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, files = line.partition(":")
        order.append(name.strip())
        for f in files.split():
            if f in layer_of:
                sys.exit("%s: %s is listed twice" % (path, f))
            layer_of[f] = len(order) - 1
    return order, layer_of


def sources(root):
    out = []
    for pat in ("lib/*.[ch]", "lib/*/*.[ch]", "cli/*.[ch]"):
        out += glob.glob(os.path.join(root, pat))
    return sorted(out)


def stem(path):
    """The file's name in tests/layers.txt: its path below lib/ or cli/ without
    the extension (lib/mongo/sink.c is mongo/sink); x.c, x.h and
    x_internal.h are one name."""
    parts = os.path.normpath(path).split(os.sep)
    for top in ("lib", "cli"):
        if top in parts:
            parts = parts[len(parts) - 1 - parts[::-1].index(top) + 1:]
            break
    name = os.path.splitext("/".join(parts))[0]
    return name[:-len("_internal")] if name.endswith("_internal") else name


def definitions(files):
    defs = {}
    for f in files:
        if not f.endswith(".c"):
            continue
        lines = open(f, encoding="utf-8").read().split("\n")
        for i, line in enumerate(lines):
            m = DEF.match(line)
            if not m or line.rstrip().endswith(";"):
                continue
            # the signature must open a body before any ';'
            j = i
            while j < len(lines) and "{" not in lines[j] and not lines[j].rstrip().endswith(";"):
                j += 1
            if j < len(lines) and "{" in lines[j]:
                defs.setdefault(m.group(1), f)
    return defs


def cycles(edges, nodes):
    """Strongly connected components with more than one file (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.dirname(here)
    order, layer_of = read_layers(os.path.join(here, "layers.txt"))
    files = sources(root)
    rel = {f: os.path.relpath(f, root) for f in files}
    bad = []
    for f in files:
        if stem(f) not in layer_of:
            bad.append("%s: not listed in tests/layers.txt (add it to its layer)" % rel[f])
    if bad:
        print("\n".join(bad))
        return 1
    # private headers by the name an #include gives them (from lib/, the
    # include path, or beside the including file)
    private = {}
    for f in files:
        if f.endswith(".h"):
            r = rel[f]
            private[r.split("/", 1)[1]] = f

    def layer(f):
        return layer_of[stem(f)]

    for f in files:
        text = open(f, encoding="utf-8").read()
        for inc in INCLUDE.findall(text):
            if inc.startswith("swefreq/"):
                continue  # the public API, open to every layer
            # beside the including file first, as the compiler looks
            here = os.path.dirname(rel[f]).split("/", 1)  # "lib/mongo" -> [lib, mongo]
            beside = os.path.normpath(os.path.join(here[1], inc)) if len(here) > 1 else None
            h = (private.get(beside) if beside else None) or private.get(inc)
            if not h:
                continue
            in_cli = rel[f].startswith("cli/")
            if in_cli and not rel[h].startswith("cli/"):
                bad.append("%s includes %s: the CLI uses the public API only" % (rel[f], rel[h]))
            elif rel[h].startswith("lib/mongo/") and not rel[f].startswith("lib/mongo/"):
                bad.append("%s includes %s: the server side's private headers stay inside "
                           "lib/mongo/" % (rel[f], rel[h]))
            elif layer(h) > layer(f):
                bad.append("%s (layer %s) includes %s of the higher layer %s" %
                           (rel[f], order[layer(f)], rel[h], order[layer(h)]))

    defs = definitions(files)
    edges = collections.defaultdict(set)
    why = collections.defaultdict(set)
    for f in files:
        if not f.endswith(".c"):
            continue
        text = STRING.sub('""', COMMENT.sub(" ", open(f, encoding="utf-8").read()))
        for name in set(CALL.findall(text)):
            g = defs.get(name)
            if not g or g == f:
                continue
            edges[f].add(g)
            why[(f, g)].add(name)
            if layer(g) > layer(f):
                bad.append("%s (layer %s) calls %s of %s, in the higher layer %s" %
                           (rel[f], order[layer(f)], name, rel[g], order[layer(g)]))
    for comp in cycles(edges, files):
        members = set(comp)
        links = []
        for a in comp:
            for b in sorted(edges[a] & members):
                links.append("%s -> %s (%s)" % (rel[a], rel[b], ", ".join(sorted(why[(a, b)]))))
        bad.append("a circle of files: " + "; ".join(links))
    for b in bad:
        print(b)
    if not bad:
        print("architecture: %d files in %d layers, no upward call or include, no circle" %
              (len(files), len(order)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
