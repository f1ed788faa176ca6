"""How the documents the blind writers read were drawn (run once, as recorded here; paths of the machine it ran on).

Kept as the record of provenance: data/corpora.json lists what it chose, and corpora.py rebuilds those documents
from ../shared and corpora/wh.
"""

# ruff: noqa: SIM115
import json
import pathlib
import random

from pages import candidates, draw

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
taken = {p.name for p in (shared / "related").iterdir()} | {
    p.name for d in ("wh_a", "wh_b") for p in (root / d).iterdir()
}
folder = root / "wh_c"
folder.mkdir(parents=True, exist_ok=True)
for n, t in draw(repo, candidates(repo, taken, rnd), taken):
    (folder / pathlib.Path(n).name).write_text(t)
