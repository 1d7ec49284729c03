#!/usr/bin/env python3
"""Generate tests/vectors/merkle/vectors.json: RFC 9162 section 2.1 Merkle tree vectors with BLAKE3.

This is written from the RFC's definitions, not from credledger's Rust code:

  * MTH (section 2.1.1), with HASH = BLAKE3 (32-byte output):
        MTH({})       = HASH()
        MTH({d(0)})   = HASH(0x00 || d(0))
        MTH(D[n])     = HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n]))   for n > 1,
    where k is the largest power of two smaller than n.
  * PATH(m, D[n]), the inclusion proof (section 2.1.3.1).
  * PROOF(m, D[n]) / SUBPROOF(m, D[n], b), the consistency proof (section 2.1.4.1).

Every proof written is checked with the verifiers `inclusion_ok` / `consistency_ok` of the
independent checker at $CREDLEDGER_INDEP_DIR/indep.py (default /work/shared/checks/lib), and the
script refuses to write the file if any proof fails there. Pass --skip-crosscheck to generate
without that checker (for example on a machine that does not have it); the vectors themselves do
not depend on it.

Usage:  python3 tests/vectors/merkle/gen.py [--skip-crosscheck] [--check]
  --check  regenerate in memory and fail if vectors.json differs (writes nothing).

Requires the `blake3` package (python3 -m pip install blake3); the cross-check also needs
`cryptography`, which indep.py imports.
"""
import json
import os
import sys

import blake3

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "vectors.json")
LEAF_COUNT = 17  # leaves 0..16; trees of sizes 1..=17


def HASH(data: bytes) -> bytes:
    return blake3.blake3(data).digest()  # 32 bytes by default


def k_of(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    assert n > 1
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def MTH(D: list) -> bytes:
    n = len(D)
    if n == 0:
        return HASH(b"")
    if n == 1:
        return HASH(b"\x00" + D[0])
    k = k_of(n)
    return HASH(b"\x01" + MTH(D[0:k]) + MTH(D[k:n]))


def PATH(m: int, D: list) -> list:
    """RFC 9162 2.1.3.1: the audit path of leaf m in D[n], leaf side first."""
    n = len(D)
    assert 0 <= m < n
    if n == 1:
        return []
    k = k_of(n)
    if m < k:
        return PATH(m, D[0:k]) + [MTH(D[k:n])]
    return PATH(m - k, D[k:n]) + [MTH(D[0:k])]


def PROOF(m: int, D: list) -> list:
    """RFC 9162 2.1.4.1: the consistency proof of D[0:m] in D[n]. The RFC defines it for
    0 < m < n; for m = n it is SUBPROOF(n, D[n], true), the empty list."""
    assert 0 < m <= len(D)
    return SUBPROOF(m, D, True)


def SUBPROOF(m: int, D: list, b: bool) -> list:
    n = len(D)
    if m == n:
        return [] if b else [MTH(D)]
    k = k_of(n)
    if m <= k:
        return SUBPROOF(m, D[0:k], b) + [MTH(D[k:n])]
    return SUBPROOF(m - k, D[k:n], False) + [MTH(D[0:k])]


def load_indep():
    lib = os.environ.get("CREDLEDGER_INDEP_DIR", "/work/shared/checks/lib")
    if not os.path.isfile(os.path.join(lib, "indep.py")):
        sys.exit(f"gen.py: the independent checker {lib}/indep.py is missing; set CREDLEDGER_INDEP_DIR "
                 "or pass --skip-crosscheck")
    sys.path.insert(0, lib)
    import indep  # noqa: E402  (the path is only known at run time)
    return indep


def flip(h: bytes) -> bytes:
    return bytes([h[0] ^ 1]) + h[1:]


def generate(indep) -> dict:
    contents = [f"credledger leaf {i}".encode("utf-8") for i in range(LEAF_COUNT)]
    leaf_hashes = [MTH([d]) for d in contents]
    trees = []
    checked = 0
    for n in range(1, LEAF_COUNT + 1):
        D = contents[:n]
        root = MTH(D)
        inclusion = []
        for i in range(n):
            path = PATH(i, D)
            if indep:
                assert indep.inclusion_ok(leaf_hashes[i], i, n, root, path), f"inclusion size {n} index {i}"
                # The checker must also be able to say no, or agreeing with it means nothing.
                assert not indep.inclusion_ok(flip(leaf_hashes[i]), i, n, root, path)
                for j in range(len(path)):
                    bad = path[:j] + [flip(path[j])] + path[j + 1:]
                    assert not indep.inclusion_ok(leaf_hashes[i], i, n, root, bad)
                checked += 1
            inclusion.append({"index": i, "path": [h.hex() for h in path]})
        consistency = []
        for m in range(1, n + 1):
            path = PROOF(m, D)
            if indep:
                old = MTH(D[:m])
                assert indep.consistency_ok(m, n, old, root, path), f"consistency {m} -> {n}"
                assert not indep.consistency_ok(m, n, flip(old), root, path)
                assert not indep.consistency_ok(m, n, old, flip(root), path)
                for j in range(len(path)):
                    bad = path[:j] + [flip(path[j])] + path[j + 1:]
                    assert not indep.consistency_ok(m, n, old, root, bad)
                checked += 1
            consistency.append({"from": m, "path": [h.hex() for h in path]})
        trees.append({"size": n, "root": root.hex(), "inclusion": inclusion, "consistency": consistency})
    if indep:
        # 17 trees: sum(1..=17) inclusion proofs and as many consistency proofs.
        assert checked == 2 * LEAF_COUNT * (LEAF_COUNT + 1) // 2, checked
        print(f"gen.py: {checked} proofs pass indep.py's RFC 9162 verifiers", file=sys.stderr)
    return {
        "leaf_contents": [d.decode("utf-8") for d in contents],
        "leaf_hashes": [h.hex() for h in leaf_hashes],
        "empty_root": MTH([]).hex(),
        "trees": trees,
    }


def main(argv):
    unknown = [a for a in argv if a not in ("--skip-crosscheck", "--check")]
    if unknown:
        sys.exit(__doc__)
    indep = None if "--skip-crosscheck" in argv else load_indep()
    text = json.dumps(generate(indep), indent=2) + "\n"
    if "--check" in argv:
        with open(OUT, encoding="utf-8") as f:
            if f.read() != text:
                sys.exit("gen.py: vectors.json differs from what gen.py generates")
        print("gen.py: vectors.json is up to date", file=sys.stderr)
        return
    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print(f"gen.py: wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
