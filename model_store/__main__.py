"""Operator commands for the model store: `python -m model_store list | current | show N | promote N | rollback`,
and `copy SRC DST` (a folder store into PostgreSQL, or back: the versions keep their numbers)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from dotenv import dotenv_values, find_dotenv

from model_store import CorruptVersionError, ModelStore, StoreError, store_location
from model_store.store import copy_versions, opened


def describe_versions(store: ModelStore, served: int | None) -> list[list[str]]:
    """Rows of the `list` table: the served version is starred; damaged versions say so."""
    rows = []
    for version in store.versions():
        mark = "*" if version == served else ""
        try:
            card = store.load(version).card
            rows.append([
                f"{mark}{version}",
                f"{card.test_accuracy * 100:.2f}%",
                f"{card.test_loss:.4f}",
                f"{'-'.join(map(str, card.architecture.hidden_units))} {card.architecture.activation}",
                str(card.hyperparameters.epochs),
                str(card.hyperparameters.batch_size),
                card.created,
            ])
        except CorruptVersionError as error:
            rows.append([f"{mark}{version}", "damaged", "", str(error), "", "", ""])
    return rows


def format_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [header, *rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model_store", description="Inspect and switch the served model version.")
    parser.add_argument("--store", default=None,
                        help="model store: a folder or a postgresql:// URL (default $MODEL_STORE or ./models)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list the versions; * marks the one a process serves")
    commands.add_parser("current", help="print the version a process serves, and why if not SERVING's (exit 1 if none)")
    commands.add_parser("show", help="print a version's model.json").add_argument("version", type=int)
    commands.add_parser("promote", help="serve a version").add_argument("version", type=int)
    commands.add_parser("rollback", help="serve the previously served version again")
    copying = commands.add_parser("copy", help="copy the versions (and what is served) from one store into another")
    copying.add_argument("source", help="a folder or a postgresql:// URL")
    copying.add_argument("target", help="a folder or a postgresql:// URL")
    args = parser.parse_args(argv)
    # As every entry point reads it (digits.settings.environment): `.env` fills in what the environment leaves unset.
    env = {**{k: v for k, v in dotenv_values(find_dotenv(usecwd=True)).items() if v is not None}, **os.environ}

    try:
        if args.command == "copy":
            with opened(_location(args.source)) as source, opened(_location(args.target)) as target:
                target.check_writable()
                for line in copy_versions(source, target):
                    print(line)
            return 0
        with opened(_location(args.store) if args.store else store_location(env)) as store:
            return _run(args, store)
    except StoreError as error:
        print(f"python -m model_store: error: {error}", file=sys.stderr)
        return 1


def _location(text: str) -> Path | str:
    return text if "://" in text else Path(text)  # a URL other than postgresql:// is refused by ModelStore


def _run(args: argparse.Namespace, store: ModelStore) -> int:
    if args.command == "list":
        if not store.versions():
            print(f"No versions in {store.location}. Train one with: python train.py")
            return 0
        try:
            model, reason = store.select_served()
        except StoreError:
            model, reason = None, None
        print(format_table(["version", "accuracy", "loss", "layers", "epochs", "batch", "created"],
                           describe_versions(store, model.version if model else None)))
        if model is None:
            print("No intact version: nothing can be served.")
        elif reason is not None:
            print(f"Serving version {model.version}, the newest intact one: {reason}.")
    elif args.command == "current":
        model, reason = store.select_served()
        print(model.version if reason is None else f"{model.version} (the newest intact version: {reason})")
    elif args.command == "show":
        print(json.dumps(store.card(args.version).to_json(), indent=2))
    elif args.command in ("promote", "rollback"):
        damage = store.pointer().damage
        if args.command == "promote":
            store.promote(args.version)
            print(f"Now serving version {args.version}.")
        else:
            print(f"Rolled back: now serving version {store.rollback()}.")
        if damage is not None:
            print(f"Repaired {store.pointer_name} in {store.location}, which was damaged: {damage}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
