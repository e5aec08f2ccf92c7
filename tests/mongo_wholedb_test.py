#!/usr/bin/env python3
"""The whole browser database in MongoDB, and loads of part of it (issue 14).

usage: mongo_wholedb_test.py SWEFREQ_LOAD TESTDATA_DIR

- one load fills every collection the browser reads (variants,
  base_coverage, genes, transcripts, exons, dbsnp, metrics) with the
  ExAC loader's indexes, and verify --uri --sources passes;
- a load with only --gtf replaces genes, transcripts and exons and leaves
  variants, base_coverage, dbsnp and metrics as they were; its load record
  and manifest name only the collections it owns;
- verify --uri then checks the manifest in force: every collection, each
  against the last load that replaced it (so a change to variants after the
  partial load is found, and a clean database passes);
- a failed partial load changes nothing.
Exit 77 when pymongo is missing (skipped).
"""
import json
import os
import subprocess
import sys

TOOL, TD = sys.argv[1:3]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mongo_common import URI, check, connect, finish  # noqa: E402 (exits 77 without pymongo)

client, ferret, HIST = connect()
DB = "sfl_wholedb"


def run(*args):
    return subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=300)


def td(name):
    return os.path.join(TD, name)


GTF = ["--gtf", td("gencode_sample.gtf"), "--skip-unknown-contigs"]
TABLES = ["--canonical-transcripts", td("canonical_sample.txt"), "--omim", td("omim_sample.txt"),
          "--dbnsfp-genes", td("dbnsfp_genes_sample.txt")]
ALL = ["--vcf", td("exac_sample.vcf"), "--coverage", td("coverage_sample.tsv"), *GTF, *TABLES,
       "--dbsnp", td("dbsnp_sample.tsv")]
WANT = {"variants": 24, "base_coverage": 40, "genes": 8, "transcripts": 10, "exons": 16, "dbsnp": 8,
        "metrics": 21}

client.drop_database(DB)
# 1. The whole database in one load.
r = run("load", "--uri", URI, "--db", DB, *HIST, *ALL, "--json")
check(r.returncode == 0, f"whole load: {r.returncode} {r.stderr}")
for coll, n in WANT.items():
    check(client[DB][coll].count_documents({}) == n, f"{coll}: {client[DB][coll].count_documents({})} != {n}")
idx = {c: sorted(i["name"] for i in client[DB][c].list_indexes()) for c in WANT}
check(idx["genes"] == sorted(["_id_", "gene_id_1", "gene_name_upper_1", "gene_name_1", "other_names_1",
                              "xstart_1", "xstop_1"]), f"genes indexes {idx['genes']}")
check(idx["exons"] == sorted(["_id_", "exon_id_1", "transcript_id_1", "gene_id_1"]), f"exons {idx['exons']}")
check(idx["dbsnp"] == sorted(["_id_", "rsid_1", "xpos_1"]) and idx["metrics"] == ["_id_", "metric_1"],
      f"dbsnp/metrics indexes {idx}")
g = client[DB]["genes"].find_one({"_id": "ENSG00000182378_PAR_Y"})
check(g and g["gene_id"] == "ENSG00000182378" and g["omim_accession"] == "300974", f"PAR gene {g}")
r = run("verify", "--uri", URI, "--db", DB, "--sources", "--json")
check(r.returncode == 0, f"verify whole: {r.returncode} {r.stdout} {r.stderr}")
variants_before = sorted(map(str, client[DB]["variants"].find({}, sort=[("_id", 1)])))
genes_before = client[DB]["genes"].find_one({"_id": "ENSG00000186092"})
check("canonical_transcript" in genes_before, "genes carry the tables")

# 2. A load of gene models only (without the tables: other gene documents).
r = run("load", "--uri", URI, "--db", DB, *GTF, "--json")
check(r.returncode == 0, f"gtf-only load: {r.returncode} {r.stderr}")
g = client[DB]["genes"].find_one({"_id": "ENSG00000186092"})
check(g and "canonical_transcript" not in g, f"genes replaced: {g}")
check(sorted(map(str, client[DB]["variants"].find({}, sort=[("_id", 1)]))) == variants_before,
      "variants untouched")
