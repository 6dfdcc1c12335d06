"""Every relative link and anchor in the project's pages leads somewhere: a file that exists, and a heading that
is on the page it names (GitHub's anchors: the heading lower-cased, punctuation dropped, spaces as hyphens)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted({ROOT / "README.md", ROOT / "CHANGELOG.md", ROOT / "benchmarks" / "README.md", *(ROOT / "docs").glob("*.md")})
LINK = re.compile(r"!?\[(?:[^\]`]|`[^`]*`)*\]\(([^)\s]+)\)")


def prose(text: str) -> str:
    """``text`` without its fenced code blocks and inline code, where brackets are code, not links."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    return re.sub(r"`[^`\n]*`", "``", text)


def anchors(text: str) -> set[str]:
    """The anchors GitHub gives the headings of a page (a repeated heading gets -1, -2, ...)."""
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", re.sub(r"^```.*?^```", "", text, flags=re.M | re.S), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        candidate, n = slug, 0
        while candidate in found:
            n += 1
            candidate = f"{slug}-{n}"
        found.add(candidate)
    return found


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in LINK.findall(prose(page.read_text())):
        if re.match(r"[a-z]+:", target):  # https:, mailto:: not ours to check
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no file {file}")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file.read_text()):
            broken.append(f"{target}: no heading with anchor #{anchor} in {file}")
    return broken


def test_anchors_are_githubs():
    page = "# ganforge\n## Losses: one flag, `--set loss.name=...`\n## After training: the run's page\n## Notes\n## Notes\n"
    assert anchors(page) == {"ganforge", "losses-one-flag---set-lossname", "after-training-the-runs-page", "notes", "notes-1"}


def test_a_broken_link_or_anchor_is_found(tmp_path):
    (tmp_path / "other.md").write_text("# Other\n\n## A section\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[fine](other.md#a-section) [here](#top) ![a picture](missing.png) [gone](other.md#no-such)\n"
        "# Top\n`[not a link](nowhere.md)`\n```\n[code](nowhere.md)\n```\n[web](https://example.com/x.md)\n"
    )
    assert [line.split(":")[0] for line in broken_links(page)] == ["missing.png", "other.md#no-such"]


def test_the_pages_link_to_each_other():
    assert ROOT / "README.md" in PAGES and len(PAGES) >= 10
    assert all(page.exists() for page in PAGES)
    readme = LINK.findall(prose((ROOT / "README.md").read_text()))
    for page in (ROOT / "docs").glob("*.md"):  # every page is one click from the README
        assert f"docs/{page.name}" in {target.partition("#")[0] for target in readme}, page.name


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(page):
    assert not broken_links(page)


def test_the_readme_stays_a_first_hours_read():
    """The README holds what a first hour needs; reference material goes to a page under docs/ it links to."""
    size = len((ROOT / "README.md").read_bytes())
    assert size < 15_000, f"README.md is {size:,} bytes; move reference material to a page under docs/"
