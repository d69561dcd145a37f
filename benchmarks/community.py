"""A community teaches the bot its handwriting: corrections in SQLite or PostgreSQL, a retrain with them, accuracy
before and after.

    python benchmarks/community.py            # 8,000 posts, 2,000 unseen, 60 members, the tutorial recipe at 10 epochs
    python benchmarks/community.py --json     # one JSON object
    python benchmarks/community.py --only-kill --json   # the kill phase alone (on a model trained with --train-flags)
    python benchmarks/community.py --database postgresql://USER:PASSWORD@HOST/DB   # the corrections in PostgreSQL
    python benchmarks/community.py --database postgresql   # in a throwaway PostgreSQL started here (Debian's postgresql)

The community writes like `samples.community` (MNIST *test* digits re-drawn with a thick marker and a strong slant).
(a) Members post `--posts` pictures and the served model (trained here with train.py) answers them, through the
    bot's `InferenceService` on the PNG bytes.
(b) Members correct the wrong single-digit answers through `Corrections.vote`: the author and another member vote
    the true digit; sometimes a third votes a wrong one, and sometimes only one honest vote meets a wrong one (so
    the quorum leaves it disputed).
(c) An admin retrains: `train.py --community DB` in a subprocess, into the same temporary store, same recipe and seed.
(d) The community posts `--unseen` new pictures (other MNIST test digits): accuracy of the old and the new version.
Then the kill phase, with the real bot (`python -m bot`) against the Discord twin in this process, on a fresh
database: members post `KILL_ANSWERS` pictures; then `--kills` bursts of corrections by click ("Wrong?", then the digit
in the private select), CLICKERS members at once, each (member, answer) voting at most once, a vote counting as
acknowledged when the member's private message says "Thanks". Each burst ends with SIGKILL at a random moment (0–2 s
after its first acknowledged vote), and the bot is restarted for the next one (it rebuilds the earlier answers from
their original posts). On the file as the last kill left it, `PRAGMA integrity_check` must say ok and every
acknowledged vote must be there (`lost_rows`). With `--database URL` each phase gets a new database on that server
(created and dropped here: the user needs CREATEDB), and `integrity_ok` is amcheck's `bt_index_check` of every index
and no vote without its example.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.corrections import parse_wrong  # noqa: E402
from digits.community import VOTES_PER_HOUR, AnsweredDigit, Corrections, accepted_examples  # noqa: E402
from digits.inference import InferenceService, Prediction  # noqa: E402
from digits.mnist import ensure_mnist, load_mnist  # noqa: E402
from digits.retraining import CommunityComparison, decide_promotion  # noqa: E402
from digits.settings import Paths  # noqa: E402
from discord_twin import Attachment, DiscordTwin, Message, User, build_world  # noqa: E402
from model_store import ModelStore  # noqa: E402
from samples.community import community_picture  # noqa: E402

Location = Path | str  # a SQLite file, or a postgresql:// URL


def query(location: Location, sql: str) -> list[tuple]:
    """Rows of one query, asked straight of the database."""
    if isinstance(location, str):
        with psycopg.connect(location) as db:
            return db.execute(sql).fetchall()  # type: ignore[arg-type]
    with contextlib.closing(sqlite3.connect(location)) as db:
        return db.execute(sql).fetchall()


def integrity_ok(location: Location) -> bool:
    """SQLite's integrity_check; for PostgreSQL, amcheck on every index and no vote without its example."""
    if isinstance(location, Path):
        return query(location, "PRAGMA integrity_check") == [("ok",)]
    with psycopg.connect(location, autocommit=True) as db:
        try:
            db.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
        except psycopg.Error as error:  # not a superuser, or no postgresql-contrib: the foreign keys alone
            print(f"integrity: amcheck unavailable ({error}); checking the votes' examples only", file=sys.stderr)
        else:
            db.execute("SELECT bt_index_check(i.indexrelid, true) FROM pg_index i "
                       "WHERE i.indrelid IN ('examples'::regclass, 'votes'::regclass)")  # raises on a damaged index
        orphans = db.execute("SELECT count(*) FROM votes v LEFT JOIN examples e ON e.id = v.example_id "
                             "WHERE e.id IS NULL").fetchone()
    return orphans == (0,)


def database_bytes(location: Location) -> int:
    if isinstance(location, str):
        return int(query(location, "SELECT pg_total_relation_size('examples') + pg_total_relation_size('votes')")[0][0])
    return sum(f.stat().st_size for f in location.parent.glob(f"{location.name}*"))


