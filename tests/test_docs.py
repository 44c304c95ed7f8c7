"""The user docs: README.md stays a front page, and every relative link in it and in docs/ resolves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
README_MAX_LINES = 300

FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"(`+).*?\1")
# [text](target) and ![alt](target "title"); the target may be written as <target>.
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
HTML_LINK = re.compile(r"<(?:a|img)\b[^>]*?\b(?:href|src)=\"([^\"]+)\"", re.IGNORECASE)
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
ISSUE_REF = re.compile(r"\bissues? ?#?\d+", re.IGNORECASE)
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # http:, https:, mailto:, ...


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks, with inline code spans blanked out."""
    lines: list[tuple[int, str]] = []
    in_fence = False
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if not in_fence:
            lines.append((number, CODE_SPAN.sub("", line)))
    return lines


def links(page: Path) -> list[tuple[int, str]]:
    """Every link and image target in a page: (line number, target)."""
    found: list[tuple[int, str]] = []
    for number, line in prose_lines(page.read_text(encoding="utf-8")):
        for pattern in (INLINE_LINK, REFERENCE_DEF, HTML_LINK):
            found.extend((number, match.group(1)) for match in pattern.finditer(line))
    return found


def relative_links(page: Path) -> list[tuple[int, str]]:
    return [(number, target) for number, target in links(page) if not EXTERNAL.match(target)]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: inline markup dropped, lower case, punctuation removed, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = text.replace("`", "").lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """The anchors a page's headings define, duplicates numbered as GitHub numbers them."""
    seen: dict[str, int] = {}
    result: set[str] = set()
    in_fence = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        match = HEADING.match(line)
        if in_fence or not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def test_the_pages_exist() -> None:
    assert README.is_file()
    names = {page.name for page in DOCS}
    expected = {
        "data.md",
        "training.md",
        "prediction.md",
        "comparison.md",
        "results.md",
        "benchmarks.md",
        "architecture.md",
    }
    assert expected <= names, f"missing: {sorted(expected - names)}"


def test_readme_is_a_front_page() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines, at most {README_MAX_LINES}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_relative_links_resolve(page: Path) -> None:
    broken: list[str] = []
    for number, target in relative_links(page):
        path = target.split("#", 1)[0].split("?", 1)[0]
        if path and not (page.parent / path).exists():
            broken.append(f"{page.name}:{number}: {target}")
    assert not broken, "links to missing files:\n" + "\n".join(broken)


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_anchors_name_headings(page: Path) -> None:
    broken: list[str] = []
    for number, target in relative_links(page):
        if "#" not in target:
            continue
        path, fragment = target.split("#", 1)
        linked = (page.parent / path) if path else page
        if linked.suffix != ".md" or not linked.is_file():
            continue  # a missing file is test_relative_links_resolve's to report
        if fragment not in anchors(linked):
            broken.append(f"{page.name}:{number}: {target}")
    assert not broken, "anchors without a heading:\n" + "\n".join(broken)


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_no_issue_references(page: Path) -> None:
    hits = [
        f"{page.name}:{number}: {line.strip()}"
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1)
        if ISSUE_REF.search(line)
    ]
    assert not hits, "issue references:\n" + "\n".join(hits)


def test_the_checks_catch_what_they_should(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# A page\n\n## `make run`\n\n"
        "[ok](#make-run) [gone](missing.md) ![img](images/none.png) [web](https://example.org/x.md)\n"
        "```\n[in code](not-a-link.md)\n```\n"
        "see `[span](nor-this.md)`\n",
        encoding="utf-8",
    )
    assert relative_links(page) == [(5, "#make-run"), (5, "missing.md"), (5, "images/none.png")]
    assert anchors(page) == {"a-page", "make-run"}
    assert ISSUE_REF.search("fixed in issue 12") and ISSUE_REF.search("Issues #14")
    assert not ISSUE_REF.search("tissue 3")
