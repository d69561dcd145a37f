"""A new user's first `make run`: the tutorial's network in seconds, then the robust one swapped in when ready.

The robust recipe takes about a minute on two idle cores; nobody should wait that long for a first answer.
So an empty store gets the tutorial's network first (`python train.py`, a few seconds), the bot starts
at once, and the robust recipe trains in the background with the retrain machinery (`RetrainJob`: its
own process, niced, promoted only if it clears the floor). Every serving process follows the store's
pointer, so the bot (or the playground's bot) serves the robust model within a second of its promotion.

The bot (or the playground) and the trainers end with this process, even when it is killed. A kill after the
robust version was saved but before it was decided on leaves a note in the store (`UPGRADE_NOTE`): the next
start decides on that version, without training again.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from bot.embeds import promotion_reason, retrain_outcome_text
from digits.inference import InferenceService
from digits.options import TrainingOptions
from digits.processes import ending_with_this_process
from digits.retraining import TRAIN_SCRIPT, RetrainJob, Status, decide_promotion, trainer_environment
from model_store import ModelStore, StoreError

Say = Callable[[str], None]
# In the store while a first start's robust version is being trained and decided on; left there only by a kill.
UPGRADE_NOTE = ".first-start-upgrade"


def _say(line: str) -> None:
    print(f"digitbot: {line}", flush=True)


def needs_first_model(store: ModelStore) -> bool:
    """True when the store has nothing the bot could serve (a fresh checkout)."""
    try:
        store.select_served()
    except StoreError:
        return True
    return False


def wants_robust_upgrade(store: ModelStore) -> bool:
    """True while the store holds only a first start's model: one version, trained with the tutorial recipe.

    So a first start stopped before the robust recipe was ready resumes it next time, and a store anyone
    has trained more versions in is left as it is.
    """
    try:
        [version] = store.versions()
        return store.card(version).hyperparameters.recipe == "tutorial"
    except (ValueError, StoreError):
        return False


def train_tutorial(store: ModelStore, env: Mapping[str, str], extra_args: Sequence[str] = (), say: Say = _say) -> bool:
    """Train the tutorial's network into `store` in the foreground (its output shows); False if it failed.

    The trainer gets what it needs from `env` and nothing else (no token), as `!retrain`'s does.
    """
    say("no model yet: training the tutorial's network first (python train.py, a few seconds), "
        "so the bot can answer right away")
    store_flags, store_env = store.handover()
    argv = [sys.executable, str(TRAIN_SCRIPT), *store_flags, *extra_args]
    trainer = subprocess.run(argv, env={**trainer_environment(env, None), **store_env},
                             preexec_fn=ending_with_this_process())
    return trainer.returncode == 0


async def serve_with_upgrade(argv: Sequence[str], env: Mapping[str, str], upgrade: RetrainJob, say: Say = _say) -> int:
    """Run `argv` (the bot or the playground) while `upgrade` trains; its exit code.

    The upgrade is cancelled if `argv` ends first, and its inference service closed either way.
    """
    loop = asyncio.get_running_loop()
    # Ctrl-C reaches the bot (same process group) which shuts down by itself; this process waits for it.
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGINT, lambda: None)
    main = await asyncio.create_subprocess_exec(*argv, env=dict(env), preexec_fn=ending_with_this_process())
    training = asyncio.create_task(_upgrade(upgrade, say))
    code = await main.wait()
    if not training.done():
        await upgrade.cancel()
        say("the robust recipe's training stopped with the bot; the next `make run` starts it again")
    await asyncio.gather(training, return_exceptions=True)
    upgrade.inference.close()
    return code


async def _upgrade(job: RetrainJob, say: Say) -> None:
    say(f"training the robust recipe in the background ({job.options.epochs} epochs, about a minute on two idle "
        "cores); the bot switches to it by itself when it is ready")
    store = job.inference.store
    store.set_note(UPGRADE_NOTE, f"the first start's robust recipe, trained while version {job.inference.served_version} "
                                 "served\n")
    reporter = asyncio.create_task(_report_progress(job, say))
    try:
        outcome = await job.run()
    finally:
        reporter.cancel()
        store.set_note(UPGRADE_NOTE, None)  # decided (or cancelled: nothing was saved)
    if outcome.status is not Status.CANCELLED:
        title, description = retrain_outcome_text(outcome)
        details = description.replace("**", "").replace("\n", " ")
        say(f"{title.replace('Retrained', 'robust recipe')}. {details}")


async def _report_progress(job: RetrainJob, say: Say) -> None:
    """A line every quarter of the epochs, so the console shows the background training is alive."""
    shown = 0
    while True:
        await job.progressed.wait()
        job.progressed.clear()
        progress = job.progress
        if progress is not None and progress.epoch > shown and progress.epoch % max(1, progress.epochs // 4) == 0:
            shown = progress.epoch
            say(f"robust recipe: epoch {progress.epoch} of {progress.epochs}")


def finish_interrupted_upgrade(store: ModelStore, *, floor_points: float, say: Say = _say) -> None:
    """Decide on the robust version a killed first start saved but could not decide on: served if it clears the
    floor, as it would have been then; it is not trained again either way."""
    try:
        if store.note(UPGRADE_NOTE) is None:
            return
        served, newest = store.current(), max(store.versions())
        card = store.card(newest)
        served_accuracy = None if served is None else store.card(served).test_accuracy
    except (StoreError, ValueError):
        return  # nothing to decide on: the store is as the next start finds it
    if newest == served or card.hyperparameters.recipe != "robust":
        if not wants_robust_upgrade(store):
            store.set_note(UPGRADE_NOTE, None)  # the store has moved on since (other versions were trained)
        return
    decision = decide_promotion(card.test_accuracy, served_accuracy, floor_points)
    saved = f"robust recipe: version {newest}, saved before the last start was stopped,"
    if decision.promote:
        inference = InferenceService(store)
        try:
            inference.promote(newest)
        except StoreError as error:
            say(f"{saved} could not be served: {error}; version {served} keeps serving")
            return
        finally:
            inference.close()
        say(f"{saved} is now serving: {promotion_reason(decision)}")
    else:
        say(f"{saved} is not served: {promotion_reason(decision)}; version {served} keeps serving")
    store.set_note(UPGRADE_NOTE, None)


def robust_upgrade(store: ModelStore, *, floor_points: float, mnist_dir: Path | None,
                   options: TrainingOptions | None = None, train_limit: int | None = None) -> RetrainJob:
    """The background retrain of a first start: the robust recipe, served if it clears the floor."""
    inference = InferenceService(store)
    inference.load()
    return RetrainJob(options or TrainingOptions.for_recipe("robust"), inference, "the first start",
                      floor_points=floor_points, train_limit=train_limit, mnist_dir=mnist_dir)
