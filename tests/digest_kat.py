#!/usr/bin/env python3
"""Known answers for the format-2 collection digest, computed without
swefreq-load: SHA-256 from Python's hashlib and the ChaCha20 keystream from
the `openssl enc -chacha20` command (Python's standard library has no
ChaCha20).

E(doc) = the first 2048 bytes of ChaCha20(key = SHA-256(doc's BSON bytes),
counter 0, nonce "sfl-lthash16"), read as 1024 little-endian uint16 lanes.
`openssl enc -chacha20 -iv` takes 16 bytes: the 32-bit block counter
(little-endian) then the 96-bit nonce of RFC 8439, and encrypting zeros gives
the keystream. The digest of a set is the lane-wise sum mod 2^16.

    digest_kat.py            prints tests/digest_kat.h (the vectors that
                             test_digest.c checks the library against)
    digest_kat.py --check F  recomputes them and fails unless F holds
                             exactly what it would print (CTest runs this)
"""
import base64
import hashlib
import struct
import subprocess
import sys

NONCE = b"sfl-lthash16"
assert len(NONCE) == 12


def bson_doc(fields):
    """A BSON document of (key, value) pairs: str -> string, float -> double,
    int -> int32, written by hand (no BSON library needed)."""
    body = b""
    for k, v in fields:
        key = k.encode() + b"\0"
        if isinstance(v, str):
            s = v.encode() + b"\0"
            body += b"\x02" + key + struct.pack("<i", len(s)) + s
        elif isinstance(v, float):
            body += b"\x01" + key + struct.pack("<d", v)
        else:
            body += b"\x10" + key + struct.pack("<i", v)
    return struct.pack("<i", len(body) + 5) + body + b"\0"


def keystream(key):
    iv = struct.pack("<I", 0) + NONCE
    out = subprocess.run(["openssl", "enc", "-chacha20", "-K", key.hex(), "-iv", iv.hex()],
                         input=bytes(2048), capture_output=True, check=True).stdout
    assert len(out) == 2048
    return out


def element(doc):
    return list(struct.unpack("<1024H", keystream(hashlib.sha256(doc).digest())))


def state_bytes(lanes):
    return struct.pack("<1024H", *lanes)


def digest_text(bson_stream):
    """The format-2 digest text of the documents of a .bson file's bytes."""
    lanes = [0] * 1024
    pos = 0
    while pos < len(bson_stream):
        n = struct.unpack_from("<i", bson_stream, pos)[0]
        lanes = [(a + b) % 65536 for a, b in zip(lanes, element(bson_stream[pos:pos + n]))]
        pos += n
    return "lthash16-1024/sha256-chacha20:" + base64.b64encode(state_bytes(lanes)).decode()


def c_bytes(b):
    return ", ".join("0x%02x" % x for x in b)


def render():
    docs = [
        bson_doc([("_id", "1-55516888-G-GA"), ("allele_freq", 0.5)]),
        bson_doc([("_id", "1-55516888-G-GA"), ("allele_freq", 0.000237)]),
        bson_doc([("_id", "X-100-C-T"), ("allele_num", 24)]),
    ]
    es = [element(d) for d in docs]
    total = [sum(col) % 65536 for col in zip(*es)]
    lines = [
        "/* digest_kat.h: known answers for the format-2 digest, written by",
        " * tests/digest_kat.py from Python's hashlib and `openssl enc -chacha20`",
        " * (never by swefreq-load); CTest's digest_kat_vectors recomputes them. */",
        "#define KAT_N_DOCS %d" % len(docs),
    ]
    for i, d in enumerate(docs):
        lines.append("static const unsigned char kat_doc%d[%d] = {%s};" % (i, len(d), c_bytes(d)))
    lines.append("static const unsigned char *const kat_docs[KAT_N_DOCS] = {%s};" %
                 ", ".join("kat_doc%d" % i for i in range(len(docs))))
    lines.append("static const unsigned kat_lens[KAT_N_DOCS] = {%s};" %
                 ", ".join(str(len(d)) for d in docs))
    lines.append("/* SHA-256 of each document: the ChaCha20 key */")
    lines.append("static const char *const kat_sha256[KAT_N_DOCS] = {%s};" %
                 ", ".join('"%s"' % hashlib.sha256(d).hexdigest() for d in docs))
    lines.append("/* the first 8 and the last lane of E(doc) */")
    for i, e in enumerate(es):
        lines.append("static const unsigned short kat_e%d_head[8] = {%s};" %
                     (i, ", ".join(str(x) for x in e[:8])))
        lines.append("#define KAT_E%d_LAST %d" % (i, e[-1]))
    lines.append("/* the fingerprint (first 16 bytes of SHA-256 of the 2048-byte state)")
    lines.append(" * of the digest of {doc i} alone, and of all three */")
    lines.append("static const char *const kat_fp_one[KAT_N_DOCS] = {%s};" %
                 ", ".join('"%s"' % hashlib.sha256(state_bytes(e)).hexdigest()[:32] for e in es))
    lines.append('#define KAT_FP_ALL "%s"' % hashlib.sha256(state_bytes(total)).hexdigest()[:32])
    lines.append("static const unsigned short kat_all_head[8] = {%s};" %
                 ", ".join(str(x) for x in total[:8]))
    return "\n".join(lines) + "\n"


def main():
    text = render()
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        with open(sys.argv[2]) as f:
            have = f.read()
        if have != text:
            print("digest_kat: %s differs from what hashlib and openssl give:\n%s" %
                  (sys.argv[2], text))
            return 1
        print("digest_kat: the vectors of %s are what hashlib and openssl give" % sys.argv[2])
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
