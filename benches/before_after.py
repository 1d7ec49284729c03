#!/usr/bin/env python3
"""Issue 18's before/after table: two builds of credledger measured in one run on one host.

    python3 benches/before_after.py --before OLD/credledger --after target/release/credledger

Each row runs the same command with both binaries, one right after the other, on the same
generated events (gen-events, seed 1), and gives the ratio to the single-core raw Ed25519
verify rate measured in the same run (`bench`'s first row). Rows:

- durable bulk appends: `submit` of 60k generated events into a new ledger (signatures verified
  per second, against every core's raw rate);
- `rebuild` of that ledger (events per second, against one core's raw rate);
- `audit` of it (signatures verified per second, against every core's raw rate);
- the peak memory of that `rebuild` and that `audit`;
- peak memory of `submit`: 200k events into a new ledger, then 600k more in a second process;
- HTTP: `load` with 32 clients posting one event each, on sled, and on PostgreSQL with one and
  with three nodes (a throwaway cluster from the PostgreSQL binaries, as the tests use).

Standard library only. Nothing here asserts a time: it prints what it measured.
"""

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")


def run(binary, ledger, *args, check=True):
    """Runs `binary --json --ledger ledger args`; returns (seconds, parsed JSON or None, peak RSS bytes)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.monotonic()
    out = subprocess.run([binary, "--json", "--ledger", ledger, *args], capture_output=True, text=True)
    seconds = time.monotonic() - started
    if check and out.returncode != 0:
        sys.exit(f"{binary} {' '.join(args)} failed: {out.stderr[-2000:]}")
    try:
        parsed = json.loads(out.stdout) if out.stdout.strip() else None
    except json.JSONDecodeError:
        parsed = None
    # ru_maxrss of children is the largest so far; each measured child is run after smaller ones.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, parsed, (peak * 1024 if peak > before else None)


def timed_peak(binary, ledger, *args):
    """Seconds and peak resident memory (bytes) of one command, the peak from /usr/bin/time -v
    (exact per process)."""
    started = time.monotonic()
    out = subprocess.run(["/usr/bin/time", "-v", binary, "--ledger", ledger, *args], capture_output=True, text=True)
    seconds = time.monotonic() - started
    if out.returncode != 0:
        sys.exit(f"{binary} {' '.join(args)} failed: {out.stderr[-2000:]}")
    for line in out.stderr.splitlines():
        if "Maximum resident set size" in line:
            return seconds, int(line.split(":")[1]) * 1024
    sys.exit("/usr/bin/time gave no peak memory")


def peak_rss(binary, ledger, *args):
    """The peak resident memory of one command."""
    return timed_peak(binary, ledger, *args)[1]


def signatures(path):
    """The signatures the ledger checks in a file of events: each event's, and each vc_proof."""
    count = 0
    with open(path) as f:
        for line in f:
            event = json.loads(line)
            count += 1 + (1 if event.get("body", {}).get("vc_proof") else 0)
    return count


def generate(binary, work, name, count):
    """A new ledger directory and `count` generated events for it (the genesis first). Made by
    the `before` build: a newer build opens an older one's store (upgrading its layout if it
    changed), not always the other way round."""
    ledger = os.path.join(work, name)
    subprocess.run([binary, "--ledger", ledger, "init", "--origin", "bench.credledger.dev"], check=True,
                   capture_output=True)
    events = os.path.join(work, f"{name}.jsonl")
    subprocess.run([binary, "--ledger", ledger, "gen-events", "--count", str(count), "--out", events], check=True,
                   capture_output=True)
    return ledger, events


def fresh_copy(ledger, work, name):
    copy = os.path.join(work, name)
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(ledger, copy)
    return copy


