"""The benchmark's client side for the floor (bench/run.sh calls it): labels
wrk's figures, times the bulk check and the export over HTTP, samples the
serving worker's memory, checks every answer against the seed. Each figure
is one JSON line appended to the results file (FLOOR_RESULTS).

    bench_client.py wrap   --backend B --test check --variant V [--rep N] < wrk output
    bench_client.py bulk   --url U --backend B --count N --subjects S [--mode any] [--repeats R]
    bench_client.py export --url U --backend B --pids P1,P2 --events M [--mode copy] [--repeats R]
    bench_client.py verify --url U --subjects S

Only ever talks to 127.0.0.1.
"""
import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
from urllib.parse import quote, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seed_floor import CHANNELS, email_of, expected_granted  # noqa: E402


def record(results, **figures):
    """Print one result line, and append it to the results file when there is one."""
    line = json.dumps(figures, sort_keys=True)
    if results:
        with open(results, "a") as out:
            out.write(line + "\n")
    print(line)


def connect(url):
    """(connection, path prefix) to a local URL; anything but 127.0.0.1 is refused."""
    parts = urlsplit(url)
    if parts.hostname != "127.0.0.1":
        raise SystemExit(f"the benchmark only talks to 127.0.0.1, not {parts.hostname}")
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=600), parts.path


def status_kb(pid, field):
    """A /proc/PID/status figure in kB (VmRSS, VmHWM, RssAnon), 0 when absent."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name == field:
                return int(value.split()[0])
    return 0


class RssSampler:
    """Each process's peak anonymous RSS, read every 5 ms until stop(). Anonymous
    memory only: VmHWM also counts the file pages SQLite maps (page cache)."""

    def __init__(self, pids, every=0.005):
        self.peak = {pid: status_kb(pid, "RssAnon") for pid in pids}
        self._every = every
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self):
        while not self._done.wait(self._every):
            for pid, peak in self.peak.items():
                self.peak[pid] = max(peak, status_kb(pid, "RssAnon"))

    def stop(self):
        self._done.set()
        self._thread.join()
        return self.peak


def read_stream(response):
    """(bytes, lines) of a streamed body, read a MiB at a time and dropped."""
    size = lines = 0
    while chunk := response.read1(1 << 20):
        size += len(chunk)
        lines += chunk.count(b"\n")
    return size, lines


def get_json(url, path):
    conn, _ = connect(url)
    conn.request("GET", path)
    return json.loads(conn.getresponse().read())


def cmd_wrap(args):
    """stdin: wrk's output with its 'BENCHJSON {...}' line; records it with its labels."""
    output = sys.stdin.read()
    for line in output.splitlines():
        if line.startswith("BENCHJSON "):
            record(args.results, backend=args.backend, test=args.test, variant=args.variant, rep=args.rep,
                   **json.loads(line[len("BENCHJSON "):]))
            return 0
    sys.stderr.write("no BENCHJSON line in wrk's output:\n" + output[-2000:])
    return 1


def bulk_ids(count, subjects):
    """The subjects of a bulk check of `count` e-mails: distinct, shuffled, the same every run."""
    return random.Random(count).sample(range(1, subjects + 1), count)


def cmd_bulk(args):
    ids = bulk_ids(args.count, args.subjects)
    body = json.dumps({"channel": "email", "emails": [email_of(i) for i in ids]}).encode()
    path = "/floor/check/bulk" + (f"?mode={args.mode}" if args.mode else "")
    test = f"bulk{args.count // 1000}k" + (f"-{args.mode}" if args.mode else "")
    for rep in range(1, args.repeats + 1):
        conn, _ = connect(args.url)
        began = time.perf_counter()
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        payload = response.read()
        seconds = time.perf_counter() - began
        answer = json.loads(payload) if response.status == 200 else {}
        ok = len(answer) == args.count and all(answer[email_of(i)] == expected_granted(i, "email") for i in ids)
        record(args.results, backend=args.backend, test=test, variant=args.variant, rep=rep,
               seconds=round(seconds, 4), emails=args.count, emails_per_s=round(args.count / seconds),
               request_bytes=len(body), response_bytes=len(payload), ok=ok)
        if not ok:
            print(f"bulk check: status {response.status}, wrong or missing answers", file=sys.stderr)
            return 1
    return 0


