#!/usr/bin/env python3
"""An independent eddsa-jcs-2022 verifier (W3C vc-di-eddsa §3.3), written from the spec apart
from credledger's Rust code, for the tests: python3 vc_verify.py FILE [MULTIBASE_KEY] prints VALID
or INVALID (exit 0/1). JCS here handles what credentials hold: strings, integers, floats, bools,
null, arrays, objects (RFC 8785 member order by UTF-16 code units)."""
import hashlib
import json
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58decode(text):
    n = 0
    for c in text:
        n = n * 58 + ALPHABET.index(c)
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + raw


def jcs(value):
    if isinstance(value, dict):
        members = sorted(value.items(), key=lambda kv: kv[0].encode("utf-16-be"))
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + jcs(v) for k, v in members) + "}"
    if isinstance(value, list):
        return "[" + ",".join(jcs(v) for v in value) + "]"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return json.dumps(value, ensure_ascii=False)


def key_from_multibase(mb):
    raw = b58decode(mb[1:]) if mb.startswith("z") else b""
    if raw[:2] != b"\xed\x01" or len(raw) != 34:
        raise ValueError("not a multibase Ed25519 key")
    return Ed25519PublicKey.from_public_bytes(raw[2:])


def verify(doc, key_mb=None):
    proof = doc.get("proof")
    if not isinstance(proof, dict) or proof.get("cryptosuite") != "eddsa-jcs-2022":
        return False
    method = proof.get("verificationMethod", "")
    key = key_from_multibase(key_mb or method.split("#")[-1])
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    unsecured = {k: v for k, v in doc.items() if k != "proof"}
    data = hashlib.sha256(jcs(options).encode()).digest() + hashlib.sha256(jcs(unsecured).encode()).digest()
    try:
        key.verify(b58decode(proof["proofValue"][1:]), data)
        return True
    except Exception:
        return False


if __name__ == "__main__":
    ok = verify(json.load(open(sys.argv[1])), sys.argv[2] if len(sys.argv) > 2 else None)
    print("VALID" if ok else "INVALID")
    sys.exit(0 if ok else 1)