@contextlib.contextmanager
def databases(server: str | None, folder: Path, names: tuple[str, ...]):
    """One new database per phase: SQLite files in `folder`, or databases made (and dropped) on the server."""
    if server is None:
        yield [folder / f"{name}.sqlite3" for name in names]
        return
    made = [f"digitbot_bench_{os.getpid()}_{name}" for name in names]
    with psycopg.connect(server, autocommit=True) as admin:
        for name in made:
            admin.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
        try:
            yield [server.rsplit("/", 1)[0] + f"/{name}" for name in made]
        finally:
            for name in made:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]

START = 1_750_000_000.0  # the simulated clock of the votes (seconds)
KILL_ANSWERS = 40  # pictures the bot answers before the bursts: more than a member may vote on in an hour
CLICKERS = 8  # members voting at the same moment
STARTUP_TIMEOUT = 180.0  # seconds for the bot to load its model and connect
BOT_WAIT = 30.0  # seconds any one answer of the bot may take on a busy machine
IDENTIFY_INTERVAL = 0.01  # seconds between session starts, in the twin and the bot (Discord's 5 s is not measured here)


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
        answer = AnsweredDigit(guild_id=1, channel_id=2, message_id=1_000_000 + index, position=0, author_id=int(author),
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


class BenchmarkFailed(Exception):
    """The kill phase could not measure what it claims."""


@dataclass(frozen=True, eq=False)
class Ballot:
    """One member's vote on one answer: the expected row is (the answer's id, the member's id, the label)."""

    member: User
    reply: Message
    label: int


def wrong_button(reply: Message) -> str | None:
    """The custom_id of the "Wrong?" button of an answer naming exactly one digit; None for any other reply."""
    for row in reply.components:
        for component in row.get("components", []):
            parsed = parse_wrong(str(component.get("custom_id", "")))
            if parsed is not None and len(parsed[1]) == 1 and len(parsed[1][0]) == 1:
                return str(component["custom_id"])
    return None


async def start_bot(twin: DiscordTwin, env: dict[str, str], log: IO[bytes]) -> tuple[asyncio.subprocess.Process, float]:
    """`python -m bot` against the twin; returns once its gateway session is connected, with the seconds that took."""
    await twin.wait_until(lambda: not twin.gateway.connected_sessions, BOT_WAIT, "the killed bot's session to drop")
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", cwd=REPO, env=env, stdout=log, stderr=log)
    try:
        await twin.wait_until_connected(timeout=STARTUP_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise BenchmarkFailed("the bot did not connect to the twin") from None
    return process, time.perf_counter() - started


async def vote(twin: DiscordTwin, ballot: Ballot, private: dict[Ballot, Message], refused: list[str],
               killed: asyncio.Event) -> None:
    """Click "Wrong?" and pick the label in the private select, as a member does; `private` gets the private message,
    `refused` what the bot said if it refused the vote. Stops waiting once `killed` is set.

    (Waits end by `killed`, not by cancelling them: on Python 3.11, cancelling many waits on the twin's condition
    at once can leave them stuck re-acquiring its lock.)
    """
    button = wrong_button(ballot.reply)
    assert button is not None
    click = await twin.use_component(ballot.reply, ballot.member, button)
    await twin.wait_until(lambda: killed.is_set() or click.original, BOT_WAIT, "the private choice")
    if click.original is None:
        return
    choice = private[ballot] = click.original
    [select] = choice.components[0]["components"]
    pick = await twin.use_component(choice, ballot.member, select["custom_id"], [str(ballot.label)])
    await twin.wait_until(lambda: killed.is_set() or not choice.components or pick.followups, BOT_WAIT, "the vote's answer")
    refused += [message.content for message in pick.followups]


def thanked(message: Message) -> bool:
    """What the member sees: the private message says "Thanks, noted as 7" once the vote is stored."""
    return message.content.startswith("Thanks, noted as")


async def burst_until_killed(twin: DiscordTwin, bot: asyncio.subprocess.Process, ballots: list[Ballot],
                             refused: list[str], rng: np.random.Generator) -> tuple[dict[Ballot, Message], float]:
    """CLICKERS members vote at once, each taking the next ballot; SIGKILL the bot at a random moment of the burst.

    The moment: once a random number of the burst's votes were acknowledged (up to three quarters of them, so that
    it is still going: the bot stores votes faster than a fixed delay could aim at), and a random part of a vote's
    time later. Every ballot gets one try (a vote cut short by the kill is not cast again). Returns the private
    message of every ballot that got one (those saying "Thanks" are the acknowledged votes) and the burst's seconds.
    """
    private: dict[Ballot, Message] = {}
    queue = iter(ballots)
    killed = asyncio.Event()

    async def clicker() -> None:
        for ballot in queue:
            if killed.is_set():
                return
            with contextlib.suppress(TimeoutError):  # unanswered: not acknowledged, and not cast again
                await vote(twin, ballot, private, refused, killed)

    target = int(rng.integers(1, max(2, 3 * len(ballots) // 4)))
    started = time.perf_counter()
    voting = asyncio.gather(*(clicker() for _ in range(CLICKERS)))
    try:
        await twin.wait_until(lambda: voting.done() or sum(map(thanked, private.values())) >= target, STARTUP_TIMEOUT,
                              f"{target} acknowledged votes")
        await asyncio.sleep(float(rng.uniform(0.0, 0.05)))
        if voting.done():
            voting.result()  # a clicker's error, if that is why
            raise BenchmarkFailed(f"the burst of {len(ballots)} votes ended before the kill")
        bot.kill()  # SIGKILL
        await bot.wait()
    finally:
        killed.set()
        await twin.changes.notify()
        await asyncio.gather(voting, return_exceptions=True)
    return private, time.perf_counter() - started


async def kill_phase(store: Path, database: Location, pictures: list[bytes], members: int, kills: int,
                     rng: np.random.Generator, log: IO[bytes]) -> dict[str, object]:
    """The real bot against the twin: members post, then bursts of corrections by click, each ended by SIGKILL.

    The bot is restarted after each kill but the last; it rebuilds the answers from before the restart from their
    original posts. Then `PRAGMA integrity_check` on the file as the last kill left it, and every acknowledged
    vote looked up in it.
    """
    async with DiscordTwin() as twin:
        twin.relax_rate_limits()  # the bot's limits are measured here, not Discord's 5 messages per 5 s
        # Nor Discord's 5 s between session starts: a restart is measured to the bot's own connection.
        twin.gateway.session_starts.identify_interval = IDENTIFY_INTERVAL
        world = build_world(twin, channel_name="community")
        people = [twin.create_user(f"member{m}") for m in range(members)]
        for person in people:
            twin.add_member(world.guild, person)
        env = {**os.environ, "DISCORD_TOKEN": twin.token, "DISCORD_API_BASE": twin.api_base,
               "DISCORD_GATEWAY_URL": twin.gateway_url, "MODEL_STORE": str(store), "BOT_DATABASE": str(database),
               "PYTHONUNBUFFERED": "1", "BOT_IDENTIFY_INTERVAL": str(IDENTIFY_INTERVAL)}
        bot, _ = await start_bot(twin, env, log)
        restarts: list[float] = []  # seconds from a restart to a connected bot
        bursts: list[float] = []  # seconds from a burst's first click to its kill
        after_restart = 0  # acknowledged votes on answers the restarted bot rebuilt from their original posts
        private: dict[Ballot, Message] = {}
        refused: list[str] = []
        try:
            replies = []
            for index, picture in enumerate(pictures):
                posted = await twin.post_message(world.channel, people[index % members],
                                                 attachments=[Attachment(picture, "digit.png")])
                replies.append(await twin.wait_for_reply(posted, timeout=BOT_WAIT))
            answers = [reply for reply in replies if wrong_button(reply) is not None]
            # Each member votes on up to VOTES_PER_HOUR answers, once each: never rate-limited, one row per vote.
            ballots = [Ballot(person, answers[a], int(rng.integers(10))) for person in people
                       for a in rng.permutation(len(answers))[:VOTES_PER_HOUR]]
            ballots = [ballots[i] for i in rng.permutation(len(ballots))]
            for run, share in enumerate(np.array_split(np.arange(len(ballots)), kills)):
                if run:
                    bot, seconds = await start_bot(twin, env, log)
                    restarts.append(seconds)
                burst, seconds = await burst_until_killed(twin, bot, [ballots[i] for i in share], refused, rng)
                private |= burst
                bursts.append(seconds)
                after_restart += sum(map(thanked, burst.values())) if run else 0
        finally:
            if bot.returncode is None:
                bot.kill()
                await bot.wait()
    acknowledged = [b for b, message in private.items() if thanked(message)]
    stored = set(query(database, "SELECT e.message_id, v.voter_id, v.label FROM votes v JOIN examples e ON e.id = v.example_id"))
    kill_rows = sum(query(database, f"SELECT count(*) FROM {table}")[0][0] for table in ("examples", "votes"))
    return {"kills": kills, "kill_answers": len(answers), "votes_tried": len(private),
            "acknowledged_votes": len(acknowledged), "acknowledged_after_restart": after_restart,
            "lost_rows": sum((b.reply.id, b.member.id, b.label) not in stored for b in acknowledged),
            "refused_votes": len(refused), "refusals": sorted(set(refused))[:3],
            "integrity_ok": integrity_ok(database), "kill_rows": kill_rows,
            "votes_per_second": round(len(acknowledged) / sum(bursts), 1),
            "restart_seconds": round(statistics.median(restarts), 2) if restarts else None}


def teach(store_root: Path, database: Location, before: dict, flags: list[str], pictures: list[bytes], labels: np.ndarray,
          unseen_pictures: list[bytes], unseen_labels: np.ndarray, members: list[int],
          rng: np.random.Generator, say: Callable[[str], None]) -> tuple[dict[str, object], list[str]]:
    """Phases (a) to (d): the figures, and the lines that report them."""
    store = ModelStore(store_root)
    served = InferenceService(store)
    served.load()
    say(f"(a) {len(pictures)} community posts")
    authors = rng.choice(members, len(pictures))
    answers = read(served, pictures)
    posts_accuracy = accuracy(answers, labels)

    say("(b) corrections")
    corrections = Corrections(database)
    votes = vote_on_wrong_answers(corrections, answers, labels, authors, members, rng)
    summary = corrections.summary()
    corrections.close()
    data = accepted_examples(database)

    say(f"(c) retraining with {len(data.train_labels)} accepted examples ({len(data.test_labels)} held out)")
    after = train(store_root, [*flags, "--community", str(database), "--no-promote"])
    new_card = store.card(after["version"])
    # The trainer read the community test set with the new version and the served one (its `done` record).
    comparison = None
    if after["community_test_accuracy"] is not None and after["compared_community_test_accuracy"] is not None:
        comparison = CommunityComparison(after["community_test_accuracy"], after["compared_community_test_accuracy"],
                                         after["community_test_images"])
    decision = decide_promotion(after["test_accuracy"], before["test_accuracy"], 0.5, comparison)

    say(f"(d) {len(unseen_pictures)} new community posts, before and after")
    community_before = accuracy(read(served, unseen_pictures), unseen_labels)
    store.promote(after["version"])
    served.reload()
    community_after = accuracy(read(served, unseen_pictures), unseen_labels)
    served.close()
    examples, vote_rows = (query(database, f"SELECT count(*) FROM {table}")[0][0] for table in ("examples", "votes"))
    size = database_bytes(database)
    figures = {
        "posts_accuracy": round(posts_accuracy, 4),
        "community_before": round(community_before, 4), "community_after": round(community_after, 4),
        "mnist_before": before["test_accuracy"], "mnist_after": after["test_accuracy"],
        **votes, "pending": summary.pending, "accepted": summary.accepted, "disputed": summary.disputed,
        "community_examples": new_card.community_examples, "community_test_images": new_card.community_test_images,
        "community_test_before": comparison.served_accuracy if comparison else None,
        "community_test_after": new_card.community_test_accuracy,
        "promoted_by_the_rule": decision.promote, "verdict": decision.reason.value,
        "rows": examples + vote_rows, "example_rows": examples, "vote_rows": vote_rows, "database_bytes": size,
    }
    lines = [
        f"community posts: {len(pictures)} by {len(members)} members, read right {posts_accuracy:.1%}; "
        f"{votes['corrected']} wrong answers corrected with {votes['honest_votes']} honest and {votes['wrong_votes']} wrong votes",
        f"database: {summary.accepted} accepted, {summary.disputed} disputed, {summary.pending} pending; "
        f"{examples + vote_rows} rows, {size / 1024:.0f} KiB",
        f"retrain: {new_card.community_examples} community examples trained on; community test set "
        f"{comparison.served_accuracy if comparison else float('nan'):.1%} → {new_card.community_test_accuracy or float('nan'):.1%} "
        f"(n={new_card.community_test_images}); promotion rule: {'serve' if decision.promote else 'refuse'}",
        f"unseen community posts: {community_before:.1%} → {community_after:.1%} "
        f"({(community_after - community_before) * 100:+.1f} points)",
        f"MNIST test: {before['test_accuracy']:.2%} → {after['test_accuracy']:.2%} "
        f"({(after['test_accuracy'] - before['test_accuracy']) * 100:+.2f} points)",
    ]
    return figures, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=8000, help="pictures posted before the retrain (default %(default)s)")
    parser.add_argument("--unseen", type=int, default=2000, help="new pictures posted after it (default %(default)s)")
    parser.add_argument("--members", type=int, default=60, help="community members (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-flags", default="--epochs 10",
                        help="train.py flags for both trainings (default %(default)r: the tutorial is too noisy at 5 epochs)")
    parser.add_argument("--kills", type=int, default=5, help="bursts of corrections ended by SIGKILL (default %(default)s)")
    parser.add_argument("--only-kill", action="store_true", help="skip phases (a) to (d): train the served model, then the kill phase")
    parser.add_argument("--store", type=Path, default=None, metavar="DIR",
                        help="with --only-kill: serve this folder store's model (copied) instead of training one")
    parser.add_argument("--database", default=None, metavar="URL",
                        help="keep the corrections in PostgreSQL: a server's URL (each phase gets a new database on it), "
                             "or `postgresql` for a throwaway server started here; default: SQLite files")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.posts + args.unseen > 10_000:
        parser.error("--posts and --unseen share MNIST's 10,000 test digits")
    if args.store is not None and not args.only_kill:
        parser.error("--store goes with --only-kill (phases (a) to (d) train their own model)")
    if args.kills < 1 or args.members < 2:
        parser.error("the kill phase needs --kills 1 or more and --members 2 or more")
    say = (lambda text: print(text, file=sys.stderr, flush=True)) if args.json else (lambda text: print(text, flush=True))
    rng = np.random.default_rng(args.seed)
    paths = Paths.from_env()
    mnist = load_mnist(ensure_mnist(paths.mnist_dir, paths.mnist_cache))
    chosen = rng.permutation(len(mnist.test_labels))[: args.posts + args.unseen]
    posted, unseen = chosen[: args.posts], chosen[args.posts :]
    flags = ["--seed", str(args.seed), *args.train_flags.split()]
    server = args.database
    if server == "postgresql":
        from tests.fixtures.postgres import bin_dir, start_server

        if (found := bin_dir()) is None:
            parser.error("--database postgresql needs Debian's postgresql (apt-get install postgresql)")
        server = start_server(found, durable=True)[0].url()
    result: dict[str, object] = {"members": args.members, "seed": args.seed, "train_flags": flags,
                                 "backend": "sqlite" if server is None else "postgresql"}
    lines: list[str] = []

    with tempfile.TemporaryDirectory(prefix="community-bench-") as scratch, \
            databases(server, Path(scratch), ("teach", "kill")) as (teach_database, kill_database):
        folder = Path(scratch)
        store_root = folder / "models"
        if args.store is not None:
            shutil.copytree(args.store, store_root)
        else:
            say(f"training the served model: train.py {' '.join(flags)}")
            before = train(store_root, flags)
        if not args.only_kill:
            pictures = [community_picture(mnist.test_images[i], rng) for i in posted]
            unseen_pictures = [community_picture(mnist.test_images[i], rng) for i in unseen]
            figures, lines = teach(store_root, teach_database, before, flags, pictures,
                                   mnist.test_labels[posted], unseen_pictures, mnist.test_labels[unseen],
                                   [10_000 + m for m in range(args.members)], rng, say)
            result |= {"posts": args.posts, "unseen": args.unseen, **figures}

        say(f"kill phase: the bot against the twin, {args.kills} bursts of corrections ended by SIGKILL")
        kill_pictures = [community_picture(mnist.test_images[i], rng) for i in posted[:KILL_ANSWERS]]
        with tempfile.NamedTemporaryFile(prefix="community-bot-", suffix=".log", delete=False) as log:
            try:
                kills = asyncio.run(kill_phase(store_root, kill_database, kill_pictures, args.members,
                                               args.kills, rng, log))
            except BenchmarkFailed as error:
                sys.exit(f"kill phase: {error}; the bot's log: {log.name}")
        os.unlink(log.name)  # kept when the kill phase failed

    result |= {**kills, "load_average": round(os.getloadavg()[0], 1)}
    if args.json:
        print(json.dumps(result))
        return
    for line in lines:
        print(line)
    print(f"kill phase: {kills['kills']} bursts killed ({kills['votes_tried']} votes tried by {args.members} members on "
          f"{kills['kill_answers']} answers), {kills['acknowledged_votes']} acknowledged, {kills['lost_rows']} lost, "
          f"{kills['refused_votes']} refused, integrity {'ok' if kills['integrity_ok'] else 'DAMAGED'}; "
          f"{kills['votes_per_second']} votes acknowledged per second; restart to connected: median {kills['restart_seconds']} s")


if __name__ == "__main__":
    main()