for coll, n in WANT.items():
    check(client[DB][coll].count_documents({}) == n, f"after the partial load, {coll}")
meta = client[DB]["swefreq_meta"]
cur = meta.find_one({"_id": "current"})["load_id"]
rec = meta.find_one({"_id": cur})
check(rec["status"] == "complete" and [c["name"] for c in rec["manifest"]["collections"]] ==
      ["genes", "transcripts", "exons"], f"the record owns its collections: {rec['manifest']['collections']}")
r = run("verify", "--uri", URI, "--db", DB, "--json")
rep = json.loads(r.stdout) if r.stdout.startswith("{") else {}
names = sorted(c["name"] for c in rep.get("collections", []))
check(r.returncode == 0 and names == sorted(WANT), f"verify checks the manifest in force: {r.returncode} {names}")
r = run("verify", "--uri", URI, "--db", DB, "--sources")
check(r.returncode == 0, f"verify --sources after the partial load: {r.returncode} {r.stdout} {r.stderr}")

# export writes the database as the manifest in force describes it: all
# seven collections, and the dump verifies.
import tempfile  # noqa: E402
exp = tempfile.mkdtemp(prefix="sfl_wholedb_export_")
r = run("export", "--uri", URI, "--db", DB, "--out", exp)
check(r.returncode == 0, f"export after the partial load: {r.returncode} {r.stderr}")
man = json.load(open(os.path.join(exp, DB, "manifest.json"))) if r.returncode == 0 else {}
check(sorted(c["name"] for c in man.get("collections", [])) == sorted(WANT)
      and [f["load_id"] for f in man.get("in_force", [])][:1] == [cur],
      f"the exported manifest is the manifest in force: {man.get('in_force')}")
r = run("verify", "--dump", os.path.join(exp, DB))
check(r.returncode == 0, f"the export verifies: {r.returncode} {r.stdout} {r.stderr}")
r = run("status", "--uri", URI, "--db", DB, "--json")
st = json.loads(r.stdout) if r.stdout.startswith("{") else {}
check(r.returncode == 0 and st.get("manifest") and len(st["manifest"].get("collections", [])) == len(WANT),
      f"status shows the manifest in force: {r.returncode} {r.stdout[:300]}")
__import__("shutil").rmtree(exp, ignore_errors=True)

# 3. The manifest in force still covers what the partial load did not
# replace: a change to variants is found.
client[DB]["variants"].update_one({"_id": "1-69270-A-G"}, {"$set": {"filter": "TAMPERED"}})
r = run("verify", "--uri", URI, "--db", DB)
check(r.returncode == 5 and "variants" in r.stdout and "digest differs" in r.stdout,
      f"a changed variant is found after a partial load: {r.returncode} {r.stdout}")

# 4. A failed partial load changes nothing (and the next load of variants
# puts the database right again).
bad = os.path.join(os.environ.get("TMPDIR", "/tmp"), "sfl_wholedb_bad.tsv")
with open(bad, "w") as f:
    f.write(open(td("dbsnp_sample.tsv")).read() + "rs1\t1\t5\t0\n")
r = run("load", "--uri", URI, "--db", DB, "--dbsnp", bad)
check(r.returncode == 3 and "rsid 'rs1'" in r.stderr, f"bad dbSNP load: {r.returncode} {r.stderr}")
check(client[DB]["dbsnp"].count_documents({}) == 8 and meta.find_one({"_id": "current"})["load_id"] == cur,
      "the failed load changed nothing")
os.unlink(bad)
r = run("load", "--uri", URI, "--db", DB, *HIST, "--vcf", td("exac_sample.vcf"))
check(r.returncode == 0, f"variants reload: {r.stderr}")
r = run("verify", "--uri", URI, "--db", DB, "--json")
rep = json.loads(r.stdout) if r.stdout.startswith("{") else {}
check(r.returncode == 0 and sorted(c["name"] for c in rep.get("collections", [])) == sorted(WANT),
      f"three loads in force, verify passes: {r.returncode} {r.stdout}")
client.drop_database(DB)
finish("mongo_wholedb_test")
