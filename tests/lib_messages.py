"""Library messages are for C callers (issue 22, item 5): no string literal
in lib/ names a command-line flag (--max-errors); options are named as a C
caller sets them, "(sfl_options_t.max_errors)", and every such name is a
real field and has its flag in the CLI's map (cli/common.c, flag_map), so
that the CLI shows "(--max-errors)" instead.
usage: lib_messages.py SOURCE_DIR"""
import os
import re
import sys

src = sys.argv[1] if len(sys.argv) > 1 else "."
failures = checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print("FAIL:", what)


def literals(path):
    """(line, text) of every string literal outside comments."""
    text = open(path).read()
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    for m in re.finditer(r"'(?:[^'\\]|\\.)'|\"((?:[^\"\\\n]|\\.)*)\"", text):
        if m.group(1) is not None:
            yield text.count("\n", 0, m.start()) + 1, m.group(1)


def fields(header, struct):
    body = open(os.path.join(src, "include/swefreq", header)).read()
    m = re.search(r"typedef struct \{(.*?)\}\s*" + struct + ";", body, re.S)
    body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
    return set(re.findall(r"(\w+)(?:\[[^\]]*\])?;", body))


known = {"sfl_options_t": fields("job.h", "sfl_options_t"),
         "sfl_mongo_options_t": fields("mongo.h", "sfl_mongo_options_t")}
cli_map = open(os.path.join(src, "cli/common.c")).read()
named = set()
lib = os.path.join(src, "lib")
for name in sorted(os.listdir(lib)):
    if not name.endswith(".c"):
        continue
    for line, s in literals(os.path.join(lib, name)):
        flag = re.search(r"(?<![\w-])--[a-z][a-z-]*", s)
        check(not flag, f"lib/{name}:{line}: names the CLI flag {flag and flag.group(0)}: "
                        "name the option as a C caller sets it, (sfl_options_t.FIELD)")
        for struct, field in re.findall(r"\b(sfl_(?:mongo_)?options_t)\.(\w+)", s):
            if field != "struct_size":  # a C programming error: no flag
                named.add(f"{struct}.{field}")
            check(field in known[struct], f"lib/{name}:{line}: {struct} has no field {field}")
for token in sorted(named):
    check(f'"{token}"' in cli_map, f"cli/common.c flag_map has no flag for {token}")
check(len(named) >= 10, f"options named in messages: {sorted(named)}")
print(f"lib_messages: {checks} checks, {failures} failed ({len(named)} option names)")
sys.exit(1 if failures else 0)
