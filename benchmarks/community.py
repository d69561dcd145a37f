"""A community teaches the bot its handwriting: corrections in SQLite, a retrain with them, accuracy before and after.

    python benchmarks/community.py            # 3,000 posts, 1,000 unseen, 60 members, the tutorial recipe
    python benchmarks/community.py --json     # one JSON object

The community writes like `samples.community` (MNIST *test* digits re-drawn with a thick marker and a strong slant).
(a) Members post `--posts` pictures and the served model (trained here with train.py) answers them, through the
    bot's `InferenceService` on the PNG bytes.
(b) Members correct the wrong single-digit answers through `Corrections.vote`: the author and another member vote
    the true digit; sometimes a third votes a wrong one, and sometimes only one honest vote meets a wrong one (so
    the quorum leaves it disputed).
(c) An admin retrains: `train.py --community DB` in a subprocess, into the same temporary store, same recipe and seed.
(d) The community posts `--unseen` new pictures (other MNIST test digits): accuracy of the old and the new version.
Then the kill phase: a subprocess casting a burst of votes (printing each acknowledged one) is SIGKILLed at random
moments; `PRAGMA integrity_check` must say ok and every acknowledged vote must be in the database (`lost_rows`).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from digits.community import Answer, Corrections, accepted_examples  # noqa: E402
from digits.inference import InferenceService, Prediction  # noqa: E402
from digits.mnist import ensure_mnist, load_mnist  # noqa: E402
from digits.retraining import compare_on_community, promotion_verdict  # noqa: E402
from digits.settings import Paths  # noqa: E402
from model_store import ModelStore  # noqa: E402
from samples.community import community_picture  # noqa: E402

START = 1_750_000_000.0  # the simulated clock of the votes (seconds)
BURST_VOTES = 100_000


def train(store: Path, flags: list[str]) -> dict:
    """train.py into `store`; its `done` record."""
    result = subprocess.run([sys.executable, str(REPO / "train.py"), "--store", str(store), "--json", *flags],
                            capture_output=True, text=True, cwd=REPO, env=os.environ.copy())
    if result.returncode != 0:
        sys.exit(f"train.py failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def read(service: InferenceService, pictures: list[bytes]) -> list[Prediction | None]:
    """What the served model answers; None where it found no digit."""
    return [result if isinstance(result, Prediction) else None for result in service.predict_batch(pictures)]


def accuracy(predictions: list[Prediction | None], labels: np.ndarray) -> float:
    """A picture read as anything but exactly its one digit counts as wrong."""
    return float(np.mean([p is not None and p.digit == int(label) for p, label in zip(predictions, labels)]))


def vote_on_wrong_answers(corrections: Corrections, predictions: list[Prediction | None], labels: np.ndarray,
                          authors: np.ndarray, members: list[int], rng: np.random.Generator) -> dict[str, int]:
    """Phase (b): the members correct the wrong single-digit answers, with some wrong votes among them."""
    counts = {"corrected": 0, "honest_votes": 0, "wrong_votes": 0, "not_one_digit": 0}
    clock = START
    for index, (prediction, label, author) in enumerate(zip(predictions, labels, authors)):
        if prediction is None or prediction.digit is None:
            counts["not_one_digit"] += 1  # no single answer to correct
            continue
        if prediction.digit == int(label):
            continue
        reading = prediction.digits[0]
        answer = Answer(guild_id=1, channel_id=2, message_id=1_000_000 + index, position=0, author_id=int(author),
                        image=reading.input_image.astype(np.float32) / 255, model_version=prediction.version,
                        predicted=reading.digit)
        others = [m for m in members if m != author]
        helper, troll = (int(m) for m in rng.choice(others, 2, replace=False))
        wrong = int(rng.choice([d for d in range(10) if d != label]))
        lone = rng.random() < 0.1  # only one honest vote, against a wrong one: disputed, never trained on
        ballots = [(int(author), int(label))] + ([] if lone else [(helper, int(label))])
        if lone or rng.random() < 0.2:
            ballots.append((troll, wrong))
        for voter, given in rng.permutation(np.array(ballots)).tolist():
            clock += 30
            corrections.vote(answer, voter, given, now=clock)
            counts["honest_votes" if given == label else "wrong_votes"] += 1
        counts["corrected"] += 1
    return counts


def burst(database: Path, first_message: int) -> None:
    """The kill phase's child: vote as fast as possible, printing each vote once it is acknowledged (committed)."""
    corrections = Corrections(database, votes_per_hour=10 * BURST_VOTES)
    rng = np.random.default_rng(first_message)
    for k in range(BURST_VOTES):
        message, voter, label = first_message + k // 2, 500 + k % 2, int(rng.integers(10))
        answer = Answer(1, 2, message, 0, 900 + k % 7, rng.random((28, 28), dtype=np.float32), 1, 0)
        corrections.vote(answer, voter, label)
        print(message, voter, label, flush=True)


