#!/usr/bin/env python3
"""Signed releases (swefreq/sign.h): `sign`, `export --signing-key`,
--trusted-key / SWEFREQ_TRUSTED_KEYS on verify, restore and promote
(exit 10), the release recorded at promote and compared by the nightly
verify, `demote`, and the role a failed promote reports.

usage: signing_test.py MODE SWEFREQ_LOAD TESTDATA_DIR
  MODE files:   no server. sign writes manifest.json.sig, which `openssl
                pkeyutl -verify -rawin` accepts (the key id is what `openssl
                pkey -outform DER | sha256sum` prints); a private key readable
                by group or others, a public key given as the private one, a
                private key given as a trusted key, a key file holding two
                PEM blocks: exit 3 naming the file;
                verify --dump with a trusted key: signed ok (0), unsigned,
                signed by another key, or changed after signing: exit 10,
                naming the manifest and the key ids, with --json one object.
  MODE attack:  issue 20 item 2 against the test server: variants.bson of a
                carried (exported, signed) dump is edited and the count and
                digest of its manifest.json rewritten to match. Without a
                trusted key verify --dump passes (the defect); with one,
                verify --dump, restore and promote exit 10 and the target
                database (every collection's documents and indexes,
                swefreq_meta included) is identical before and after; the
                same for the forged manifest re-signed with an untrusted key
                and for an unsigned one; the honest dump restores and
                promotes, recording the signer and the manifest's SHA-256.
  MODE nightly: the nightly verify --uri --manifest FILE --trusted-key K of a
                database promoted with a signed manifest: 0 with the same
                file; 5 with another manifest of the same data signed by the
                same key, with the same manifest re-signed by another trusted
                key, and for a database promoted without a trusted key; 10 for
                a wrong signature; status shows the signer and SHA-256.
  MODE demote:  demote needs --reason (2, nothing changed) and a live
                database (2); it returns a sealed live database to
                development, unsealed, with the reason in the history; a
                failed promote of a live database says "role live" (it said
                "role none"); an unseal held by the fault proxy between its
                gate and its lock while a demote runs to its end finds the
                database not sealed (exit 2) and the demote stands.
Exit 77 when pymongo is missing (server modes).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import digest_kat  # noqa: E402  (the format-2 digest, computed without swefreq-load)

MODE, TOOL, TD = sys.argv[1:4]
tmp = tempfile.mkdtemp(prefix="sfl_signing_")
exac = os.path.join(TD, "exac_sample.vcf")
cov = os.path.join(TD, "coverage_sample.tsv")

if MODE == "files":
    from testlib import check, finish  # noqa: E402
else:
    from mongo_common import URI, check, finish  # noqa: E402
    import pymongo  # noqa: E402
    client = pymongo.MongoClient(URI, serverSelectionTimeoutMS=5000)
    ferret = "ferretdbVersion" in client.admin.command("buildInfo")
HIST = ["--histograms", "columns"] if MODE != "files" and ferret else []


def run(*args, env=None, timeout=120):
    e = dict(os.environ)
    for k in ("SWEFREQ_EXPECT_ROLE", "SWEFREQ_TRUSTED_KEYS"):
        e.pop(k, None)
    e.update(env or {})
    return subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=timeout, env=e)


def keypair(name):
    """An Ed25519 key pair made with openssl, as docs/deploy.md says."""
    key, pub = os.path.join(tmp, name + ".key"), os.path.join(tmp, name + ".pub")
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", key], check=True,
                   capture_output=True)
    os.chmod(key, 0o600)
    subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out", pub], check=True,
                   capture_output=True)
    der = subprocess.run(["openssl", "pkey", "-pubin", "-in", pub, "-outform", "DER"],
                         check=True, capture_output=True).stdout
    import hashlib
    return key, pub, hashlib.sha256(der).hexdigest()


def openssl_verifies(pub, path):
    r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin",
                        "-in", path, "-sigfile", path + ".sig"], capture_output=True, text=True)
    return r.returncode == 0 and "Signature Verified Successfully" in r.stdout


def sha256_file(path):
    import hashlib
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def forge(dump, out):
    """Item 2 of issue 20: a copy of `dump` whose variants.bson is edited
    and whose manifest.json gets the new count (from verify) and digest
    (format 2's, computed by digest_kat.py: verify reports only
    fingerprints), so that it matches."""
    shutil.copytree(dump, out)
    path = os.path.join(out, "variants.bson")
    data = bytearray(open(path, "rb").read())
    i = data.find(b"rs")
    data[i + 2:i + 3] = b"9" if data[i + 2:i + 3] != b"9" else b"8"
    open(path, "wb").write(bytes(data))
    r = run("verify", "--dump", out, "--json")
    rep = json.loads(r.stdout)
    mpath = os.path.join(out, "manifest.json")
    m = json.load(open(mpath))
    for c in m["collections"]:
        for got in rep["collections"]:
            if got["name"] == c["name"]:
                c["count"] = got["actual_count"]
                with open(os.path.join(out, c["name"] + ".bson"), "rb") as f:
                    c["digest"] = digest_kat.digest_text(f.read())
    open(mpath, "w").write(json.dumps(m, indent=2) + "\n")
    return out


def test_files():
    key, pub, kid = keypair("release")
    okey, opub, okid = keypair("other")
    r = run("dump", "--out", os.path.join(tmp, "d"), "--db", "x", "--vcf", exac, "--quiet")
    check(r.returncode == 0, f"dump: {r.returncode} {r.stderr}")
    dump = os.path.join(tmp, "d", "x")
    man = os.path.join(dump, "manifest.json")

    # sign: the signature openssl accepts, and the key id openssl prints.
    r = run("sign", "--manifest", man, "--key", key)
    check(r.returncode == 0 and kid in r.stderr, f"sign: {r.returncode} {r.stderr}")
    sig = open(man + ".sig", "rb").read()
    check(len(sig) == 64, f"the signature is 64 raw bytes: {len(sig)}")
    check(openssl_verifies(pub, man), "openssl pkeyutl -verify accepts the signature")
    check(not openssl_verifies(opub, man), "openssl refuses it with another key")
    r = run("sign", "--manifest", man, "--key", key, "--out", os.path.join(tmp, "elsewhere.sig"))
    check(r.returncode == 0 and open(os.path.join(tmp, "elsewhere.sig"), "rb").read() == sig,
          "--out writes the same (deterministic Ed25519) signature elsewhere")
    check(not [f for f in os.listdir(dump) if f.startswith(".")], "no temporary file left")

    # Key files that cannot be used: exit 3, naming the file (and the mode).
    loose = os.path.join(tmp, "loose.key")
    shutil.copy(key, loose)
    for mode in (0o640, 0o604, 0o620):
        os.chmod(loose, mode)
        r = run("sign", "--manifest", man, "--key", loose)
        check(r.returncode == 3 and loose in r.stderr and f"{mode:04o}" in r.stderr,
              f"a private key of mode {mode:o} is refused: {r.returncode} {r.stderr}")
    check(open(man + ".sig", "rb").read() == sig, "a refused key wrote no signature")
    r = run("sign", "--manifest", man, "--key", pub)
    check(r.returncode == 3 and pub in r.stderr, f"a public key to sign with: {r.returncode} {r.stderr}")
    r = run("sign", "--manifest", man, "--key", os.path.join(tmp, "absent.key"))
    check(r.returncode == 3 and "absent.key" in r.stderr, f"no key file: {r.returncode}")
    r = run("verify", "--dump", dump, "--trusted-key", key)
    check(r.returncode == 3 and key in r.stderr, f"a private key as trusted key: {r.returncode} {r.stderr}")
    # A key file with two PEM blocks (issue 20 review): OpenSSL reads the
    # first public key and skips the rest, so `cat other.pub release.pub`
    # trusted only other (exit 10 for a release signed with release.pub)
    # and a private key pasted after a public one went unnoticed (main: 0).
    # Refused, naming the file: exit 3.
    for name, parts in (("two.pub", (opub, pub)), ("withkey.pub", (pub, okey))):
        both = os.path.join(tmp, name)
        with open(both, "w") as f:
            f.write("".join(open(p).read() for p in parts))
        r = run("verify", "--dump", dump, "--trusted-key", both)
        check(r.returncode == 3 and both in r.stderr and "PEM blocks" in r.stderr,
              f"a key file with two PEM blocks ({name}): {r.returncode} {r.stderr}")
    r = run("sign", "--manifest", man)
    check(r.returncode == 2, f"sign without --key: {r.returncode}")
    enc = os.path.join(tmp, "encrypted.key")
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-aes-256-cbc", "-pass",
                    "pass:secret", "-out", enc], check=True, capture_output=True)
    os.chmod(enc, 0o600)
    r = subprocess.run([TOOL, "sign", "--manifest", man, "--key", enc], capture_output=True,
                       text=True, timeout=30, stdin=subprocess.DEVNULL, start_new_session=True)
    check(r.returncode == 3 and enc in r.stderr, f"an encrypted key is refused, no prompt: {r.returncode} {r.stderr}")

    # verify --dump with a trusted key.
    r = run("verify", "--dump", dump, "--trusted-key", pub)
    check(r.returncode == 0 and kid in r.stdout, f"signed dump: {r.returncode} {r.stdout} {r.stderr}")
    r = run("verify", "--dump", dump, "--trusted-key", pub, "--json")
    out = json.loads(r.stdout) if r.stdout.strip() else {}
    check(r.returncode == 0 and out.get("manifest", {}).get("signer") == kid,
          f"--json names the signer as the reference's: {r.stdout[:300]}")
    r = run("verify", "--dump", dump, "--json")
    out = json.loads(r.stdout) if r.stdout.strip() else {}
    check(r.returncode == 0 and out.get("manifest", {}).get("signer") is None,
          f"no trusted key, no signer claimed: {r.stdout[:300]}")
    r = run("verify", "--dump", os.path.join(tmp, "d"), "--db", "x", env={"SWEFREQ_TRUSTED_KEYS": f"{opub}:{pub}"})
    check(r.returncode == 0, f"SWEFREQ_TRUSTED_KEYS with two keys: {r.returncode} {r.stderr}")
    r = run("verify", "--dump", dump, "--trusted-key", pub, env={"SWEFREQ_TRUSTED_KEYS": opub})
    check(r.returncode == 0, f"--trusted-key replaces SWEFREQ_TRUSTED_KEYS: {r.returncode} {r.stderr}")
    r = run("verify", "--dump", dump, "--trusted-key", opub)
    check(r.returncode == 10 and man in r.stderr and okid in r.stderr and "not trusted" in r.stderr,
          f"signed by a key not trusted: {r.returncode} {r.stderr}")
    r = run("verify", "--dump", dump, "--trusted-key", opub, "--json")
    out = json.loads(r.stdout) if r.stdout.strip() else {}
    check(r.returncode == 10 and out.get("ok") is False and out.get("exit_code") == 10,
          f"--json: one object: {r.stdout}")
    r = run("verify", "--dump", dump, env={"SWEFREQ_TRUSTED_KEYS": os.path.join(tmp, "nokey.pub")})
    check(r.returncode == 3 and "nokey.pub" in r.stderr, f"a trusted key file missing: {r.returncode}")
    # Changed after signing (one byte of whitespace): refused.
    text = open(man).read()
    open(man, "w").write(text + " ")
    r = run("verify", "--dump", dump, "--trusted-key", pub)
    check(r.returncode == 10 and "changed after" in r.stderr, f"changed manifest: {r.returncode} {r.stderr}")
    open(man, "w").write(text)
    # A signature file that is not 64 bytes, and none at all.
    open(man + ".sig", "wb").write(sig[:63])
    r = run("verify", "--dump", dump, "--trusted-key", pub)
    check(r.returncode == 10 and "63 bytes" in r.stderr, f"cut signature: {r.returncode} {r.stderr}")
    os.unlink(man + ".sig")
    r = run("verify", "--dump", dump, "--trusted-key", pub)
    check(r.returncode == 10 and "unsigned" in r.stderr and kid in r.stderr,
          f"unsigned: {r.returncode} {r.stderr}")
    r = run("verify", "--dump", dump)
    check(r.returncode == 0, "without a trusted key nothing is asked of the signature")
    # --manifest FILE: FILE.sig is the signature checked.
    copy = os.path.join(tmp, "copy.json")
    shutil.copy(man, copy)
    r = run("sign", "--manifest", copy, "--key", key, "--quiet")
    r = run("verify", "--dump", dump, "--manifest", copy, "--trusted-key", pub)
    check(r.returncode == 0, f"--manifest with its .sig: {r.returncode} {r.stderr}")
    # dump --signing-key signs the dump's manifest.json and --manifest FILE.
    side = os.path.join(tmp, "side.json")
    r = run("dump", "--out", os.path.join(tmp, "d2"), "--db", "y", "--vcf", exac, "--quiet",
            "--manifest", side, "--signing-key", key)
    check(r.returncode == 0 and openssl_verifies(pub, os.path.join(tmp, "d2", "y", "manifest.json"))
          and openssl_verifies(pub, side), f"dump --signing-key: {r.returncode} {r.stderr}")
    os.chmod(loose, 0o644)
    r = run("dump", "--out", os.path.join(tmp, "d3"), "--db", "y", "--vcf", exac, "--quiet",
            "--signing-key", loose)
    check(r.returncode == 3 and not os.path.exists(os.path.join(tmp, "d3", "y")),
          f"dump with an unusable key: exit 3 before anything is written: {r.returncode}")
    # A FIFO or a link where the manifest, its signature or a key file
    # belongs: refused at once (exit 3, naming the file), never a hang,
    # and a link inside the dump is not followed.
    def bounded(*args):
        try:
            return run(*args, timeout=20)
        except subprocess.TimeoutExpired:
            return None
    run("sign", "--manifest", man, "--key", key, "--quiet")
    os.rename(man + ".sig", man + ".sig.keep")
    os.mkfifo(man + ".sig")
    r = bounded("verify", "--dump", dump, "--trusted-key", pub)
    check(r is not None and r.returncode == 3 and man + ".sig" in r.stderr,
          f"a FIFO as manifest.json.sig: {r and (r.returncode, r.stderr)}")
    os.unlink(man + ".sig")
    os.rename(man + ".sig.keep", man + ".sig")
    fifo_key = os.path.join(tmp, "fifo.pub")
    os.mkfifo(fifo_key)
    r = bounded("verify", "--dump", dump, "--trusted-key", fifo_key)
    check(r is not None and r.returncode == 3 and fifo_key in r.stderr,
          f"a FIFO as the trusted key: {r and (r.returncode, r.stderr)}")
    os.rename(man, man + ".keep")
    os.mkfifo(man)
    for extra in ([], ["--trusted-key", pub]):
        r = bounded("verify", "--dump", dump, *extra)
        check(r is not None and r.returncode == 3 and man in r.stderr,
              f"a FIFO as manifest.json {extra}: {r and (r.returncode, r.stderr)}")
    os.unlink(man)
    elsewhere = os.path.join(tmp, "elsewhere.json")
    shutil.copy(man + ".keep", elsewhere)
    os.symlink(elsewhere, man)
    for extra in ([], ["--trusted-key", pub]):
        r = bounded("verify", "--dump", dump, *extra)
        check(r is not None and r.returncode == 3 and man in r.stderr and "symbolic link" in r.stderr,
              f"a link as manifest.json is not followed {extra}: {r and (r.returncode, r.stderr)}")
    os.unlink(man)
    os.rename(man + ".keep", man)
    r = run("verify", "--dump", dump, "--trusted-key", pub)
    check(r.returncode == 0, f"the restored dump verifies: {r.returncode} {r.stderr}")
    # The help and the exit-code table name exit 10.
    r = run("--help")
    check(" 10 " in r.stdout and "signature refused" in r.stdout, "--help names exit 10")
    r = run("sign", "--help")
    check(r.returncode == 0 and "openssl pkeyutl -verify" in r.stdout, "sign --help: the openssl check")


def snapshot(db):
    """Every collection of db (swefreq_meta included): its documents (as
    BSON bytes, sorted) and its indexes."""
    import bson
    out = {}
    for name in sorted(client[db].list_collection_names()):
        coll = client[db].get_collection(
            name, codec_options=bson.codec_options.CodecOptions(document_class=bson.raw_bson.RawBSONDocument))
        docs = sorted(d.raw for d in coll.find())
        out[name] = (docs, sorted(client[db][name].index_information()))
    return out


def role_record(db):
    return client[db]["swefreq_meta"].find_one({"_id": "role"})


def export_signed(db, key, out):
    r = run("load", "--uri", URI, "--db", db, *HIST, "--vcf", exac, "--coverage", cov, "--quiet")
    check(r.returncode == 0, f"load: {r.returncode} {r.stderr}")
    r = run("export", "--uri", URI, "--db", db, "--out", out, "--signing-key", key)
    check(r.returncode == 0 and "signed with key" in r.stderr, f"export --signing-key: {r.returncode} {r.stderr}")
    return os.path.join(out, db)


def test_export_hidden_folder(key, pub, src, out):
    """export --signing-key signs inside the hidden folder and publishes the
    manifest and its signature together; a link or a folder planted while
    the export runs is never followed nor published (exit 4)."""
    from faults import Faults
    f = Faults.from_env(src)
    if f is None:
        return
    dump = os.path.join(out, src)
    before = open(os.path.join(dump, "manifest.json.sig"), "rb").read()
    victim = os.path.join(tmp, "victim.txt")
    for attack in ("link", "swap"):
        with open(victim, "w") as v:
            v.write("precious\n")
        rule = f.arm("find", coll="variants", action="hold")
        e = dict(os.environ)
        e.pop("SWEFREQ_EXPECT_ROLE", None)
        p = subprocess.Popen([TOOL, "export", "--uri", URI, "--db", src, "--out", out,
                              "--signing-key", key, "--quiet"], env=e,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        held = f.wait(rule)
        check(held is not None, f"{attack}: the export's find on variants is held")
        hidden = os.path.join(out, f".{src}.export-{p.pid}")
        st = os.lstat(hidden)
        check(st.st_mode & 0o777 == 0o700, f"{attack}: the hidden folder is 0700: {oct(st.st_mode)}")
        check(not os.path.exists(os.path.join(hidden, "manifest.json")),
              f"{attack}: no manifest in the hidden folder before the data")
        if attack == "link":
            os.symlink(victim, os.path.join(hidden, "variants.metadata.json"))
        else:
            os.rename(hidden, os.path.join(tmp, "aside"))
            os.mkdir(hidden)
            with open(os.path.join(hidden, "manifest.json"), "w") as m:
                m.write("{}\n")
        f.release(rule)
        so, se = p.communicate(timeout=120)
        check(p.returncode == 4, f"{attack}: export refused with exit 4: {p.returncode} {se}")
        check(open(victim).read() == "precious\n", f"{attack}: the file a planted link names is untouched")
        check(open(os.path.join(dump, "manifest.json.sig"), "rb").read() == before
              and openssl_verifies(pub, os.path.join(dump, "manifest.json")),
              f"{attack}: the published signed dump is the earlier one, and verifies")
        if attack == "swap":
            check(not os.path.exists(os.path.join(tmp, "aside", "manifest.json.sig")) or
                  openssl_verifies(pub, os.path.join(tmp, "aside", "manifest.json")),
                  "swap: the signature was made over the bytes written, in the export's own folder")
            shutil.rmtree(hidden, ignore_errors=True)
            shutil.rmtree(os.path.join(tmp, "aside"), ignore_errors=True)
    f.clear()


def test_attack():
    key, pub, kid = keypair("release")
    okey, opub, okid = keypair("intruder")
    src, tgt = "sfl_sign_src", "sfl_sign_tgt"
    for d in (src, tgt):
        client.drop_database(d)
    dump = export_signed(src, key, os.path.join(tmp, "carry"))
    check(openssl_verifies(pub, os.path.join(dump, "manifest.json")),
          "openssl verifies the exported manifest's signature")
    test_export_hidden_folder(key, pub, src, os.path.join(tmp, "carry"))
    # The target holds an earlier restore of the honest dump (not sealed).
    r = run("restore", "--uri", URI, "--db", tgt, "--dump", dump, "--trusted-key", pub)
    check(r.returncode == 0, f"restore of the signed dump: {r.returncode} {r.stderr}")
    rec = client[tgt]["swefreq_meta"].find_one({"command": "restore"})
    check(rec and rec.get("release", {}).get("signer_key_id") == kid
          and rec["release"].get("manifest_sha256") == sha256_file(os.path.join(dump, "manifest.json")),
          f"the restore's record names the release: {rec and rec.get('release')}")

    forged = forge(dump, os.path.join(tmp, "forged", src))
    fman = os.path.join(forged, "manifest.json")
    r = run("verify", "--dump", forged)
    check(r.returncode == 0, f"without a trusted key the forged dump passes (the defect): {r.returncode}")
    r = run("verify", "--dump", forged, "--trusted-key", pub)
    check(r.returncode == 10 and fman in r.stderr and kid in r.stderr,
          f"verify --dump of the forged dump: {r.returncode} {r.stderr}")

    before = snapshot(tgt)
    cases = {"forged, the old signature": None, "re-signed with an untrusted key": okey,
             "unsigned": "remove"}
    for what, how in cases.items():
        if how == "remove":
            os.unlink(fman + ".sig")
        elif how:
            r = run("sign", "--manifest", fman, "--key", how, "--quiet")
            check(r.returncode == 0, "re-signed")
        for env in ({}, {"SWEFREQ_TRUSTED_KEYS": pub}):
            extra = [] if env else ["--trusted-key", pub]
            r = run("verify", "--dump", forged, *extra, env=env)
            check(r.returncode == 10, f"{what}: verify --dump {env}: {r.returncode}")
            r = run("restore", "--uri", URI, "--db", tgt, "--dump", forged, *extra, env=env)
            check(r.returncode == 10 and fman in r.stderr and kid in r.stderr,
                  f"{what}: restore {env}: {r.returncode} {r.stderr}")
            r = run("promote", "--uri", URI, "--db", tgt, "--manifest", fman, *extra, env=env)
            check(r.returncode == 10 and fman in r.stderr and kid in r.stderr,
                  f"{what}: promote {env}: {r.returncode} {r.stderr}")
            check(snapshot(tgt) == before, f"{what} {env}: the target database is unchanged")
    # variants.bson changed under the untouched signed manifest: the signed
    # counts and digests no longer match (exit 5), the target unchanged.
    changed = os.path.join(tmp, "changed", src)
    shutil.copytree(dump, changed)
    data = bytearray(open(os.path.join(changed, "variants.bson"), "rb").read())
    i = data.find(b"rs")
    data[i + 2:i + 3] = b"9" if data[i + 2:i + 3] != b"9" else b"8"
    open(os.path.join(changed, "variants.bson"), "wb").write(bytes(data))
    r = run("verify", "--dump", changed, "--trusted-key", pub)
    check(r.returncode == 5, f"a changed .bson under a signed manifest: verify --dump {r.returncode}")
    r = run("restore", "--uri", URI, "--db", tgt, "--dump", changed, "--trusted-key", pub)
    check(r.returncode == 5 and snapshot(tgt)["variants"] == before["variants"],
          f"... restore: {r.returncode} {r.stderr}")
    client[tgt]["swefreq_meta"].delete_many({"command": "restore", "status": "failed"})
    check(snapshot(tgt) == before, "the failed restore's record aside, the target is unchanged")
    # export with a key it cannot use: exit 3, nothing exported.
    loose = os.path.join(tmp, "loose.key")
    shutil.copy(key, loose)
    os.chmod(loose, 0o644)
    r = run("export", "--uri", URI, "--db", src, "--out", os.path.join(tmp, "noexport"),
            "--signing-key", loose)
    check(r.returncode == 3 and not os.path.exists(os.path.join(tmp, "noexport")),
          f"export with a loose key: {r.returncode}, nothing written")
    # A restore into a new database: nothing created at all.
    r = run("restore", "--uri", URI, "--db", "sfl_sign_new", "--dump", forged, "--trusted-key", pub)
    check(r.returncode == 10 and "sfl_sign_new" not in client.list_database_names(),
          f"restore of the forged dump into a new database: {r.returncode}, nothing created")

    # The honest dump: restore and promote pass, the seal records the release.
    r = run("promote", "--uri", URI, "--db", tgt, "--manifest", os.path.join(dump, "manifest.json"),
            "--trusted-key", pub, "--json")
    out = json.loads(r.stdout) if r.stdout.strip() else {}
    check(r.returncode == 0 and out.get("release", {}).get("signer_key_id") == kid,
          f"promote with the signed manifest: {r.returncode} {r.stderr} {r.stdout[:300]}")
    rec = role_record(tgt)
    sha = sha256_file(os.path.join(dump, "manifest.json"))
    check(rec["signer_key_id"] == kid and rec["manifest_sha256"] == sha
          and rec["history"][-1]["signer_key_id"] == kid and rec["history"][-1]["manifest_sha256"] == sha,
          f"the role record and its history name the release: {rec}")
    for d in (src, tgt):
        client.drop_database(d)


def test_nightly():
    key, pub, kid = keypair("release")
    key2, pub2, kid2 = keypair("release2")
    db = "sfl_sign_nightly"
    client.drop_database(db)
    dump = export_signed(db, key, os.path.join(tmp, "carry"))
    man = os.path.join(dump, "manifest.json")
    r = run("promote", "--uri", URI, "--db", db, "--manifest", man, "--trusted-key", pub)
    check(r.returncode == 0 and kid in r.stderr, f"promote: {r.returncode} {r.stderr}")
    both = {"SWEFREQ_TRUSTED_KEYS": f"{pub}:{pub2}", "SWEFREQ_EXPECT_ROLE": "live"}
    nightly = ["verify", "--uri", URI, "--db", db, "--json"]
    r = run(*nightly, "--manifest", man, env=both)
    v = json.loads(r.stdout) if r.stdout.strip() else {}
    check(r.returncode == 0 and v.get("release", {}).get("status") == "ok"
          and v["release"].get("key_id") == kid, f"nightly, the released manifest: {r.returncode} {r.stdout}")
    check(v.get("manifest", {}).get("source") == "file" and v["manifest"].get("path") == man
          and v["manifest"].get("signer") == kid, f"nightly names file and signer: {v.get('manifest')}")
    r = run("verify", "--uri", URI, "--db", db, "--manifest", man, "--trusted-key", pub)
    check(r.returncode == 0 and "the release promote recorded" in r.stdout, f"text: {r.stdout}")

    # Another manifest of the same data (one more space), signed by the same key.
    other = os.path.join(tmp, "other.json")
    open(other, "w").write(open(man).read() + " ")
    run("sign", "--manifest", other, "--key", key, "--quiet")
    r = run(*nightly, "--manifest", other, env=both)
    v = json.loads(r.stdout) if r.stdout.strip() else {}
    check(r.returncode == 5 and v.get("release", {}).get("status") == "differs"
          and "not the one the database was promoted with" in v["release"].get("problem", ""),
          f"another manifest, same key: {r.returncode} {r.stdout}")
    # The released manifest re-signed by the second (also trusted) key.
    resigned = os.path.join(tmp, "resigned.json")
    shutil.copy(man, resigned)
    run("sign", "--manifest", resigned, "--key", key2, "--quiet")
    r = run(*nightly, "--manifest", resigned, env=both)
    v = json.loads(r.stdout) if r.stdout.strip() else {}
    check(r.returncode == 5 and kid2 in v.get("release", {}).get("problem", ""),
          f"the same manifest signed by another trusted key: {r.returncode} {r.stdout}")
    # A wrong signature: 10, and one JSON object.
    wrong = os.path.join(tmp, "wrong.json")
    shutil.copy(other, wrong)
    shutil.copy(man + ".sig", wrong + ".sig")
    r = run(*nightly, "--manifest", wrong, env=both)
    v = json.loads(r.stdout) if r.stdout.strip() else {}
    check(r.returncode == 10 and v.get("exit_code") == 10, f"wrong signature: {r.returncode} {r.stdout}")
    # A trusted key without --manifest: the database's own copy has no signature.
    r = run("verify", "--uri", URI, "--db", db, "--trusted-key", pub)
    check(r.returncode == 2 and "--manifest" in r.stderr, f"--trusted-key without --manifest: {r.returncode}")
    # status shows the release.
    r = run("status", "--uri", URI, "--db", db)
    check(r.returncode == 0 and kid in r.stdout and sha256_file(man) in r.stdout,
          f"status shows signer and sha256: {r.stdout}")
    r = run("status", "--uri", URI, "--db", db, "--json")
    st = json.loads(r.stdout)
    check(st["role_record"]["signer_key_id"] == kid, "status --json: the role record's signer")

    # Promoted again without a trusted key: the nightly with one fails (5).
    r = run("unseal", "--uri", URI, "--db", db, "--reason", "test")
    r = run("promote", "--uri", URI, "--db", db, "--manifest", man)
    check(r.returncode == 0, f"promote without a trusted key: {r.returncode} {r.stderr}")
    rec = role_record(db)
    check(rec["signer_key_id"] is None and rec["manifest_sha256"] == sha256_file(man),
          f"an unsigned promote clears the signer: {rec.get('signer_key_id')}")
    r = run(*nightly, "--manifest", man, env=both)
    v = json.loads(r.stdout) if r.stdout.strip() else {}
    check(r.returncode == 5 and "no signed release" in v.get("release", {}).get("problem", ""),
          f"nightly of a database promoted unsigned: {r.returncode} {r.stdout}")
    client.drop_database(db)


def test_demote():
    key, pub, kid = keypair("release")
    db = "sfl_sign_demote"
    client.drop_database(db)
    man = os.path.join(tmp, "m.json")
    r = run("load", "--uri", URI, "--db", db, *HIST, "--vcf", exac, "--quiet", "--manifest", man)
    check(r.returncode == 0, f"load: {r.returncode} {r.stderr}")
    r = run("demote", "--uri", URI, "--db", db, "--reason", "x")
    check(r.returncode == 2 and "not live" in r.stderr, f"demote of development: {r.returncode} {r.stderr}")
    r = run("promote", "--uri", URI, "--db", db, "--manifest", man)
    check(r.returncode == 0, f"promote: {r.returncode} {r.stderr}")
    before = snapshot(db)
    r = run("demote", "--uri", URI, "--db", db)
    check(r.returncode == 2 and snapshot(db) == before, f"demote without a reason: {r.returncode}")
    r = run("demote", "--uri", URI, "--db", db, "--reason", "x", "--expect-role", "development")
    check(r.returncode == 9 and snapshot(db) == before, f"demote --expect-role development of live: {r.returncode}")
    import datetime
    now = datetime.datetime.now(datetime.timezone.utc)
    client[db]["swefreq_meta"].insert_one({"_id": "lock", "load_id": "deadbeef1", "command": "load",
                                           "host": "elsewhere", "pid": 4242, "started": now,
                                           "heartbeat": now})
    r = run("demote", "--uri", URI, "--db", db, "--reason", "x")
    check(r.returncode == 9 and "lock" in r.stderr, f"demote waits for no load: the lock: {r.returncode} {r.stderr}")
    client[db]["swefreq_meta"].delete_one({"_id": "lock"})
    check(snapshot(db) == before, "a refused demote changed nothing")
    r = run("demote", "--uri", URI, "--db", db, "--reason", "promoted the wrong server by mistake")
    check(r.returncode == 0, f"demote: {r.returncode} {r.stderr}")
    rec = role_record(db)
    h = rec["history"][-1]
    check(rec["role"] == "development" and rec["sealed"] is False and h["command"] == "demote"
          and h["reason"] == "promoted the wrong server by mistake" and h["role"] == "development",
          f"demote recorded: {rec}")
    r = run("status", "--uri", URI, "--db", db)
    check("demote" in r.stdout and "promoted the wrong server by mistake" in r.stdout, "status shows it")
    r = run("load", "--uri", URI, "--db", db, *HIST, "--vcf", exac, "--quiet", "--expect-role", "development")
    check(r.returncode == 0, f"a development load after demote: {r.returncode} {r.stderr}")

    # A failed promote of a live database reports its real role.
    r = run("promote", "--uri", URI, "--db", db, "--manifest", man)
    r = run("unseal", "--uri", URI, "--db", db, "--reason", "fix")
    d = client[db]["variants"].find_one()
    client[db]["variants"].update_one({"_id": d["_id"]}, {"$set": {"rsid": "rs0"}})
    r = run("promote", "--uri", URI, "--db", db, "--manifest", man)
    check(r.returncode == 5 and "role live, not sealed" in r.stdout and "role none" not in r.stdout,
          f"a failed promote names the role: {r.returncode} {r.stdout}")
    r = run("promote", "--uri", URI, "--db", db, "--manifest", man, "--json")
    out = json.loads(r.stdout) if r.stdout.strip() else {}
    check(r.returncode == 5 and out.get("verify", {}).get("database", {}).get("role") == "live",
          f"promote --json: the role in the report: {r.stdout[-300:]}")
    client.drop_database(db)
    test_unseal_demote_race(man)


def test_unseal_demote_race(man):
    """unseal read the role record (sealed live) at its gate; a demote then
    ran to its end before unseal took the lock (the proxy holds unseal's
    lock insert). unseal must judge the record it reads again under the
    lock: the database is development and not sealed, nothing to unseal
    (exit 2), and the demote stands. (Before 8c3cb49 unseal wrote back the
    role it read before the lock: live again.)"""
    from faults import Faults
    db = "sfl_sign_race"
    f = Faults.from_env(db)
    if not f:
        print("no fault proxy (external server): the unseal/demote interleaving is skipped")
        return
    client.drop_database(db)
    r = run("load", "--uri", URI, "--db", db, *HIST, "--vcf", exac, "--quiet")
    r2 = run("promote", "--uri", URI, "--db", db, "--manifest", man)
    check(r.returncode == 0 and r2.returncode == 0, f"load, promote: {r.returncode} {r2.returncode} {r2.stderr}")
    rule = f.arm("insert", coll="swefreq_meta", has="unseal", action="hold")
    e = dict(os.environ)
    e.pop("SWEFREQ_EXPECT_ROLE", None)
    p = subprocess.Popen([TOOL, "unseal", "--uri", URI, "--db", db, "--reason", "late unseal"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
    try:
        held = f.wait(rule, timeout=60)
        check(held is not None, "unseal held between its gate and its lock")
        r = run("demote", "--uri", URI, "--db", db, "--reason", "retired meanwhile")
        check(r.returncode == 0, f"demote while unseal waits: {r.returncode} {r.stderr}")
    finally:
        f.release(rule)
        f.clear()
    out, err = p.communicate(timeout=60)
    rec = role_record(db)
    check(p.returncode == 2 and "not sealed" in err,
          f"unseal after the demote: nothing to unseal: {p.returncode} {err}")
    check(rec["role"] == "development" and rec["sealed"] is False
          and rec["history"][-1]["command"] == "demote",
          f"the demote stands: role {rec['role']}, last {rec['history'][-1]['command']}")
    client.drop_database(db)


if MODE == "files":
    test_files()
elif MODE == "attack":
    test_attack()
elif MODE == "nightly":
    test_nightly()
elif MODE == "demote":
    test_demote()
else:
    print(f"unknown mode {MODE}")
    sys.exit(2)
shutil.rmtree(tmp, ignore_errors=True)
finish(f"signing {MODE}")