class Postgres:
    """A throwaway cluster: initdb into a temporary directory, postgres on a free port."""

    def __init__(self, work):
        self.dir = os.path.join(work, "pg")
        os.makedirs(self.dir)
        self.root = os.geteuid() == 0
        if self.root:
            shutil.chown(self.dir, "postgres", "postgres")
        data = os.path.join(self.dir, "data")
        self.cmd("initdb", "-A", "trust", "-U", "credledger", "-E", "UTF8", "--no-instructions", "-D", data)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        log = open(os.path.join(self.dir, "server.log"), "w")
        self.server = subprocess.Popen(
            self.prefix("postgres") + ["-D", data, "-p", str(self.port), "-c", "listen_addresses=127.0.0.1",
                                       "-k", self.dir, "-c", "max_connections=300"],
            stdout=subprocess.DEVNULL, stderr=log)
        for _ in range(200):
            ready = subprocess.run(self.prefix("pg_isready") + ["-h", "127.0.0.1", "-p", str(self.port)],
                                   capture_output=True)
            if ready.returncode == 0:
                break
            time.sleep(0.1)
        self.databases = 0

    def prefix(self, program):
        path = os.path.join(PG_BIN, program)
        return ["runuser", "-u", "postgres", "--", path] if self.root else [path]

    def cmd(self, program, *args):
        subprocess.run(self.prefix(program) + list(args), check=True, capture_output=True)

    def fresh_database(self):
        self.databases += 1
        name = f"ledger_{self.databases}"
        self.cmd("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "credledger", name)
        return f"postgres://credledger@127.0.0.1:{self.port}/{name}"

    def stop(self):
        subprocess.run(self.prefix("pg_ctl") + ["-D", os.path.join(self.dir, "data"), "-m", "fast", "stop"],
                       capture_output=True)
        self.server.wait()


def load(binary, work, seconds, database_url=None, nodes=1):
    """`load` with 32 clients posting one event each: (appends/s, p99 ms), after checking it passed."""
    args = ["load", "--seconds", str(seconds), "--appenders", "32", "--readers", "0", "--verifiers", "0"]
    if nodes > 1:
        args += ["--nodes", str(nodes)]
    prefix = ["--database-url", database_url] if database_url else []
    ledger = os.path.join(work, "load-ledger")
    shutil.rmtree(ledger, ignore_errors=True)
    out = subprocess.run([binary, "--json", "--ledger", ledger, *prefix, *args], capture_output=True, text=True)
    report = json.loads(out.stdout) if out.stdout.strip() else {}
    if out.returncode != 0 or report.get("lost") or report.get("misplaced") or report.get("audit_problems"):
        return None, f"failed: {out.stderr.strip()[-300:]}"
    append = next(k for k in report["kinds"] if k["kind"].startswith("append"))
    return append["per_second"], f'{append["per_second"]:.0f}/s, p99 {append["p99_ms"]:.0f} ms'


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True)
    parser.add_argument("--after", required=True)
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--memory", default="200000,600000", help="FIRST,SECOND events, or none")
    parser.add_argument("--load-seconds", type=int, default=15)
    parser.add_argument("--no-postgres", action="store_true")
    options = parser.parse_args()
    builds = {"before": os.path.abspath(options.before), "after": os.path.abspath(options.after)}
    work = tempfile.mkdtemp(prefix="credledger-before-after-")
    if os.geteuid() == 0:
        os.chmod(work, 0o755)
    rows = []

    def row(name, values, unit, basis, target, fmt="{:.0f}"):
        b, a = values["before"], values["after"]
        shown = {k: (fmt.format(v) + f" {unit}" if isinstance(v, (int, float)) else v) for k, v in values.items()}
        ratio = f"{a / b:.2f}x" if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else ""
        rows.append((name, shown["before"], shown["after"], ratio, basis(values), target))
        print(f"{name}: {shown['before']} -> {shown['after']}", file=sys.stderr, flush=True)

    # The raw rate: bench's first row, with the after build (the same dalek code in both).
    _, raw_report, _ = run(builds["after"], os.path.join(work, "raw"), "bench", "--events", "200")
    raw = raw_report["rows"][0]["value"]
    cores = raw_report["cores"]
    print(f"raw Ed25519 verify (1 core): {raw:.0f}/s, {cores} cores", file=sys.stderr, flush=True)

    ledger, events = generate(builds["before"], work, "bulk", options.events)
    signed = signatures(events)
    submitted, rebuilt, audited, rebuild_peak, audit_peak = {}, {}, {}, {}, {}
    for build, binary in builds.items():
        copy = fresh_copy(ledger, work, f"bulk-{build}")
        seconds, _, _ = run(binary, copy, "submit", events)
        submitted[build] = signed / seconds
        seconds, peak = timed_peak(binary, copy, "rebuild")
        rebuilt[build], rebuild_peak[build] = (options.events + 1) / seconds, peak / 2**20
        seconds, peak = timed_peak(binary, copy, "audit")
        audited[build], audit_peak[build] = signed / seconds, peak / 2**20
    both = f"{cores} x raw"
    vs = lambda denominator, label: lambda v: " -> ".join(
        f"{v[b] / denominator:.2f}" for b in ("before", "after") if isinstance(v[b], float)) + f" of {label}"
    row(f"durable bulk appends, submit of {options.events} events: signatures verified", submitted, "sig/s",
        vs(cores * raw, both), ">= 0.6 of 2 x raw")
    row("rebuild (projections rewritten to the store)", rebuilt, "events/s", vs(raw, "raw"), ">= 5 of raw")
    row("audit: signatures verified", audited, "sig/s", vs(cores * raw, both), ">= 0.6 of 2 x raw")
    row(f"peak memory of rebuild, {options.events} events", rebuild_peak, "MiB", lambda v: "", "flat in log length")
    row(f"peak memory of audit, {options.events} events", audit_peak, "MiB", lambda v: "", "flat in log length")

    if options.memory != "none":
        first, second = (int(n) for n in options.memory.split(","))
        ledger, events = generate(builds["before"], work, "memory", first + second)
        head, tail = os.path.join(work, "first.jsonl"), os.path.join(work, "second.jsonl")
        with open(events) as source, open(head, "w") as h, open(tail, "w") as t:
            for n, line in enumerate(source):
                (h if n <= first else t).write(line)
        peaks = {"first": {}, "second": {}}
        for build, binary in builds.items():
            copy = fresh_copy(ledger, work, f"memory-{build}")
            peaks["first"][build] = peak_rss(binary, copy, "submit", head) / 2**20
            peaks["second"][build] = peak_rss(binary, copy, "submit", tail) / 2**20
            shutil.rmtree(copy)
        row(f"peak memory of submit: {first} events into a new ledger", peaks["first"], "MiB", lambda v: "",
            "< 512 MiB")
        row(f"peak memory of submit: {second} more, in a second process", peaks["second"], "MiB",
            lambda v: " -> ".join(f"{v[b] / peaks['first'][b]:.2f}" for b in ("before", "after")) + " of the first",
            "< 512 MiB, <= 1.2 x the first")

    layouts = [("sled", None, 1)]
    pg = None
    if not options.no_postgres and os.path.exists(os.path.join(PG_BIN, "postgres")):
        pg = Postgres(work)
        layouts += [("PostgreSQL, one node", "pg", 1), ("PostgreSQL, three nodes", "pg", 3)]
    try:
        for name, store, nodes in layouts:
            values, shown = {}, {}
            for build, binary in builds.items():
                url = pg.fresh_database() if store else None
                values[build], shown[build] = load(binary, work, options.load_seconds, url, nodes)
            targets = {"sled": ">= 4,000/s, p99 < 50 ms", "PostgreSQL, one node": ">= 2,000/s, p99 < 100 ms",
                       "PostgreSQL, three nodes": ">= the one-node rate, p99 < 200 ms"}
            rows.append((f"HTTP, 32 clients posting one event each, {name}", shown["before"], shown["after"],
                         f"{values['after'] / values['before']:.2f}x" if values["before"] and values["after"] else "",
                         "", targets[name]))
            print(f"{name}: {shown['before']} -> {shown['after']}", file=sys.stderr, flush=True)
    finally:
        if pg:
            pg.stop()
    shutil.rmtree(work, ignore_errors=True)

    print(f"raw Ed25519 verify (1 core, this run): {raw:.0f} verifies/s; {cores} cores\n")
    print("| measure | before | after | after / before | vs raw (before -> after) | target |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
