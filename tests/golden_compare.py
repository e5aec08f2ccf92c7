#!/usr/bin/env python3
"""Compare documents printed by `swefreq-load dump --format jsonl` with the
expected documents of tests/reference (testdata/expected/*.jsonl).

Documents are compared decoded, field order and JSON number type included
(an int is not a float), one line at a time; the first differences are
printed with their path. Exit 0 when all match, 1 otherwise.

usage: golden_compare.py ACTUAL.jsonl EXPECTED.jsonl
"""
import json
import sys


def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line, object_pairs_hook=lambda p: p) for line in f if line.strip()]


def diff(a, e, path, out):
    if isinstance(e, list) and e and isinstance(e[0], tuple) or (isinstance(e, list) and isinstance(a, list) and a and isinstance(a[0], tuple)):
        ak = [k for k, _ in a] if isinstance(a, list) else None
        ek = [k for k, _ in e]
        if ak is not None and len(set(ak)) != len(ak):
            out.append(f"{path}: repeated key in {ak}")
            return
        if ak != ek:
            out.append(f"{path}: fields {ak} != expected {ek}")
            return
        for (k, av), (_, ev) in zip(a, e):
            diff(av, ev, f"{path}.{k}", out)
        return
    if isinstance(e, list):
        if not isinstance(a, list) or len(a) != len(e):
            out.append(f"{path}: {json.dumps(a)[:200]} != expected {json.dumps(e)[:200]}")
            return
        for i, (av, ev) in enumerate(zip(a, e)):
            diff(av, ev, f"{path}[{i}]", out)
        return
    if type(a) is not type(e) or a != e:
        out.append(f"{path}: {a!r} ({type(a).__name__}) != expected {e!r} ({type(e).__name__})")


def repeated_keys(v, path="doc"):
    """The paths of keys a document (as load() reads it: lists of pairs)
    holds twice at any depth; drivers would keep one of the two values."""
    out = []
    if isinstance(v, list) and v and all(isinstance(p, tuple) for p in v):
        seen = set()
        for k, sub in v:
            if k in seen:
                out.append(f"{path}.{k}")
            seen.add(k)
            out.extend(repeated_keys(sub, f"{path}.{k}"))
    elif isinstance(v, list):
        for i, sub in enumerate(v):
            out.extend(repeated_keys(sub, f"{path}[{i}]"))
    return out


def main():
    actual, expected = load(sys.argv[1]), load(sys.argv[2])
    problems = []
    for i, a in enumerate(actual):
        problems.extend(f"repeated key {p}" for p in repeated_keys(a, f"doc {i + 1}"))
    if len(actual) != len(expected):
        problems.append(f"{len(actual)} documents != expected {len(expected)}")
    for i, (a, e) in enumerate(zip(actual, expected)):
        out = []
        diff(a, e, f"doc {i + 1}", out)
        problems.extend(out)
    for p in problems[:30]:
        print(p)
    if len(problems) > 30:
        print(f"... and {len(problems) - 30} more")
    print(f"{'OK' if not problems else 'DIFFERENT'}: {len(actual)} documents compared")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
