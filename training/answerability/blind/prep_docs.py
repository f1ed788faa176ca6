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
rnd = random.Random(20261207)
shared = pathlib.Path("/work/shared")
# SciFact: abstracts not judged in the test qrels
test_ids = {line.split("\t")[1] for line in open(shared / "data/scifact/qrels/test.tsv").read().splitlines()[1:]}
docs = [json.loads(line) for line in open(shared / "data/scifact/corpus.jsonl")]
docs = [d for d in docs if d["_id"] not in test_ids and 150 <= len(d["text"].split()) <= 320]
pick = rnd.sample(docs, 80)
for i, d in enumerate(pick):
    folder = root / ("scifact_a" if i < 40 else "scifact_b")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{d['_id']}.md").write_text(f"# {d['title']}\n\n{d['text']}\n")
# SQuAD: 12 paragraphs from each article outside the held-out three
sq = json.load(open(shared / "data/squad2-train/train-v2.0-first10.json"))
held = {"Spectre_(2015_film)", "To_Kill_a_Mockingbird", "Solar_energy"}
folder = root / "squad"
folder.mkdir(parents=True, exist_ok=True)
for a in sq["data"]:
    if a["title"] in held:
        continue
    idx = sorted(rnd.sample(range(len(a["paragraphs"])), 12))
    text = "\n\n".join(f"[P{i}] {a['paragraphs'][i]['context']}" for i in idx)
    (folder / f"{a['title']}.md").write_text(f"# {a['title'].replace('_', ' ')}\n\n{text}\n")
# White House briefing room (public domain), varied kinds, nothing on AI or China
repo = "/work/.mirror/brian14708+wh-briefings/repo"
names = subprocess.run(
    ["git", "-C", repo, "ls-tree", "-r", "--name-only", "HEAD"], capture_output=True, text=True, check=True
).stdout.split()
related = {p.name for p in (shared / "related").iterdir()}
cands = [
    n
    for n in names
    if n.endswith(".md")
    and n.split("/")[0]
    in {"speeches-remarks", "presidential-actions", "statements-releases", "briefings-statements", "articles"}
    and pathlib.Path(n).name not in related
]
rnd.shuffle(cands)
chosen = []
kinds = {}
for n in cands:
    if len(chosen) >= 36:
        break
    k = n.split("/")[0]
    if kinds.get(k, 0) >= 8:
        continue
    t = subprocess.run(["git", "-C", repo, "show", f"HEAD:{n}"], capture_output=True, text=True, check=True).stdout
    body = t.split("---", 2)[-1]
    w = len(body.split())
    if not 350 <= w <= 1400 or re.search(r"artificial intelligence|\bAI\b|China|PRC|semiconductor", t):
        continue
    chosen.append((n, t))
    kinds[k] = kinds.get(k, 0) + 1
for i, (n, t) in enumerate(chosen):
    folder = root / ("wh_a" if i % 2 == 0 else "wh_b")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / pathlib.Path(n).name).write_text(t)
print(kinds, len(chosen))
