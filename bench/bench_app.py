"""Client side of bench/run.sh for Consent Center itself: bulk check and export
timers over HTTP (the floor's own client times the floor), and the report
that sets every figure beside the floor's, from one results file.

Only talks to 127.0.0.1.
"""
import argparse
import json
import os
import random
import sys
import time
from collections import defaultdict

# The floor's client helpers and seed (bench/floor/), whichever floor run.sh measures the app beside.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "floor"))
from bench_client import RssSampler, connect, record, status_kb  # noqa: E402
from seed_floor import email_of, expected_granted  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seed import phone_of  # noqa: E402  (the app's base gives every customer a number; the floor's has none)

# What a bulk check asks by: the list's field, the channel, each customer's contact, the test's name suffix.
BULK_BY = {"email": ("emails", "email", email_of, ""), "phone": ("phones", "sms", phone_of, "-phones")}


def cmd_bulk(args):
    """Time the bulk check in both answer forms: full objects, and one boolean per contact."""
    ids = random.Random(args.count).sample(range(1, args.subjects + 1), args.count)
    field, channel, contact_of, suffix = BULK_BY[args.by]
    contacts = [contact_of(i) for i in ids]
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {args.key}"}
    for answer in ("full", "allowed"):
        body = json.dumps({"channel": channel, field: contacts, "answer": answer}).encode()
        for rep in range(1, args.repeats + 1):
            conn, _ = connect(args.url)
            started = time.perf_counter()
            conn.request("POST", "/api/v1/check", body=body, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
            seconds = time.perf_counter() - started
            decoded = json.loads(payload) if resp.status == 200 else {}
            allowed = ([r["allowed"] for r in decoded.get("results", [])] if answer == "full"
                       else decoded.get("allowed", []))
            ok = len(allowed) == args.count and all(a == expected_granted(i, channel) for i, a in zip(ids, allowed))
            record(args.results, backend=args.backend, test=f"bulk{args.count // 1000}k{suffix}",
                   variant=f"app {answer}", rep=rep, seconds=round(seconds, 4), emails=args.count,
                   emails_per_s=round(args.count / seconds), response_bytes=len(payload), ok=ok)
            if not ok:
                print(f"bulk ({answer}): status {resp.status}, wrong answers", file=sys.stderr)
                return 1
    return 0


def cmd_export(args):
    pids = [int(p) for p in args.pids.split(",") if p]
    for rep in range(1, args.repeats + 1):
        anon_before = {pid: status_kb(pid, "RssAnon") for pid in pids}
        sampler = RssSampler(pids)
        conn, _ = connect(args.url)
        started = time.perf_counter()
        conn.request("GET", f"/api/v1/export/events?format={args.format}",
                     headers={"Authorization": f"Bearer {args.key}"})
        resp = conn.getresponse()
        lines = size = 0
        while True:
            chunk = resp.read1(1 << 20)
            if not chunk:
                break
            size += len(chunk)
            lines += chunk.count(b"\n")
        seconds = time.perf_counter() - started
        peak = sampler.stop()
        growth_mb = max((peak[p] - anon_before[p]) / 1024 for p in pids)
        rows = lines - (1 if args.format == "csv" else 0)
        record(args.results, backend=args.backend, test=f"export-{args.format}", variant="app", rep=rep,
               seconds=round(seconds, 3), rows=rows, rows_per_s=round(rows / seconds), mb=round(size / 1e6, 1),
               anon_growth_mb=round(growth_mb, 1), ok=resp.status == 200 and rows >= args.events)
    return 0


def best(rows, key, higher=True):
    values = [r[key] for r in rows if key in r]
    return (max if higher else min)(values) if values else None


def cmd_report(args):
    data = defaultdict(list)
    with open(args.results) as fh:
        for line in fh:
            r = json.loads(line)
            data[(r["backend"], r["test"], r.get("variant", ""))].append(r)
    print(f"\n{'backend':<9} {'measure':<34} {'floor':>12} {'app':>12} {'ratio':>7}  target")
    for backend in ("sqlite", "postgres"):
        def pick(test, variant_prefix):
            return [r for (b, t, v), rows in data.items() if b == backend and t == test
                    and v.startswith(variant_prefix) for r in rows]
        lines = []
        floor_c8, app_c8 = pick("check", "http sync c=8"), pick("check", "app c=8")
        if floor_c8 and app_c8:
            f, a = best(floor_c8, "rps"), best(app_c8, "rps")
            lines.append(("check req/s, 8 connections", f, a, a / f, ">= 1.50"))
            f, a = best(floor_c8, "p99_ms", False), best(app_c8, "p99_ms", False)
            lines.append(("check p99 ms, 8 connections", f, a, a / f, "<= 1.00"))
        # The floor on the app's own server: the app's share alone (the server's is the same on both).
        floor_same = pick("check", "granian c=8")
        if floor_same and app_c8:
            f, a = best(floor_same, "rps"), best(app_c8, "rps")
            lines.append(("check req/s, floor on granian too", f, a, a / f, "the app's share"))
            f, a = best(floor_same, "p99_ms", False), best(app_c8, "p99_ms", False)
            lines.append(("check p99 ms, floor on granian too", f, a, a / f, ""))
        # The bulk check by e-mail and by phone, side by side; both set beside the floor's
        # bulk by e-mail (the same database work: one indexed lookup per contact). A base
        # under 100k subjects is asked about all of them (no floor figure then).
        bulk_tests = sorted({t for (b, t, _) in data if b == backend and t.startswith("bulk")
                             and not t.endswith("-phones") and not t.endswith("-any")},
                            key=lambda t: int(t[4:-1]))
        size = bulk_tests[-1][4:] if bulk_tests else "100k"
        floor_bulk = pick(f"bulk{size}-any", "http") or pick(f"bulk{size}", "http")
        for answer in ("full", "allowed"):
            by_email = best(pick(f"bulk{size}", f"app {answer}"), "seconds", False)
            for kind, test in (("e-mails", f"bulk{size}"), ("phones", f"bulk{size}-phones")):
                a = best(pick(test, f"app {answer}"), "seconds", False)
                if a is None:
                    continue
                f = best(floor_bulk, "seconds", False)
                target = "<= 1.00" if kind == "e-mails" else (
                    f"{a / by_email:.2f} x e-mails" if by_email else "")
                lines.append((f"bulk check {size} {kind} ({answer}), s", f, a, a / f if f else None, target))
        floor_export = pick("export", "http")
        for fmt in ("csv", "jsonl"):
            app_export = pick(f"export-{fmt}", "app")
            if floor_export and app_export:
                f, a = best(floor_export, "rows_per_s"), best(app_export, "rows_per_s")
                lines.append((f"export {fmt} rows/s", f, a, a / f, ">= 1.00"))
                # The worst run: memory growth is a ceiling, not a best case.
                lines.append((f"export {fmt} worker growth MB", None,
                              max(r["anon_growth_mb"] for r in app_export), None, "< 64"))
        writes = pick("writes", "app")
        if writes:
            lines.append(("preference changes/s (API)", None, best(writes, "changes_per_s"), None, ">= 400 (pg)"))
            lines.append(("write requests/s, errors", None, best(writes, "rps"), None,
                          f"errors {max(r.get('errors', 0) for r in writes)}, "
                          f"outbox rows {max(r.get('outbox_rows', 0) for r in writes)} "
                          f"for {max(r.get('changes', 0) for r in writes)} changes"))
        for name, f, a, ratio, target in lines:
            # Seconds of a small base's bulk check would all print as 0.0 or 0.1.
            fs = "" if f is None else f"{f:,.3f}" if f < 10 else f"{f:,.1f}"
            as_ = "" if a is None else f"{a:,.3f}" if a < 10 else f"{a:,.1f}"
            rs = "" if ratio is None else f"{ratio:.2f}"
            print(f"{backend:<9} {name:<34} {fs:>12} {as_:>12} {rs:>7}  {target}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ("bulk", "export"):
        p = sub.add_parser(name)
        p.add_argument("--url", required=True)
        p.add_argument("--key", required=True)
        p.add_argument("--backend", required=True)
        p.add_argument("--repeats", type=int, default=2)
        p.add_argument("--results", default=os.environ.get("FLOOR_RESULTS"))
        if name == "bulk":
            p.add_argument("--count", type=int, default=100_000)
            p.add_argument("--subjects", type=int, default=100_000)
            p.add_argument("--by", choices=sorted(BULK_BY), default="email")
        else:
            p.add_argument("--format", default="csv")
            p.add_argument("--pids", required=True)
            p.add_argument("--events", type=int, default=0)
    p = sub.add_parser("report")
    p.add_argument("--results", required=True)
    args = parser.parse_args(argv)
    return {"bulk": cmd_bulk, "export": cmd_export, "report": cmd_report}[args.cmd](args) or 0


if __name__ == "__main__":
    sys.exit(main())