def kill_phase(database: Path, kills: int, rng: np.random.Generator) -> dict[str, object]:
    """SIGKILL vote bursts at random moments; then check the file and look for every acknowledged vote."""
    acknowledged: list[tuple[int, int, int]] = []
    for run in range(kills):
        child = subprocess.Popen([sys.executable, __file__, "--burst", str(database), str((run + 1) * 10_000_000)],
                                 stdout=subprocess.PIPE, text=True, cwd=REPO)
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(child.stdout or []), daemon=True)
        reader.start()
        while not lines:  # killed while voting, not while Python starts
            time.sleep(0.05)
            if child.poll() is not None:
                sys.exit("the vote burst stopped by itself")
        time.sleep(float(rng.uniform(0.1, 1.5)))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        reader.join()
        acknowledged += [tuple(int(x) for x in line.split()) for line in lines if line.endswith("\n")]  # type: ignore[misc]
    with sqlite3.connect(database) as db:
        integrity = db.execute("PRAGMA integrity_check").fetchall()
        stored = set(db.execute("SELECT e.message_id, v.voter_id, v.label FROM votes v JOIN examples e ON e.id = v.example_id"))
    return {"kills": kills, "acknowledged_votes": len(acknowledged), "lost_rows": sum(vote not in stored for vote in acknowledged),
            "integrity_ok": integrity == [("ok",)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=3000, help="pictures posted before the retrain (default %(default)s)")
    parser.add_argument("--unseen", type=int, default=1000, help="new pictures posted after it (default %(default)s)")
    parser.add_argument("--members", type=int, default=60, help="community members (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-flags", default="", help="extra train.py flags for both trainings, e.g. '--epochs 1 --train-limit 3000'")
    parser.add_argument("--kills", type=int, default=5, help="vote bursts killed with SIGKILL (default %(default)s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--burst", nargs=2, metavar=("DB", "FIRST_MESSAGE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.burst:
        burst(Path(args.burst[0]), int(args.burst[1]))
        return
    say = (lambda text: print(text, file=sys.stderr, flush=True)) if args.json else (lambda text: print(text, flush=True))
    rng = np.random.default_rng(args.seed)
    paths = Paths.from_env()
    mnist = load_mnist(ensure_mnist(paths.mnist_dir, paths.mnist_cache))
    chosen = rng.permutation(len(mnist.test_labels))[: args.posts + args.unseen]
    posted, unseen = chosen[: args.posts], chosen[args.posts :]
    members = [10_000 + m for m in range(args.members)]
    flags = ["--seed", str(args.seed), *args.train_flags.split()]

    with tempfile.TemporaryDirectory(prefix="community-bench-") as scratch:
        folder = Path(scratch)
        store_root, database = folder / "models", folder / "digitbot.sqlite3"
        say(f"training the served model: train.py {' '.join(flags)}")
        before = train(store_root, flags)
        store = ModelStore(store_root)
        served = InferenceService(store)
        served.load()

        say(f"(a) {args.posts} community posts")
        pictures = [community_picture(mnist.test_images[i], rng) for i in posted]
        authors = rng.choice(members, len(posted))
        answers = read(served, pictures)
        posts_accuracy = accuracy(answers, mnist.test_labels[posted])

        say("(b) corrections")
        corrections = Corrections(database)
        votes = vote_on_wrong_answers(corrections, answers, mnist.test_labels[posted], authors, members, rng)
        summary = corrections.summary()
        corrections.close()
        data = accepted_examples(database)

        say(f"(c) retraining with {len(data.train_labels)} accepted examples ({len(data.test_labels)} held out)")
        after = train(store_root, [*flags, "--community", str(database), "--no-promote"])
        new_card = store.card(after["version"])
        comparison = compare_on_community(database, store.load(after["version"]).network(), served.network)
        verdict = promotion_verdict(after["test_accuracy"], before["test_accuracy"], 0.5, comparison)

        say(f"(d) {args.unseen} new community posts, before and after")
        unseen_pictures = [community_picture(mnist.test_images[i], rng) for i in unseen]
        community_before = accuracy(read(served, unseen_pictures), mnist.test_labels[unseen])
        store.promote(after["version"])
        served.reload()
        community_after = accuracy(read(served, unseen_pictures), mnist.test_labels[unseen])
        served.close()
        with sqlite3.connect(database) as db:
            examples, vote_rows = (db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in ("examples", "votes"))
        database_bytes = sum(f.stat().st_size for f in folder.glob("digitbot.sqlite3*"))

        say(f"kill phase: {args.kills} vote bursts killed with SIGKILL")
        kills = kill_phase(folder / "kill.sqlite3", args.kills, rng)

    result = {
        "posts": args.posts, "unseen": args.unseen, "members": args.members, "seed": args.seed, "train_flags": flags,
        "posts_accuracy": round(posts_accuracy, 4),
        "community_before": round(community_before, 4), "community_after": round(community_after, 4),
        "mnist_before": before["test_accuracy"], "mnist_after": after["test_accuracy"],
        **votes, "pending": summary.pending, "accepted": summary.accepted, "disputed": summary.disputed,
        "community_examples": new_card.community_examples, "community_test_images": new_card.community_test_images,
        "community_test_before": comparison.served_accuracy if comparison else None,
        "community_test_after": new_card.community_test_accuracy,
        "promoted_by_the_rule": verdict.promote, "verdict": verdict.reason,
        "rows": examples + vote_rows, "example_rows": examples, "vote_rows": vote_rows, "database_bytes": database_bytes,
        **kills, "load_average": round(os.getloadavg()[0], 1),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"community posts: {args.posts} by {args.members} members, read right {posts_accuracy:.1%}; "
          f"{votes['corrected']} wrong answers corrected with {votes['honest_votes']} honest and {votes['wrong_votes']} wrong votes")
    print(f"database: {summary.accepted} accepted, {summary.disputed} disputed, {summary.pending} pending; "
          f"{examples + vote_rows} rows, {database_bytes / 1024:.0f} KiB")
    print(f"retrain: {new_card.community_examples} community examples trained on; community test set "
          f"{comparison.served_accuracy if comparison else float('nan'):.1%} → {new_card.community_test_accuracy or float('nan'):.1%} "
          f"(n={new_card.community_test_images}); promotion rule: {'serve' if verdict.promote else 'refuse'}")
    print(f"unseen community posts: {community_before:.1%} → {community_after:.1%} "
          f"({(community_after - community_before) * 100:+.1f} points)")
    print(f"MNIST test: {before['test_accuracy']:.2%} → {after['test_accuracy']:.2%} "
          f"({(after['test_accuracy'] - before['test_accuracy']) * 100:+.2f} points)")
    print(f"kill phase: {kills['kills']} bursts killed, {kills['acknowledged_votes']} votes acknowledged, "
          f"{kills['lost_rows']} lost, integrity {'ok' if kills['integrity_ok'] else 'DAMAGED'}")


if __name__ == "__main__":
    main()
