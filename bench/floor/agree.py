"""Do two floors answer alike? Seeds a small base for each with its own
seeder, then asks both apps the same questions in process (Flask's test
client) and compares the bytes: single checks on every channel, bulk checks
(chunked IN and, on PostgreSQL, = ANY), bad requests, and the whole export
(and the COPY export on PostgreSQL). Our answers are also checked against
the seed.

    python bench/floor/agree.py                        # against ../shared/bench, if it is there
    python bench/floor/agree.py --other DIR --subjects 2000 --events 20000 \\
        [--url-ours URL --url-other URL]               # two empty databases (default: SQLite files)

Exits 0 when every answer is identical, 1 when one differs; without the
other floor it says so and exits 0 (skipped): a clone of the repository
has no ../shared.
"""
import argparse
import importlib.util
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REFERENCE = Path(os.environ.get("CONSENT_FLOOR_REFERENCE") or HERE.parent.parent.parent / "shared" / "bench")
sys.path.insert(0, str(HERE))
from seed_floor import CHANNELS, email_of, expected_granted  # noqa: E402


def load_floor(directory, name):
    spec = importlib.util.spec_from_file_location(name, directory / "floor_app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def seed(directory, url, subjects, events):
    subprocess.run([sys.executable, str(directory / "seed_floor.py"), "--database-url", url,
                    "--subjects", str(subjects), "--events", str(events)], check=True, timeout=900)


def questions(subjects, postgres):
    """(label, method, path, json body) of every request both floors are asked."""
    draw = random.Random(subjects)
    ids = sorted({1, subjects, *(draw.randint(1, subjects) for _ in range(60))})
    for i in ids:
        for channel in CHANNELS:
            yield f"check {i} {channel}", "GET", f"/floor/check?email=user{i}%40example.com&channel={channel}", None
    yield "check, no channel", "GET", f"/floor/check?email=user{ids[-1]}%40example.com", None
    yield "check, stranger", "GET", "/floor/check?email=nobody%40example.com&channel=email", None
    yield "check, no e-mail", "GET", "/floor/check?channel=email", None
    some = [email_of(i) for i in draw.sample(range(1, subjects + 1), min(subjects, 1500))]
    asked = some + ["nobody@example.com"] + some[:10]  # a stranger and duplicates
    for mode in ("", "any") if postgres else ("",):
        for channel in ("email", "newsletter"):
            yield (f"bulk {len(asked)} {channel} {mode or 'in'}", "POST", "/floor/check/bulk" + (f"?mode={mode}" if mode else ""),
                   {"channel": channel, "emails": asked})
    yield "bulk, empty list", "POST", "/floor/check/bulk", {"channel": "email", "emails": []}
    yield "bulk, bad body", "POST", "/floor/check/bulk", {"channel": "email"}
    yield "export", "GET", "/floor/export", None
    if postgres:
        yield "export copy", "GET", "/floor/export?mode=copy", None


def ask(client, method, path, body):
    response = client.open(path, method=method, json=body)
    return response.status_code, response.headers.get("Content-Type"), response.get_data()


def wrong_against_seed(label, status, body):
    """Our answer to a check of a seeded subject, read against the seed itself."""
    words = label.split()
    if words[0] != "check" or len(words) != 3 or status != 200:
        return False
    return json.loads(body)["allowed"] != expected_granted(int(words[1]), words[2])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--other", type=Path, default=REFERENCE, help="the other floor's directory")
    parser.add_argument("--subjects", type=int, default=2000)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--url-ours", help="an empty database for our floor (default: a SQLite file)")
    parser.add_argument("--url-other", help="an empty database for the other floor")
    args = parser.parse_args(argv)
    if not (args.other / "floor_app.py").is_file():
        print(f"agree: skipped, no other floor at {args.other} (give --other DIR)")
        return 0
    with tempfile.TemporaryDirectory(prefix="floor_agree_") as work:
        urls = {"ours": args.url_ours or f"sqlite:///{work}/ours.sqlite3",
                "other": args.url_other or f"sqlite:///{work}/other.sqlite3"}
        dirs = {"ours": HERE, "other": args.other.resolve()}
        clients, apps = {}, []
        for who in ("ours", "other"):
            seed(dirs[who], urls[who], args.subjects, args.events)
            app = load_floor(dirs[who], f"{who}_floor_app").create_app(urls[who])
            apps.append(app)
            clients[who] = app.test_client()
        postgres = urls["ours"].startswith("postgres")
        differ = wrong = asked = 0
        for label, method, path, body in questions(args.subjects, postgres):
            ours, other = ask(clients["ours"], method, path, body), ask(clients["other"], method, path, body)
            asked += 1
            if ours != other:
                differ += 1
                print(f"DIFFERENT {label}: ours {ours[0]} {len(ours[2])} bytes {ours[2][:80]!r}, "
                      f"other {other[0]} {len(other[2])} bytes {other[2][:80]!r}")
            if wrong_against_seed(label, ours[0], ours[2]):
                wrong += 1
                print(f"WRONG {label}: {ours[2]!r}")
            if label.startswith("export"):
                rows = ours[2].count(b"\n") - 1
                print(f"{label}: {len(ours[2]):,} bytes, {rows:,} rows, {'identical' if ours == other else 'DIFFERENT'}")
        for app in apps:
            for engine in set(app.extensions["floor_engines"]):
                engine.dispose()
    backend = "PostgreSQL" if postgres else "SQLite"
    print(f"agree ({backend}, {args.subjects} subjects, {args.events} events, against {args.other}): "
          f"{asked - differ}/{asked} answers identical, {wrong} wrong against the seed")
    return 1 if differ or wrong else 0


if __name__ == "__main__":
    sys.exit(main())
