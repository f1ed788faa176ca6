"""How the documents the blind writers read were drawn (run once, as recorded here; paths of the machine it ran on).

Kept as the record of provenance: data/corpora.json lists what it chose, and corpora.py rebuilds those documents
from ../shared and corpora/wh.
"""

# ruff: noqa: SIM115
import json
import pathlib
import random
import re
import subprocess

root = pathlib.Path("/work/blind/docs")
rnd = random.Random(7)
shared = pathlib.Path("/work/shared")
sq = json.load(open(shared / "data/squad2-train/train-v2.0-first10.json"))
held = {"Spectre_(2015_film)", "To_Kill_a_Mockingbird", "Solar_energy"}
folder = root / "squad_ho"
folder.mkdir(parents=True, exist_ok=True)
for a in sq["data"]:
    if a["title"] not in held:
        continue
    idx = sorted(rnd.sample(range(len(a["paragraphs"])), 12))
    text = "\n\n".join(f"[P{i}] {a['paragraphs'][i]['context']}" for i in idx)
    (folder / f"{a['title']}.md").write_text(f"# {a['title'].replace('_', ' ')}\n\n{text}\n")
repo = "/work/.mirror/brian14708+wh-briefings/repo"
names = subprocess.run(
    ["git", "-C", repo, "ls-tree", "-r", "--name-only", "HEAD"], capture_output=True, text=True, check=True
).stdout.split()
taken = {p.name for p in (shared / "related").iterdir()} | {
    p.name for d in ("wh_a", "wh_b") for p in (root / d).iterdir()
}
cands = [
    n
    for n in names
    if n.endswith(".md")
    and n.split("/")[0]
    in {"speeches-remarks", "presidential-actions", "statements-releases", "briefings-statements", "articles"}
    and pathlib.Path(n).name not in taken
]
rnd.shuffle(cands)
chosen = []
kinds = {}
for n in cands:
    if len(chosen) >= 18:
        break
    k = n.split("/")[0]
    if kinds.get(k, 0) >= 4:
        continue
    t = subprocess.run(["git", "-C", repo, "show", f"HEAD:{n}"], capture_output=True, text=True, check=True).stdout
    w = len(t.split("---", 2)[-1].split())
    if not 350 <= w <= 1400 or re.search(r"artificial intelligence|\bAI\b|China|PRC|semiconductor", t):
        continue
    chosen.append((n, t))
    kinds[k] = kinds.get(k, 0) + 1
folder = root / "wh_c"
folder.mkdir(parents=True, exist_ok=True)
for n, t in chosen:
    (folder / pathlib.Path(n).name).write_text(t)
print(kinds)
