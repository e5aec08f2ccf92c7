#!/usr/bin/env python3
"""access-control.py: MongoDB users for one SweFreq system (docs/deploy.md).

usage: SWEFREQ_ADMIN_URI=mongodb://admin:...@db/?authSource=admin \\
       SWEFREQ_WEB_PASSWORD=... SWEFREQ_LOADER_PASSWORD=... \\
       deploy/access-control.py DB [--web-user swefreq_web] [--loader-user swefreq_loader]

Creates (or updates) two users on database DB, the other half of "data must
never deviate from the files": only the loader can write.
  swefreq_web     role `read` on DB: the browser's web server. It cannot
                  insert, update, delete, drop or create indexes.
  swefreq_loader  role `readWrite` on DB: swefreq-load (load, restore,
                  promote, unseal, recover). readWrite covers what a load
                  needs: insert into staging collections, createIndexes,
                  renameCollection within DB (dropTarget drops the old
                  collection), and the records in swefreq_meta.
Then it checks what it set: the web user can read and is refused a write.
Passwords come from the environment and are never printed.

Exit 0: users in place and enforced. 77: the server has no createUser
(e.g. FerretDB with SQLite): skipped, with a message. 3: the server does not
enforce access control (start mongod with security.authorization: enabled).
1: any other failure.
"""
import argparse
import os
import sys
from urllib.parse import quote_plus

try:
    import pymongo
    from pymongo.errors import OperationFailure
except ImportError:
    print("access-control.py needs pymongo (python3-pymongo)", file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser(description="MongoDB users for a SweFreq system")
    ap.add_argument("db")
    ap.add_argument("--web-user", default="swefreq_web")
    ap.add_argument("--loader-user", default="swefreq_loader")
    a = ap.parse_args()
    uri = os.environ.get("SWEFREQ_ADMIN_URI")
    web_pw = os.environ.get("SWEFREQ_WEB_PASSWORD")
    loader_pw = os.environ.get("SWEFREQ_LOADER_PASSWORD")
    if not uri or not web_pw or not loader_pw:
        print("set SWEFREQ_ADMIN_URI, SWEFREQ_WEB_PASSWORD and SWEFREQ_LOADER_PASSWORD",
              file=sys.stderr)
        return 2
    admin = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
    db = admin[a.db]
    users = [(a.web_user, web_pw, [{"role": "read", "db": a.db}]),
             (a.loader_user, loader_pw, [{"role": "readWrite", "db": a.db}])]
    for name, pw, roles in users:
        try:
            exists = db.command("usersInfo", name).get("users")
            if exists:
                db.command("updateUser", name, pwd=pw, roles=roles)
            else:
                db.command("createUser", name, pwd=pw, roles=roles)
        except OperationFailure as e:
            if e.code == 59 or "no such command" in str(e) or "not implemented" in str(e).lower():
                print(f"skipped: this server has no createUser/usersInfo ({e.details.get('errmsg')}); "
                      "use a MongoDB server with access control for the live system")
                return 77
            raise
        print(f"user {name} on {a.db}: {', '.join(r['role'] for r in roles)}")
    # Check what was set: the web user reads, and is refused a write.
    hosts = (uri.split("@", 1)[-1] if "@" in uri else uri.split("//", 1)[1]).split("/")[0]
    web = pymongo.MongoClient(f"mongodb://{quote_plus(a.web_user)}:{quote_plus(web_pw)}@{hosts}"
                              f"/{a.db}", serverSelectionTimeoutMS=5000)
    web[a.db].list_collection_names()
    try:
        web[a.db]["swefreq_access_probe"].insert_one({"_id": "probe"})
    except OperationFailure as e:
        if e.code == 13:
            print(f"checked: {a.web_user} can read {a.db} and is refused writes")
            return 0
        raise
    db["swefreq_access_probe"].drop()
    print(f"the server accepted a write by the read-only user {a.web_user}: access control is "
          "not enabled (mongod: security.authorization: enabled)", file=sys.stderr)
    return 3


if __name__ == "__main__":
    sys.exit(main())
