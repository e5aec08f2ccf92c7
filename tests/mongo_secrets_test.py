#!/usr/bin/env python3
"""Credentials never appear in any output, and never on a command line.

usage: mongo_secrets_test.py MODE SWEFREQ_LOAD TESTDATA_DIR
  MODE cli:   every command that takes a URI (load, verify --uri, status,
              export, restore, recover, promote, unseal), plain, with
              --verbose and with --json, on success (authMechanism=PLAIN,
              which the FerretDB test server accepts with any password)
              and failure paths (wrong password: SCRAM, which it refuses;
              an unreachable host; a bad option; a raw '@' in the
              password), with the URI given by --uri, --uri-file and
              SWEFREQ_MONGO_URI. Distinctive secrets: a %40-encoded
              password, a password with a raw '@', an
              authMechanismProperties AWS session token, a
              tlsCertificateKeyFilePassword. None of them (nor the decoded
              form, nor the part after a raw '@') may appear in stdout,
              stderr, the manifest, rejects and dump files written, or any
              document of the databases used (swefreq_meta included). Also:
              --uri with a password warns and is masked in /proc/PID/cmdline
              while the command runs (held at a server command by the test
              proxy); the --uri-file checks (mode, type, owner, content).
  MODE scripts: deploy/dev-load.sh, dev-export.sh (signing with an
              Ed25519 key made by openssl), live-restore-and-promote.sh
              (the key trusted, this server's reference in
              REFERENCE_DIR/SERVER) and live-verify.sh, run with a
              password in SWEFREQ_MONGO_URI (and in a URI file): while each
              runs, a poller reads /proc/*/cmdline of the script's process
              tree and a server command is held so that the tool is alive
              when it looks; no secret may be in any of them, nor in the
              scripts' output, logs, dump, reference or databases. The
              release promote records is the signer's key id and the
              reference's SHA-256, and live-verify.sh's report says so.
  MODE nightly: deploy/swefreq-verify.cron's job (no '%' in the file) run
              as cron runs it (/bin/sh -c, env -i, PATH=/usr/bin:/bin)
              with a %40-encoded password in the URI file, against a
              signed, promoted release: silent exit 0 and a log line (also
              with two trusted keys, quoted values, SWEFREQ_LIVE_MANIFEST);
              exit 10 for a reference signed by another key or a signer
              not trusted, 5 for a signed reference other than the one
              promoted and for a changed document, 3 for a URI file others
              can read, 6 unreachable, 2 for each config mistake (no
              SWEFREQ_TRUSTED_KEYS, a relative key path, no reference or
              both ways of naming it, a server name with a '/', ...), 4
              when the log cannot be written; the systemd service and
              timer pass systemd-analyze verify and run the same command.
Exit 77 when pymongo is missing or the server has no fault injection.
"""
import glob
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mongo_common import URI, check, finish, require_faults  # noqa: E402
import pymongo  # noqa: E402

MODE, TOOL, TD = sys.argv[1:4]
TOOL = os.path.abspath(TOOL)
client = pymongo.MongoClient(URI, serverSelectionTimeoutMS=5000)
HIST = ["--histograms", "columns"]
EXAC = os.path.join(TD, "exac_sample.vcf")
COV = os.path.join(TD, "coverage_sample.tsv")
tmp = tempfile.mkdtemp(prefix="sfl_secrets_")
HOSTPORT = URI.split("://", 1)[1].split("/", 1)[0]
DEPLOY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "deploy")

# The secrets, as they are written in a URI, and what must never be seen:
# every form, case-insensitively (the driver lower-cases host names).
PW_ENC = "Xy7%40Qm9Zk2Lw"        # the password Xy7@Qm9Zk2Lw, percent-encoded
PW_RAW_AT = "Hh4@Vv8Rr1Tt"       # a raw '@': refused, never echoed
TOKEN = "TokZz9Qq3Ww"            # an AWS session token
KEYPW = "KeyPwJj5Nn6"            # a TLS key file password
NEEDLES = ["Xy7%40Qm9", "Xy7@Qm9", "Qm9Zk2Lw", "Hh4@Vv8", "Vv8Rr1Tt", TOKEN, KEYPW]


def uri(password=PW_ENC, host=HOSTPORT, opts="authMechanism=PLAIN"):
    return (f"mongodb://swefreq_u:{password}@{host}/?{opts}"
            f"&authMechanismProperties=AWS_SESSION_TOKEN:{TOKEN}")


