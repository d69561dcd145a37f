"""Every relative link in the README and in docs/ leads somewhere: to a file that exists, and to a heading it has."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from tests.fixtures.mnist import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

MARKDOWN = MarkdownIt("commonmark").enable("table")


def _tokens(page: Path) -> list[Token]:
    return MARKDOWN.parse(page.read_text(encoding="utf-8"))


def _walk(tokens: list[Token]) -> Iterator[Token]:
    for token in tokens:
        yield token
        yield from _walk(token.children or [])


def links(page: Path) -> list[str]:
    """The targets of the page's links and images (code blocks and code spans hold none)."""
    return [str(t.attrGet("href") if t.type == "link_open" else t.attrGet("src"))
            for t in _walk(_tokens(page)) if t.type in ("link_open", "image")]


def anchors(page: Path) -> set[str]:
    """The ids GitHub gives the page's headings: lower case, punctuation dropped, spaces as hyphens, repeats numbered."""
    tokens = _tokens(page)
    seen: Counter[str] = Counter()
    ids = set()
    for opening, inline in zip(tokens, tokens[1:]):
        if opening.type != "heading_open":
            continue
        text = "".join(child.content for child in inline.children or [] if child.type in ("text", "code_inline"))
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        ids.add(slug if not seen[slug] else f"{slug}-{seen[slug]}")
        seen[slug] += 1
    return ids


def test_github_heading_ids() -> None:
    page = REPO / "docs" / "reading.md"
    assert {"from-a-picture-to-2828", "honest-confidence"} <= anchors(page)
    assert "training-with-trainpy" in anchors(REPO / "docs" / "operating.md")


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(REPO)))
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    broken = []
    for target in links(page):
        parts = urlsplit(target)
        if parts.scheme or parts.netloc:
            continue  # the web: not checked here
        linked = (page.parent / unquote(parts.path)).resolve() if parts.path else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
            continue
        if parts.fragment and (linked.suffix != ".md" or unquote(parts.fragment) not in anchors(linked)):
            broken.append(f"{target}: no such heading")
    assert not broken, f"{page.relative_to(REPO)}: " + "; ".join(broken)
