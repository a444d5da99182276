#!/usr/bin/env python3
"""Independent verifier for a phiguard ledger, written only from the C2SP and RFC 6962 texts
(no phiguard code): checks the checkpoint's Ed25519 signed-note signature against a verifier
key, recomputes the root from the tlog-tiles level-0 tiles *and* from the entry bundles, and
verifies a tlog-proof (RFC 9162 2.1.3.2) for an entry.

usage: independent_verify.py LEDGER_DIR VERIFIER_KEY [PROOF_FILE ENTRY_FILE]
With WITNESS_KEY=<vkey> in the environment, also requires a valid tlog-cosignature/v1
(type 0x04) cosignature by that witness on the checkpoint.
Needs python3 with the `cryptography` package. Exit 0 when everything verifies.
"""
import base64
import hashlib
import os
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def leaf(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()


def mth(hashes):
    # RFC 6962 2.1: split at the largest power of two smaller than n.
    n = len(hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashes[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node(mth(hashes[:k]), mth(hashes[k:]))


def tile_index_path(n):
    # "zero-padded 3-digit path elements, all but the last prefixed with x"
    parts = []
    while True:
        parts.append(n % 1000)
        n //= 1000
        if n == 0:
            break
    parts.reverse()
    return "/".join(("x%03d" if i < len(parts) - 1 else "%03d") % p for i, p in enumerate(parts))


def tile_path(kind, index, width):
    p = "tile/%s/%s" % (kind, tile_index_path(index))
    if width < 256:
        p += ".p/%d" % width
    return p


def open_note(text, vkey):
    name, key_id_hex, key_b64 = vkey.split("+", 2)
    raw = base64.b64decode(key_b64)
    assert raw[0] == 1, "not an Ed25519 note key"
    pub = raw[1:]
    key_id = hashlib.sha256(name.encode() + b"\n" + b"\x01" + pub).digest()[:4]
    if key_id.hex() != key_id_hex:
        fail("key id mismatch in verifier key")
    body, sigs = text.rsplit("\n\n", 1)
    body += "\n"
    ok = False
    for line in sigs.strip("\n").split("\n"):
        assert line.startswith("\u2014 ")
        sname, sig_b64 = line[2:].split(" ")
        sig = base64.b64decode(sig_b64)
        if sname == name and sig[:4] == key_id:
            Ed25519PublicKey.from_public_bytes(pub).verify(sig[4:], body.encode())
            ok = True
    if not ok:
        fail("no signature by the log key")
    lines = body.split("\n")
    return lines[0], int(lines[1]), base64.b64decode(lines[2])


def check_cosignature(text, vkey):
    # tlog-cosignature: key ID = SHA-256(name || "\n" || 0x04 || pubkey)[:4];
    # signature = key ID || u64be timestamp || Ed25519("cosignature/v1\ntime <t>\n" || body)
    name, key_id_hex, key_b64 = vkey.split("+", 2)
    raw = base64.b64decode(key_b64)
    if raw[0] != 4:
        fail("witness key is not a cosignature/v1 key")
    pub = raw[1:]
    key_id = hashlib.sha256(name.encode() + b"\n" + b"\x04" + pub).digest()[:4]
    if key_id.hex() != key_id_hex:
        fail("key id mismatch in witness key")
    body, sigs = text.rsplit("\n\n", 1)
    body += "\n"
    for line in sigs.strip("\n").split("\n"):
        sname, sig_b64 = line[2:].split(" ")
        sig = base64.b64decode(sig_b64)
        if sname == name and sig[:4] == key_id:
            ts = int.from_bytes(sig[4:12], "big")
            msg = ("cosignature/v1\ntime %d\n" % ts + body).encode()
            Ed25519PublicKey.from_public_bytes(pub).verify(sig[12:], msg)
            return
    fail("no cosignature by the witness")


def verify_inclusion(index, size, h, proof, root):
    fn, sn, r = index, size - 1, h
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def main():
    d, vkey = sys.argv[1], sys.argv[2]
    cp_text = open(os.path.join(d, "checkpoint"), encoding="utf-8").read()
    origin, size, root = open_note(cp_text, vkey)
    leaves_from_tiles, leaves_from_bundles = [], []
    for n in range((size + 255) // 256):
        w = min(256, size - n * 256)
        t = open(os.path.join(d, tile_path("0", n, w)), "rb").read()
        if len(t) != 32 * w:
            fail("tile size")
        leaves_from_tiles += [t[i:i + 32] for i in range(0, len(t), 32)]
        b = open(os.path.join(d, tile_path("entries", n, w)), "rb").read()
        i = 0
        while i < len(b):
            ln = int.from_bytes(b[i:i + 2], "big")
            leaves_from_bundles.append(leaf(b[i + 2:i + 2 + ln]))
            i += 2 + ln
    if leaves_from_tiles != leaves_from_bundles:
        fail("level-0 tiles differ from the entry bundles")
    if mth(leaves_from_tiles) != root:
        fail("root recomputed from the tiles differs from the checkpoint")
    print("checkpoint ok: %s size %d" % (origin, size))
    wkey = os.environ.get("WITNESS_KEY")
    if wkey:
        check_cosignature(cp_text, wkey)
        print("cosignature ok: %s" % wkey.split("+")[0])
    if len(sys.argv) > 4:
        text = open(sys.argv[3], encoding="utf-8").read()
        head, cp = text.split("\n\n", 1)
        lines = head.split("\n")
        assert lines[0] == "c2sp.org/tlog-proof@v1"
        i = 1
        if lines[i].startswith("extra "):
            i += 1
        index = int(lines[i][len("index "):])
        proof = [base64.b64decode(x) for x in lines[i + 1:]]
        _, psize, proot = open_note(cp, vkey)
        entry = open(sys.argv[4], "rb").read()
        if not verify_inclusion(index, psize, leaf(entry), proof, proot):
            fail("inclusion proof does not verify")
        print("proof ok: entry %d in size %d" % (index, psize))


if __name__ == "__main__":
    main()