GOOD = uri()
WRONG = uri(opts="authMechanism=SCRAM-SHA-1")             # refused by the server: exit 7
UNREACHABLE = uri(host="127.0.0.1:9", opts="serverSelectionTimeoutMS=300")  # exit 6
BAD_OPTION = uri(opts=f"readPreference=bogus&tlsCertificateKeyFilePassword={KEYPW}")  # exit 2
TLS_KEYPW = uri(opts=f"tlsCertificateKeyFilePassword={KEYPW}&serverSelectionTimeoutMS=300"
                "&connectTimeoutMS=300")
RAW_AT = uri(password=PW_RAW_AT)                           # exit 2


def leaks(text):
    low = text.lower()
    return [n for n in NEEDLES if n.lower() in low]


def files_under(*roots):
    out = []
    for r in roots:
        if os.path.isfile(r):
            out.append(r)
        for d, _, fs in os.walk(r):
            out += [os.path.join(d, f) for f in fs]
    return out


def scan_files(what, *roots):
    for f in files_under(*roots):
        with open(f, "rb") as fh:
            text = fh.read().decode("latin-1")
        check(not leaks(text), f"{what}: {f} holds {leaks(text)}")


def scan_db(db):
    for name in client[db].list_collection_names():
        for d in client[db][name].find():
            check(not leaks(repr(d)), f"{db}.{name} document {d.get('_id')} holds {leaks(repr(d))}")


def uri_file(text, mode=0o600):
    fd, path = tempfile.mkstemp(dir=tmp, prefix="uri-")
    os.write(fd, text.encode())
    os.close(fd)
    os.chmod(path, mode)
    return path


def keypair(name):
    """An Ed25519 release key pair made with openssl, as docs/deploy.md
    says: the private key mode 0600, the public key beside it."""
    key, pub = os.path.join(tmp, name + ".key"), os.path.join(tmp, name + ".pub")
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", key], check=True,
                   capture_output=True)
    os.chmod(key, 0o600)
    subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out", pub], check=True,
                   capture_output=True)
    return key, pub


