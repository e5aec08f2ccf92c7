#!/usr/bin/env python3
"""The test server's fault injection (tests/server/faults.go), driven with
pymongo through tests/faults.py: hold, drop and error rules, the Nth match,
the collection filter, getMore, and the maxWriteBatchSize rewrite that the
proxy already did. Exit 77 when pymongo is missing or the server has no
control port (external SWEFREQ_TEST_URI)."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mongo_common import URI, check, finish, require_faults  # noqa: E402
from faults import Faults  # noqa: E402
import pymongo  # noqa: E402
from pymongo.errors import AutoReconnect, OperationFailure  # noqa: E402

faults = require_faults("sfl_test_proxy")
client = pymongo.MongoClient(URI, serverSelectionTimeoutMS=5000, retryWrites=False, retryReads=False)
db = client["sfl_test_proxy"]
client.drop_database(db.name)

check(client.admin.command("hello")["maxWriteBatchSize"] == 99, "maxWriteBatchSize still rewritten")

# error at the 2nd insert into a collection whose name contains "target"
rule = faults.arm("insert", nth=2, coll="target", action="error", code=2, message="injected")
db.other.insert_one({"_id": 1})          # does not match the filter
db.target.insert_one({"_id": 1})         # 1st match
try:
    db.target.insert_one({"_id": 2})     # 2nd match: the error, not forwarded
    check(False, "the injected error was not raised")
except OperationFailure as e:
    check(e.code == 2 and "injected" in str(e), f"injected error: {e}")
db.target.insert_one({"_id": 3})         # the rule fired once only
check(sorted(d["_id"] for d in db.target.find()) == [1, 3], "the failed insert was not forwarded")
st = faults.wait(rule, timeout=1)
check(st and st["fired"] and st["seen"] == 2 and st["outcome"] == "replied", f"rule state {st}")

# hold a find until released
rule = faults.arm("find", coll="target", action="hold")
got = []
t = threading.Thread(target=lambda: got.append(list(db.target.find())))
t.start()
st = faults.wait(rule, timeout=10)
check(st and st["held"], f"find held: {st}")
time.sleep(0.3)
check(t.is_alive() and not got, "the held find has not returned")
faults.release(rule)
t.join(10)
check(got and len(got[0]) == 2, "the released find returned the documents")

# getMore is matched by its collection
db.many.insert_many([{"_id": i} for i in range(50)])
rule = faults.arm("getMore", coll="many", action="error", code=43, message="cursor gone")
try:
    list(db.many.find(batch_size=10))
    check(False, "getMore error not raised")
except OperationFailure as e:
    check(e.code == 43, f"getMore error: {e}")

# drop the connection at a held command (forward=0) and at a drop rule
rule = faults.arm("count", coll="target", action="hold")
errs = []


def count():
    try:
        db.command("count", "target")
    except AutoReconnect as e:
        errs.append(e)


t = threading.Thread(target=count)
t.start()
check(faults.wait(rule, timeout=10) is not None, "count held")
faults.release(rule, forward=False)
t.join(10)
check(len(errs) == 1, f"released with forward=0: the connection was dropped ({errs})")
rule = faults.arm("delete", coll="target", action="drop")
try:
    db.target.delete_one({"_id": 1})
    check(False, "drop rule did not drop the connection")
except AutoReconnect:
    pass
check(db.target.count_documents({}) == 2, "the dropped delete was not forwarded")
check(faults.wait(rule, timeout=1)["outcome"] == "dropped", "drop outcome")

# bad requests are refused; clear removes everything
import urllib.request  # noqa: E402
for q in ("/arm?command=insert&action=explode", "/arm?action=hold", "/arm?command=x&action=error"):
    try:
        urllib.request.urlopen(faults.base + q, timeout=5)
        check(False, f"{q} accepted")
    except urllib.error.HTTPError as e:
        check(e.code == 400, f"{q}: {e.code}")
faults.arm("insert", action="drop")
other = Faults(faults.base[len("http://"):], "sfl_test_proxy_other")
other.arm("insert", action="drop")
faults.clear()
check(faults.rules() == [], "clear removed the rules")
check(len(other.rules()) == 1, "clear left another database's rules alone")
other.clear()
# A rule scoped to another database does not act here.
other.arm("insert", action="error", code=2)
db.target.insert_one({"_id": 10})
check(other.rules()[0]["seen"] == 0, "rules act on their own database only")
other.clear()
db.target.insert_one({"_id": 9})
client.drop_database(db.name)
finish("proxy_test")