def cmd_export(args):
    pids = [int(p) for p in args.pids.split(",") if p]
    path = "/floor/export" + (f"?mode={args.mode}" if args.mode else "")
    for rep in range(1, args.repeats + 1):
        rss_before = {pid: status_kb(pid, "VmRSS") for pid in pids}
        anon_before = {pid: status_kb(pid, "RssAnon") for pid in pids}
        for pid in pids:  # VmHWM from here on: this export's peak only
            with open(f"/proc/{pid}/clear_refs", "w") as clear:
                clear.write("5")
        sampler = RssSampler(pids)
        conn, _ = connect(args.url)
        began = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        first_byte = time.perf_counter() - began
        size, lines = read_stream(response)
        seconds = time.perf_counter() - began
        anon_peak = sampler.stop()
        worker = int(response.getheader("X-Floor-Worker") or 0)
        if worker not in rss_before:  # no header: the worker whose memory moved most
            worker = max(pids, key=lambda pid: anon_peak[pid] - anon_before[pid])
        rows = lines - 1  # the header line
        record(args.results, backend=args.backend, test="export" + (f"-{args.mode}" if args.mode else ""),
               variant=args.variant, rep=rep, seconds=round(seconds, 3), rows=rows,
               rows_per_s=round(rows / seconds), mb=round(size / 1e6, 1), ttfb_ms=round(first_byte * 1000, 1),
               rss_before_mb=round(rss_before[worker] / 1024, 1),
               rss_peak_mb=round(status_kb(worker, "VmHWM") / 1024, 1),
               anon_before_mb=round(anon_before[worker] / 1024, 1),
               anon_peak_mb=round(anon_peak[worker] / 1024, 1),
               ok=response.status == 200 and rows == args.events)
    return 0


def cmd_verify(args):
    """A few checks against the seed: the first and last subject, twenty at random, a stranger."""
    draw = random.Random(7)
    wrong = 0
    for i in [1, args.subjects] + [draw.randint(1, args.subjects) for _ in range(20)]:
        for channel in CHANNELS[:2]:
            answer = get_json(args.url, f"/floor/check?email={quote(email_of(i))}&channel={channel}")
            wrong += answer["allowed"] != expected_granted(i, channel)
    wrong += get_json(args.url, "/floor/check?email=nobody%40example.com&channel=email")["allowed"] is not False
    print("verify:", f"{wrong} WRONG ANSWERS" if wrong else "ok")
    return 1 if wrong else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument("--results", default=os.environ.get("FLOOR_RESULTS"))
    shared.add_argument("--backend", default="?")
    shared.add_argument("--variant", default="")
    shared.add_argument("--url", default="http://127.0.0.1:18765")
    shared.add_argument("--subjects", type=int, default=100_000)
    shared.add_argument("--events", type=int, default=1_000_000)
    shared.add_argument("--repeats", type=int, default=2)
    shared.add_argument("--mode", default="")
    wrap = commands.add_parser("wrap", parents=[shared])
    wrap.add_argument("--test", required=True)
    wrap.add_argument("--rep", type=int, default=1)
    commands.add_parser("bulk", parents=[shared]).add_argument("--count", type=int, required=True)
    commands.add_parser("export", parents=[shared]).add_argument("--pids", required=True)
    commands.add_parser("verify", parents=[shared])
    args = parser.parse_args(argv)
    return {"wrap": cmd_wrap, "bulk": cmd_bulk, "export": cmd_export, "verify": cmd_verify}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
