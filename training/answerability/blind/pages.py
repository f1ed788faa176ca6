"""How White House pages were drawn for the blind writers (used by the prep_docs scripts, run from this folder)."""

from __future__ import annotations

import pathlib
import random
import re
import subprocess

KINDS = {"speeches-remarks", "presidential-actions", "statements-releases", "briefings-statements", "articles"}
OFF_TOPIC = re.compile(r"artificial intelligence|\bAI\b|China|PRC|semiconductor")


def candidates(repo: str, taken: set[str], rnd: random.Random) -> list[str]:
    """The archive's pages of the wanted kinds not taken yet, shuffled with `rnd`."""
    names = subprocess.run(
        ["git", "-C", repo, "ls-tree", "-r", "--name-only", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.split()
    found = [n for n in names if n.endswith(".md") and n.split("/")[0] in KINDS and pathlib.Path(n).name not in taken]
    rnd.shuffle(found)
    return found


def draw(repo: str, found: list[str], taken: set[str], count: int = 18, per_kind: int = 4) -> list[tuple[str, str]]:
    """Up to `count` pages of 350-1,400 words, none on AI or China, at most `per_kind` of each kind; each drawn
    page's name joins `taken`."""
    chosen: list[tuple[str, str]] = []
    kinds: dict[str, int] = {}
    for n in found:
        if len(chosen) >= count:
            break
        k = n.split("/")[0]
        if pathlib.Path(n).name in taken or kinds.get(k, 0) >= per_kind:
            continue
        t = subprocess.run(["git", "-C", repo, "show", f"HEAD:{n}"], capture_output=True, text=True, check=True).stdout
        if not 350 <= len(t.split("---", 2)[-1].split()) <= 1400 or OFF_TOPIC.search(t):
            continue
        chosen.append((n, t))
        kinds[k] = kinds.get(k, 0) + 1
        taken.add(pathlib.Path(n).name)
    return chosen
