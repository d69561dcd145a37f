"""One PostgreSQL for a cluster (issue 23): how fast every serving process follows a promotion, and how fast votes from
several processes are acknowledged, none lost.

    python benchmarks/shared_store.py --json                       # a throwaway PostgreSQL started here
    python benchmarks/shared_store.py --database postgresql://USER:PASSWORD@HOST/POSTGRES --json

(1) Following: `--processes` serving processes (the bot's `InferenceService` on a `postgresql://` store, following it
    as the bot does: LISTEN, with polling as the fallback) serve version 1; `--promotions` times an operator runs
    `python -m model_store --store URL promote N`. For each promotion and process: the time from the promotion's
    commit (the pointer row's `changed`, the transaction's start: never later than the commit) until that process
    serves the new version (its network built, the version swapped in). Target: p99 <= 0.5 s.
(2) Votes: `--processes` processes each cast votes through `Corrections.vote` (their own pool, as a bot process has)
    at `--rate`/processes per second, paced on a schedule, for `--seconds`; each vote's acknowledgement time is
    measured around the call. Then every acknowledged vote is looked up (`lost`). Target: p99 <= 50 ms, 0 lost.

The server's own settings are kept (fsync on), and each run gets a new database (created and dropped here: the
user needs CREATEDB). Other work on the machine shows in the figures: `load_average` is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from model_store import ModelStore  # noqa: E402
from network.architecture import ArchitectureSpec  # noqa: E402
from network.card import Hyperparameters, ModelCard  # noqa: E402

# A serving process: prints "ready", then "VERSION WALLCLOCK" each time it starts serving another version.
SERVER = """
import asyncio, logging, sys, time
from digits.inference import InferenceService
from model_store import ModelStore

async def main():
    service = InferenceService(ModelStore(sys.argv[1]), workers=1)
    service.load()
    following = asyncio.create_task(service.follow())
    print("ready", service.version, flush=True)
    seen = service.version
    while True:  # the swap is one attribute: watch it closely, without slowing the follow down
        await asyncio.sleep(0.001)
        if service.served_version != seen:
            seen = service.served_version
            print(seen, time.time(), flush=True)

asyncio.run(main())
"""

# A voting process: `count` votes at `rate` per second from `start` (wall clock); prints one JSON line at the end.
VOTER = """
import json, sys, time
import numpy as np
from digits.community import AnsweredDigit, Corrections
url, index, count, rate, start = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
corrections = Corrections(url)
image = np.zeros((28, 28), np.float32)
acknowledged, seconds, failed = [], [], []
time.sleep(max(0.0, start - time.time()))
begun = time.perf_counter()
for k in range(count):
    time.sleep(max(0.0, begun + k / rate - time.perf_counter()))
    message_id = 10_000_000 * (index + 1) + k
    voter = 1_000_000 * (index + 1) + k  # a new member each vote: no hourly limit in the way
    started = time.perf_counter()
    try:
        corrections.vote(AnsweredDigit(1, 2, message_id, 0, voter, image, 1, 1), voter, k % 10)
    except Exception as error:
        failed.append(str(error))
        continue
    seconds.append(time.perf_counter() - started)
    acknowledged.append([message_id, voter, k % 10])
corrections.close()
print(json.dumps({"acknowledged": acknowledged, "seconds": seconds, "failed": failed[:3], "failures": len(failed)}))
"""


def weights_file(path: Path, spec: ArchitectureSpec, seed: int) -> Path:
    """Random weights in the Keras 3 layout, of the tutorial's shape (the served network is built from them)."""
    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as h5:
        for index, (kernel_shape, bias_shape) in enumerate(spec.weight_shapes()):
            group = h5.create_group(f"layers/dense{f'_{index}' if index else ''}/vars")
            group["0"] = rng.normal(0, 0.05, size=kernel_shape).astype(np.float32)
            group["1"] = np.zeros(bias_shape, np.float32)
    return path


