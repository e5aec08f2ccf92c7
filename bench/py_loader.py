#!/usr/bin/env python3
"""The reference loader for the benchmark: inserts the documents of a
.bson dump with pymongo insert_many, in batches, as the ExAC and SweFreq
Python loaders do.  usage: py_loader.py URI DB FILE.bson"""
import sys

import bson
import pymongo

uri, db, path = sys.argv[1:4]
client = pymongo.MongoClient(uri)
coll = client[db]["variants"]
coll.drop()
batch = []
with open(path, "rb") as f:
    for doc in bson.decode_file_iter(f):
        batch.append(doc)
        if len(batch) == 1000:
            coll.insert_many(batch, ordered=False)
            batch = []
if batch:
    coll.insert_many(batch, ordered=False)