def key_id(pub):
    """The key id as docs/deploy.md computes it: SHA-256 of the DER public key."""
    der = subprocess.run(["openssl", "pkey", "-pubin", "-in", pub, "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return hashlib.sha256(der).hexdigest()


def file_sha256(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def run(args, via="uri", u=GOOD, env=None, timeout=120):
    """The command with the URI given `via` --uri, --uri-file or the
    environment (or "none": not at all); checks stdout and stderr for every secret."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("SWEFREQ_")}
    e.update(env or {})
    args = list(args)
    if via == "uri":
        args[1:1] = ["--uri", u]
    elif via == "file":
        args[1:1] = ["--uri-file", uri_file(u + "\n")]
    elif via == "env":
        e["SWEFREQ_MONGO_URI"] = u
    r = subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=timeout, env=e)
    shown = " ".join(a for a in args if a != u)
    check(not leaks(r.stdout), f"{shown} via {via}: stdout holds {leaks(r.stdout)}: {r.stdout[:300]}")
    check(not leaks(r.stderr), f"{shown} via {via}: stderr holds {leaks(r.stderr)}: {r.stderr[:300]}")
    if "--json" in args and r.stdout.strip():
        try:
            json.loads(r.stdout)
        except ValueError:
            check(False, f"{shown}: --json printed no JSON object: {r.stdout[:200]}")
    return r


def test_cli():
    db, db2 = "sfl_secrets_a", "sfl_secrets_b"
    for d in (db, db2):
        client.drop_database(d)
    man = os.path.join(tmp, "load-manifest.json")
    rej = os.path.join(tmp, "rejects.txt")
    bad_vcf = os.path.join(TD, "bad", "duplicate_variant.vcf")
    out = os.path.join(tmp, "export")
    # Success paths, each way of giving the URI.
    for via in ("uri", "file", "env"):
        r = run(["load", "--db", db, *HIST, "--vcf", EXAC, "--coverage", COV, "--verbose",
                 "--json", "--manifest", man, "--rejects", rej, "--max-errors", "3"], via=via)
        check(r.returncode == 0, f"load via {via}: {r.returncode} {r.stderr[-400:]}")
        check("connected to mongodb://swefreq_u:***@" in r.stderr and
              "authMechanismProperties=***" in r.stderr,
              f"--verbose names the URI redacted, option names kept: {r.stderr[:600]}")
        check(("warning: the password in --uri is visible" in r.stderr) == (via == "uri"),
              f"the --uri warning exactly when the URI is on the command line ({via})")
        for args in (["verify", "--db", db, "--json"], ["verify", "--db", db, "--manifest", man],
                     ["status", "--db", db, "--json"], ["status", "--db", db, "--verbose"],
                     ["recover", "--db", db, "--json"]):
            r = run(args, via=via)
            check(r.returncode == 0, f"{args[0]} via {via}: {r.returncode} {r.stderr[-300:]}")
        shutil.rmtree(out, ignore_errors=True)
        r = run(["export", "--db", db, "--out", out, "--json", "--verbose"], via=via)
        check(r.returncode == 0, f"export via {via}: {r.returncode} {r.stderr[-300:]}")
        client.drop_database(db2)
        r = run(["restore", "--db", db2, "--dump", os.path.join(out, db), "--json", "--verbose"],
                via=via)
        check(r.returncode == 0, f"restore via {via}: {r.returncode} {r.stderr[-300:]}")
        r = run(["promote", "--db", db2, "--manifest", os.path.join(out, db, "manifest.json"),
                 "--json", "--verbose"], via=via)
        check(r.returncode == 0, f"promote via {via}: {r.returncode} {r.stderr[-300:]}")
        r = run(["unseal", "--db", db2, "--reason", "secrets test", "--json", "--verbose"], via=via)
        check(r.returncode == 0, f"unseal via {via}: {r.returncode} {r.stderr[-300:]}")
    # A load that fails after connecting records its error in swefreq_meta.
    r = run(["load", "--db", db, *HIST, "--vcf", bad_vcf, "--verbose", "--json"])
    check(r.returncode == 3, f"a failing load: {r.returncode}")
    # Failure paths of every command.
    every = [["load", "--db", db, *HIST, "--vcf", EXAC, "--json", "--verbose"],
             ["verify", "--db", db, "--json"], ["verify", "--db", db],
             ["status", "--db", db, "--json", "--verbose"], ["recover", "--db", db, "--json"],
             ["export", "--db", db, "--out", os.path.join(tmp, "x"), "--json", "--verbose"],
             ["restore", "--db", db2, "--dump", os.path.join(out, db), "--json", "--verbose"],
             ["promote", "--db", db2, "--manifest", man, "--json", "--verbose"],
             ["unseal", "--db", db2, "--reason", "r", "--json", "--verbose"]]
    for u, want, what in ((WRONG, 7, "wrong password"), (UNREACHABLE, 6, "unreachable"),
                          (BAD_OPTION, 2, "bad option"), (TLS_KEYPW, 6, "TLS key password"),
                          (RAW_AT, 2, "raw @")):
        for args in every:
            for via in ("uri", "env"):
                r = run(args, via=via, u=u)
                check(r.returncode == want,
                      f"{what}: {args[0]} via {via}: exit {r.returncode}, want {want}: {r.stderr[-300:]}")
                if what == "raw @":
                    check("%40" in r.stderr, f"raw @: the message says to percent-encode: {r.stderr}")
    scan_files("files written", man, rej, out)
    scan_db(db)
    scan_db(db2)
    check(client[db]["swefreq_meta"].count_documents({"status": "failed"}) >= 1,
          "a failed load's error is recorded (and was scanned)")
    # While a command runs, its --uri is masked in /proc/PID/cmdline.
    faults = require_faults(db)
    faults.clear()
    rule = faults.arm("find", coll="swefreq_meta", action="hold")
    p = subprocess.Popen([TOOL, "status", "--uri", GOOD, "--db", db], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    held = faults.wait(rule, timeout=30)
    with open(f"/proc/{p.pid}/cmdline", "rb") as f:
        cmdline = f.read().decode("latin-1")
    faults.release(rule)
    o, e = p.communicate(timeout=60)
    check(held is not None, "status held at its first find")
    check(not leaks(cmdline) and "--uri\0mongodb://***" in cmdline,
          f"/proc/PID/cmdline while status runs: {cmdline!r}")
    check(p.returncode == 0 and "visible to every user of this host" in e, f"status: {e}")
    faults.clear()
    # The URI file's checks: each refused with exit 3 (or 2), naming the file.
    good = uri_file(f"  {GOOD}\r\n\n")
    r = run(["status", "--db", db, "--uri-file", good], via="none")
    check(r.returncode == 0, f"a URI file with whitespace around the URI: {r.returncode} {r.stderr}")
    cases = [(uri_file(GOOD, 0o640), "0640 are too open"), (uri_file(GOOD, 0o604), "0604 are too open"),
             (uri_file(""), "holds no URI"), (uri_file(GOOD + "\n" + GOOD), "more than one line"),
             (tmp, "not a regular file"), (os.path.join(tmp, "none"), "No such file")]
    if os.geteuid() == 0:
        other = uri_file(GOOD)
        os.chown(other, 65534, 65534)
        cases.append((other, "owned by uid 65534"))
    for path, want in cases:
        for args, env in ((["status", "--db", db, "--uri-file", path], {}),
                          (["verify", "--db", db], {"SWEFREQ_MONGO_URI_FILE": path})):
            r = run(args, via="none", env=env)
            check(r.returncode == 3 and want in r.stderr and path in r.stderr,
                  f"URI file {want}: {args[0]}: {r.returncode} {r.stderr}")
    r = run(["status", "--db", db, "--uri-file", good], u=GOOD)
    check(r.returncode == 2 and "not both" in r.stderr, f"--uri and --uri-file: {r.returncode}")
    r = run(["status", "--db", db], via="env", env={"SWEFREQ_MONGO_URI_FILE": good})
    check(r.returncode == 2 and "unset one" in r.stderr, f"both variables: {r.returncode} {r.stderr}")
    r = run(["status", "--db", db], via="none")
    check(r.returncode == 2 and "--uri-file FILE" in r.stderr, f"no URI at all: {r.stderr}")
    for d in (db, db2):
        client.drop_database(d)


class CmdlinePoller:
    """Reads /proc/PID/cmdline of the process `root` and all its
    descendants until stopped (other processes of the host, other tests
    among them, are not its business); keeps what holds a secret, and the
    command lines of the tool it saw."""

    def __init__(self):
        self.bad, self.seen, self.stop, self.root = [], set(), False, None
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def tree(self):
        parent = {}
        for d in glob.glob("/proc/[0-9]*"):
            try:
                with open(d + "/stat") as fh:
                    st = fh.read()
                parent[int(d[6:])] = int(st[st.rindex(")") + 2:].split()[1])
            except (OSError, ValueError, IndexError):
                continue
        mine = {self.root}
        grew = True
        while grew:
            more = {p for p, pp in parent.items() if pp in mine} - mine
            grew = bool(more)
            mine |= more
        return mine

    def loop(self):
        while not self.stop:
            if self.root is None:
                time.sleep(0.001)
                continue
            for pid in self.tree():
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as fh:
                        c = fh.read().decode("latin-1")
                except OSError:
                    continue
                if leaks(c):
                    self.bad.append(c.replace("\0", " "))
                if TOOL in c or "swefreq-load" in c:
                    self.seen.add(c.replace("\0", " "))
            time.sleep(0.002)

    def end(self):
        self.stop = True
        self.t.join()


def script(name, *args, env, hold=None):
    """Runs deploy/NAME with env (no other SWEFREQ_ variable); with hold =
    (faults, command, coll), that server command is held until the poller
    has seen the held process. Returns the result and the poller."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("SWEFREQ_")}
    e.update({"SWEFREQ_LOAD": TOOL}, **env)
    return watched(["bash", os.path.join(DEPLOY, name), *args], e, hold, name)


def watched(argv, e, hold, name):
    poller = CmdlinePoller()
    rule = hold[0].arm(hold[1], coll=hold[2], action="hold") if hold else None
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
    poller.root = p.pid
    if rule:
        check(hold[0].wait(rule, timeout=60) is not None, f"{name}: {hold[1]} held")
        time.sleep(0.2)  # several rounds of the poller while the tool is held
        hold[0].release(rule)
    out, err = p.communicate(timeout=300)
    poller.end()
    check(not poller.bad, f"{name}: a command line holds a secret: {poller.bad[:3]}")
    check(not leaks(out) and not leaks(err), f"{name}: its output holds a secret: {out} {err}")
    return p.returncode, out, err, poller


def test_no_uri_in_examples():
    """No script or document passes a URI with a password, or a variable
    that holds one, on a command line."""
    import re
    root = os.path.dirname(DEPLOY)
    texts = [f for f in glob.glob(os.path.join(DEPLOY, "**", "*"), recursive=True)
             if os.path.isfile(f)]
    texts += [os.path.join(root, "README.md")] + glob.glob(os.path.join(root, "docs", "*.md"))
    bad = re.compile(r"--uri[= ]+(\S*\$|['\"]?mongodb(\+srv)?://[^/@\s]*:[^@\s]*@)")
    for f in texts:
        for n, line in enumerate(open(f, errors="replace"), 1):
            check(not bad.search(line), f"{f}:{n}: a URI with a password on a command line: {line.strip()}")


def test_scripts():
    test_no_uri_in_examples()
    db = "sfl_secrets_scripts"
    client.drop_database(db)
    faults = require_faults(db)
    faults.clear()
    release = os.path.join(tmp, "release.json")
    dev = {"SWEFREQ_MONGO_URI": GOOD, "SWEFREQ_DB": db, "SWEFREQ_MANIFEST": release}
    rc, out, err, pl = script("dev-load.sh", *HIST, "--vcf", EXAC, "--coverage", COV, env=dev,
                              hold=(faults, "find", "swefreq_meta"))
    check(rc == 0 and "verify: OK" in out, f"dev-load.sh: {rc} {err[-400:]}")
    check(any(" load " in c for c in pl.seen), f"the poller saw the load: {pl.seen}")
    # The verify step of dev-load.sh, held on its scan of variants.
    rc, out, err, pl = script("dev-load.sh", *HIST, "--vcf", EXAC, env=dev,
                              hold=(faults, "find", "variants"))
    check(rc == 0, f"dev-load.sh again: {rc} {err[-400:]}")
    check(any(" verify " in c for c in pl.seen) or any(" load " in c for c in pl.seen),
          f"the poller saw the tool: {pl.seen}")
    key, pub = keypair("release")
    carry = os.path.join(tmp, "carry")
    rc, out, err, pl = script("dev-export.sh", carry,
                              env={**dev, "SWEFREQ_SIGNING_KEY": key, "SWEFREQ_TRUSTED_KEYS": pub},
                              hold=(faults, "find", "swefreq_meta"))
    check(rc == 0 and os.path.getsize(os.path.join(carry, db, "manifest.json.sig")) == 64,
          f"dev-export.sh, signed: {rc} {err[-400:]}")
    check(any(" export " in c and key in c for c in pl.seen), f"the poller saw the export: {pl.seen}")
    live_db = db + "_live"
    client.drop_database(live_db)
    live_faults = require_faults(live_db)
    live_faults.clear()
    refdir = os.path.join(tmp, "reference")
    lv = {"SWEFREQ_MONGO_URI_FILE": uri_file(GOOD + "\n"), "SWEFREQ_DB": live_db,
          "SWEFREQ_TRUSTED_KEYS": pub, "SWEFREQ_REFERENCE_DIR": refdir, "SWEFREQ_SERVER": "live-a"}
    rc, out, err, pl = script("live-restore-and-promote.sh", os.path.join(carry, db), env=lv,
                              hold=(live_faults, "find", "swefreq_meta"))
    ref = os.path.join(refdir, "live-a", live_db, "manifest.json")
    check(rc == 0 and os.path.isfile(ref) and os.path.isfile(ref + ".sig"),
          f"live-restore-and-promote.sh (URI file, signed): {rc} {err[-400:]}")
    role = client[live_db]["swefreq_meta"].find_one({"_id": "role"}) or {}
    check(role.get("role") == "live" and role.get("sealed") is True and
          role.get("signer_key_id") == key_id(pub) and role.get("manifest_sha256") == file_sha256(ref),
          f"promote recorded the signed release: {role}")
    log = os.path.join(tmp, "verify.json")
    rc, out, err, pl = script("live-verify.sh", env={**lv, "SWEFREQ_VERIFY_LOG": log},
                              hold=(live_faults, "find", "variants"))
    report = json.load(open(log))
    check(rc == 0 and report.get("ok") is True, f"live-verify.sh: {rc} {err}")
    rel = report.get("release") or {}
    check(rel.get("status") == "ok" and rel.get("key_id") == key_id(pub) and
          rel.get("recorded_manifest_sha256") == file_sha256(ref),
          f"live-verify.sh checked the release: {rel}")
    check(any(" verify " in c for c in pl.seen), f"the poller saw verify: {pl.seen}")
    scan_files("script files", carry, release, log, refdir)
    scan_db(db)
    scan_db(live_db)
    client.drop_database(db)
    client.drop_database(live_db)


def cron_command(conf):
    """The command of deploy/swefreq-verify.cron's job line, pointed at this
    tree and `conf`; checks that no line of the file holds a '%'."""
    lines = [ln for ln in open(os.path.join(DEPLOY, "swefreq-verify.cron")) if ln.strip()
             and not ln.lstrip().startswith("#")]
    check(not any("%" in ln for ln in lines), f"no '%' in the crontab (cron cuts there): {lines}")
    jobs = [ln.split(None, 6) for ln in lines if "=" not in ln.split()[0]]
    check(len(jobs) == 1 and jobs[0][:6] == ["17", "3", "*", "*", "*", "swefreq"],
          f"one job line, with a user field (/etc/cron.d): {jobs}")
    cmd = jobs[0][6].strip()
    check(cmd == "/opt/swefreq/deploy/swefreq-nightly-verify /etc/swefreq/nightly-verify.conf",
          f"the job runs the wrapper with its config: {cmd}")
    return cmd.replace("/opt/swefreq/deploy/", DEPLOY + "/").replace(
        "/etc/swefreq/nightly-verify.conf", conf)


def test_nightly():
    """deploy/swefreq-nightly-verify as cron runs it: the crontab's command
    through /bin/sh in an environment as bare as cron's (env -i, PATH
    /usr/bin:/bin), a URI with a %40-encoded password in a URI file."""
    db = "sfl_secrets_nightly"
    client.drop_database(db)
    faults = require_faults(db)
    faults.clear()
    # A live database as the signed release procedure leaves it: the
    # manifest signed with the release key, promoted with it trusted (so
    # the role record holds the signer and the manifest's SHA-256), and
    # this server's reference REFERENCE_DIR/SERVER/DB/manifest.json(.sig).
    key, pub = keypair("nightly-release")
    _, other_pub = keypair("nightly-other")
    okey, _ = keypair("nightly-intruder")
    man = os.path.join(tmp, "nightly-manifest.json")
    e = {k: v for k, v in os.environ.items() if not k.startswith("SWEFREQ_")}
    e["SWEFREQ_MONGO_URI"] = GOOD
    for args in (["load", "--db", db, *HIST, "--vcf", EXAC, "--quiet", "--manifest", man],
                 ["sign", "--manifest", man, "--key", key, "--quiet"],
                 ["promote", "--db", db, "--manifest", man, "--trusted-key", pub, "--quiet"]):
        r = subprocess.run([TOOL, *args], env=e, capture_output=True, text=True)
        check(r.returncode == 0, f"a signed live database: {args[0]}: {r.returncode} {r.stderr}")
    role = client[db]["swefreq_meta"].find_one({"_id": "role"}) or {}
    check(role.get("signer_key_id") == key_id(pub) and role.get("manifest_sha256") == file_sha256(man),
          f"promote recorded the release: {role}")
    refdir = os.path.join(tmp, "nightly-reference")
    ref = os.path.join(refdir, "live-a", db, "manifest.json")
    os.makedirs(os.path.dirname(ref))
    shutil.copyfile(man, ref)
    shutil.copyfile(man + ".sig", ref + ".sig")
    logdir = os.path.join(tmp, "log")
    os.mkdir(logdir)
    urif = uri_file(GOOD + "\n")
    conf = os.path.join(tmp, "nightly-verify.conf")

    def write_conf(**over):
        c = {"SWEFREQ_MONGO_URI_FILE": urif, "SWEFREQ_TRUSTED_KEYS": pub,
             "SWEFREQ_REFERENCE_DIR": refdir, "SWEFREQ_SERVER": "live-a", "SWEFREQ_DB": db,
             "SWEFREQ_LOAD": TOOL, "SWEFREQ_VERIFY_LOG": os.path.join(logdir, "verify.json"),
             "SWEFREQ_NIGHTLY_LOG": os.path.join(logdir, "nightly.log")}
        c.update(over)
        with open(conf, "w") as f:
            f.write("# test config\n\n")
            f.writelines(f"{k}={v}\n" for k, v in c.items() if v is not None)

    cmd = cron_command(conf)
    cron_env = {"PATH": "/usr/bin:/bin", "SHELL": "/bin/sh", "HOME": tmp, "LOGNAME": "swefreq"}

    def cron(hold=None, env=None):
        return watched(["/bin/sh", "-c", cmd], {**cron_env, **(env or {})}, hold, "cron job")

    write_conf()
    rc, out, err, pl = cron(hold=(faults, "find", "variants"))
    log = open(os.path.join(logdir, "nightly.log")).read()
    check(rc == 0 and out == "" and err == "", f"nightly ok, silent: {rc} {out!r} {err!r}")
    report = json.load(open(os.path.join(logdir, "verify.json")))
    check("exit 0: ok" in log and f"against {ref}" in log and report["ok"] is True,
          f"the log and the JSON report: {log}")
    rel = report.get("release") or {}
    check(rel.get("status") == "ok" and rel.get("key_id") == key_id(pub) and
          rel.get("manifest_sha256") == file_sha256(ref), f"the release was checked: {rel}")
    check(any(" verify " in c and ref in c for c in pl.seen), f"the poller saw the verify: {pl.seen}")
    # The other ways of naming keys and reference: two trusted keys
    # (colon-separated, e.g. while a key is replaced), quoted values, the
    # one reference file SWEFREQ_LIVE_MANIFEST.
    for over in ({"SWEFREQ_TRUSTED_KEYS": f"{other_pub}:{pub}"},
                 {"SWEFREQ_TRUSTED_KEYS": f'"{pub}"', "SWEFREQ_SERVER": '"live-a"'},
                 {"SWEFREQ_REFERENCE_DIR": None, "SWEFREQ_SERVER": None, "SWEFREQ_LIVE_MANIFEST": ref}):
        write_conf(**over)
        rc, out, err, _ = cron()
        check(rc == 0 and out == "" and err == "", f"config {over}: {rc} {out!r} {err!r}")
    write_conf()
    # The reference's signature replaced by another key's: exit 10, said.
    honest_sig = open(ref + ".sig", "rb").read()
    r = subprocess.run([TOOL, "sign", "--manifest", ref, "--key", okey, "--quiet"], env=e,
                       capture_output=True, text=True)
    check(r.returncode == 0 and open(ref + ".sig", "rb").read() != honest_sig, f"re-signed: {r.stderr}")
    rc, out, err, _ = cron()
    check(rc == 10 and "SIGNATURE REFUSED" in err and ref in err and "exit 10" in
          open(os.path.join(logdir, "nightly.log")).read(), f"a foreign signature: {rc} {err}")
    # Only the trusted key that is not the signer's: refused as well.
    write_conf(SWEFREQ_TRUSTED_KEYS=other_pub)
    with open(ref + ".sig", "wb") as fh:
        fh.write(honest_sig)
    rc, out, err, _ = cron()
    check(rc == 10, f"the signer's key not trusted: {rc} {err}")
    # A reference signed honestly but not the one promoted: exit 5.
    write_conf()
    with open(ref, "a") as fh:
        fh.write("\n")
    r = subprocess.run([TOOL, "sign", "--manifest", ref, "--key", key, "--quiet"], env=e,
                       capture_output=True, text=True)
    rc, out, err, _ = cron()
    check(r.returncode == 0 and rc == 5 and "DEVIATION" in err and
          json.load(open(os.path.join(logdir, "verify.json")))["release"]["status"] == "differs",
          f"a signed reference other than the release promoted: {rc} {err}")
    shutil.copyfile(man, ref)
    shutil.copyfile(man + ".sig", ref + ".sig")
    rc, out, err, _ = cron()
    check(rc == 0 and err == "", f"the honest reference back: {rc} {err}")
    # The caller's SWEFREQ_ variables are ignored: the config decides.
    rc, out, err, _ = cron(env={"SWEFREQ_MONGO_URI": UNREACHABLE, "SWEFREQ_DB": "other"})
    check(rc == 0, f"SWEFREQ_ variables of the caller ignored: {rc} {err}")
    # A deviation: exit 5, said on stderr (cron mails it) and in the log.
    d = client[db]["variants"].find_one()
    client[db]["variants"].update_one({"_id": d["_id"]}, {"$set": {"allele_freq": 0.5}})
    rc, out, err, _ = cron()
    check(rc == 5 and "DEVIATION" in err and "exit 5" in open(os.path.join(logdir, "nightly.log")).read(),
          f"a changed document: {rc} {err}")
    client[db]["variants"].replace_one({"_id": d["_id"]}, d)
    # A server that stops answering mid-scan: the verify is stopped after
    # SWEFREQ_VERIFY_TIMEOUT and the run fails with exit 124, saying so.
    rule = faults.arm("find", coll="variants", action="hold")
    write_conf(SWEFREQ_VERIFY_TIMEOUT="3s")
    t0 = time.time()
    try:
        rc, out, err, _ = cron()
    except subprocess.TimeoutExpired:
        rc, out, err = None, "", "hung"
    took = time.time() - t0
    faults.clear()
    check(rc == 124 and "TIMED OUT" in err and "3s" in err and took < 120 and
          "exit 124" in open(os.path.join(logdir, "nightly.log")).read(),
          f"a verify that hangs is stopped: {rc} {err} ({took:.0f} s)")
    write_conf()
    rc, out, err, _ = cron()
    check(rc == 0 and err == "", f"answering again: {rc} {err}")
    # Every other failure is non-zero, with a message.
    os.chmod(urif, 0o644)
    rc, out, err, _ = cron()
    check(rc == 3 and "too open" in err, f"URI file readable by others: {rc} {err}")
    os.chmod(urif, 0o600)
    write_conf(SWEFREQ_MONGO_URI_FILE=uri_file(UNREACHABLE))
    rc, out, err, _ = cron()
    check(rc == 6 and "unreachable" in err, f"server unreachable: {rc} {err}")
    for over, want in (({"SWEFREQ_TRUSTED_KEYS": None}, "SWEFREQ_TRUSTED_KEYS is not set"),
                       ({"SWEFREQ_TRUSTED_KEYS": ""}, "SWEFREQ_TRUSTED_KEYS is empty"),
                       ({"SWEFREQ_TRUSTED_KEYS": "release.pub"}, "'release.pub' is not an absolute path"),
                       ({"SWEFREQ_TRUSTED_KEYS": f"{pub}:keys/other.pub"}, "'keys/other.pub' is not an absolute"),
                       ({"SWEFREQ_TRUSTED_KEYS": f"{pub}:"}, "'' is not an absolute path"),
                       ({"SWEFREQ_REFERENCE_DIR": None, "SWEFREQ_SERVER": None}, "no reference"),
                       ({"SWEFREQ_SERVER": None}, "go together"),
                       ({"SWEFREQ_REFERENCE_DIR": None}, "go together"),
                       ({"SWEFREQ_REFERENCE_DIR": "reference"}, "must be an absolute path"),
                       ({"SWEFREQ_SERVER": "live-a/x"}, "plain name"),
                       ({"SWEFREQ_SERVER": ".."}, "plain name"),
                       ({"SWEFREQ_LIVE_MANIFEST": ref}, "not both"),
                       ({"SWEFREQ_LOAD": "swefreq-load"}, "must be an absolute path"),
                       ({"SWEFREQ_LOAD": "/nonexistent/swefreq-load"}, "not an executable"),
                       ({"SWEFREQ_MONGO_URI": GOOD}, "no URI here"),
                       ({"SWEFREQ_VERIFY_TIMEOUT": "soon"}, "is not a duration"),
                       ({"SWEFREQ_VERIFY_TIMEOUT": "0"}, "is not a duration"),
                       ({"SWEFREQ_COLOUR": "x"}, "unknown key")):
        write_conf(**over)
        rc, out, err, _ = cron()
        check(rc == 2 and want in err, f"config {over}: {rc} {err}")
    write_conf(SWEFREQ_NIGHTLY_LOG="/proc/nonexistent/nightly.log")
    rc, out, err, _ = cron()
    check(rc == 4 and "cannot write the log" in err, f"log not writable: {rc} {err}")
    os.unlink(conf)
    rc, out, err, _ = cron()
    check(rc == 2 and "cannot read the config" in err, f"no config: {rc} {err}")
    # The systemd units: valid (systemd-analyze verify), and the service
    # runs what the cron line runs.
    units = os.path.join(tmp, "units")
    os.mkdir(units)
    for u in ("swefreq-verify.service", "swefreq-verify.timer"):
        text = open(os.path.join(DEPLOY, u)).read()
        if u.endswith(".service"):
            execs = [ln.split("=", 1)[1] for ln in text.splitlines() if ln.startswith("ExecStart=")]
            check(execs == ["/opt/swefreq/deploy/swefreq-nightly-verify /etc/swefreq/nightly-verify.conf"],
                  f"the service runs the wrapper with the cron line's config: {execs}")
        with open(os.path.join(units, u), "w") as f:
            f.write(text.replace("/opt/swefreq/deploy/", DEPLOY + "/"))
    if shutil.which("systemd-analyze"):
        r = subprocess.run(["systemd-analyze", "verify", "swefreq-verify.service", "swefreq-verify.timer"],
                           cwd=units, capture_output=True, text=True)
        check(r.returncode == 0, f"systemd-analyze verify: {r.stdout} {r.stderr}")
    else:
        print("systemd-analyze not found: the unit files were not verified")
    client.drop_database(db)


if MODE == "cli":
    test_cli()
elif MODE == "nightly":
    test_nightly()
elif MODE == "scripts":
    test_scripts()
else:
    sys.exit(f"unknown mode {MODE}")
shutil.rmtree(tmp, ignore_errors=True)
finish(f"mongo_secrets_{MODE}")