def card(spec: ArchitectureSpec) -> ModelCard:
    return ModelCard(architecture=spec, test_accuracy=0.9, test_loss=0.3, per_digit_accuracy=(0.9,) * 10,
                     hyperparameters=Hyperparameters(epochs=1, batch_size=32, learning_rate=0.001, seed=0, train_images=1),
                     created="2026-01-01T00:00:00+00:00", training_seconds=1.0)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def follow_phase(url: str, processes: int, promotions: int, say) -> dict[str, object]:
    spec = ArchitectureSpec()
    store = ModelStore(url)
    with tempfile.TemporaryDirectory() as scratch:
        for version in range(1, promotions + 2):
            store.save(weights_file(Path(scratch) / f"{version}.h5", spec, version), card(spec), promote=version == 1)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    servers = [subprocess.Popen([sys.executable, "-c", SERVER, url], stdout=subprocess.PIPE, text=True, cwd=REPO, env=env)
               for _ in range(processes)]
    delays: list[float] = []
    cli_seconds: list[float] = []
    try:
        for server in servers:
            assert server.stdout is not None and server.stdout.readline().split()[0] == "ready"
        time.sleep(1.0)  # every follower listening
        for version in range(2, promotions + 2):
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "model_store", "--store", url, "promote", str(version)],
                                  capture_output=True, text=True, cwd=REPO, env=env)
            cli_seconds.append(time.perf_counter() - started)
            if done.returncode != 0:
                sys.exit(f"promote failed: {done.stderr}")
            with psycopg.connect(url) as db:
                committed = db.execute("SELECT extract(epoch FROM changed) FROM model_serving").fetchone()[0]
            for server in servers:
                served, when = server.stdout.readline().split()  # type: ignore[union-attr]
                assert int(served) == version, (served, version)
                delays.append(float(when) - float(committed))
            say(f"promotion {version - 1}/{promotions}: followed in "
                f"{max(delays[-processes:]) * 1000:.0f} ms by the slowest of {processes} processes")
            time.sleep(0.3)
    finally:
        for server in servers:
            server.kill()
            server.wait()
    store.close()
    return {"processes": processes, "promotions": promotions, "follow_p50_ms": round(statistics.median(delays) * 1000, 1),
            "follow_p99_ms": round(percentile(delays, 0.99) * 1000, 1), "follow_max_ms": round(max(delays) * 1000, 1),
            "cli_promote_seconds": round(statistics.median(cli_seconds), 2)}


def vote_phase(url: str, processes: int, rate: float, seconds: float) -> dict[str, object]:
    per_process = int(rate / processes * seconds)
    start = time.time() + 3.0  # every voter imported and connected
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    voters = [subprocess.Popen([sys.executable, "-c", VOTER, url, str(index), str(per_process), str(rate / processes),
                                str(start)], stdout=subprocess.PIPE, text=True, cwd=REPO, env=env)
              for index in range(processes)]
    results = [json.loads(voter.communicate()[0].strip().splitlines()[-1]) for voter in voters]
    acknowledged = [tuple(row) for result in results for row in result["acknowledged"]]
    latencies = [s for result in results for s in result["seconds"]]
    with psycopg.connect(url) as db:
        stored = set(db.execute("SELECT e.message_id, v.voter_id, v.label FROM votes v JOIN examples e "
                                "ON e.id = v.example_id").fetchall())
    return {"vote_processes": processes, "vote_rate": rate, "votes": per_process * processes,
            "acknowledged": len(acknowledged), "vote_failures": sum(r["failures"] for r in results),
            "failure_examples": [f for r in results for f in r["failed"]][:3],
            "lost": sum(row not in stored for row in acknowledged),
            "ack_p50_ms": round(statistics.median(latencies) * 1000, 2),
            "ack_p99_ms": round(percentile(latencies, 0.99) * 1000, 2), "ack_max_ms": round(max(latencies) * 1000, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default=None, metavar="URL",
                        help="a PostgreSQL server's URL (a new database is made on it); default: a throwaway server")
    parser.add_argument("--processes", type=int, default=4, help="serving (and voting) processes (default %(default)s)")
    parser.add_argument("--promotions", type=int, default=20, help="promotions from the CLI (default %(default)s)")
    parser.add_argument("--rate", type=float, default=100.0, help="votes per second, all processes (default %(default)s)")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of voting (default %(default)s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    say = (lambda text: print(text, file=sys.stderr, flush=True)) if args.json else (lambda text: print(text, flush=True))
    server = args.database
    if server is None:
        from tests.fixtures.postgres import bin_dir, start_server

        if (found := bin_dir()) is None:
            parser.error("no PostgreSQL here: give --database URL, or apt-get install postgresql")
        server = start_server(found, durable=True)[0].url()
    name = f"digitbot_shared_{os.getpid()}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
        try:
            url = server.rsplit("/", 1)[0] + f"/{name}"
            say(f"(1) {args.processes} processes follow {args.promotions} promotions from the CLI")
            result = follow_phase(url, args.processes, args.promotions, say)
            say(f"(2) votes from {args.processes} processes at {args.rate:g}/s for {args.seconds:g} s")
            result |= vote_phase(url, args.processes, args.rate, args.seconds)
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]
    result["load_average"] = round(os.getloadavg()[0], 1)
    if args.json:
        print(json.dumps(result))
        return
    print(f"following: {result['promotions']} promotions × {result['processes']} processes: p50 {result['follow_p50_ms']} ms, "
          f"p99 {result['follow_p99_ms']} ms, max {result['follow_max_ms']} ms (target p99 <= 500 ms)")
    print(f"votes: {result['acknowledged']} of {result['votes']} acknowledged at {result['vote_rate']:g}/s from "
          f"{result['vote_processes']} processes: p50 {result['ack_p50_ms']} ms, p99 {result['ack_p99_ms']} ms "
          f"(target <= 50 ms), {result['lost']} lost")


if __name__ == "__main__":
    main()
