"""How the documents of the third round of blind writing were drawn (run once, as recorded here; paths of the machine
it ran on): scifact_d and scifact_e (40 SciFact abstracts each, none of the earlier sets' and none in the test qrels),
wh_d and wh_e (18 White House pages each, none of the earlier sets' or ../shared/related's). Each set was split in
two halves for two writers. Kept as the record of provenance: data/corpora.json lists what it chose.
"""

# ruff: noqa: SIM115
import json
import pathlib
import random

from pages import candidates, draw

root = pathlib.Path("/work/blind/docs")
rnd = random.Random(11)
shared = pathlib.Path("/work/shared")
test_ids = {line.split("\t")[1] for line in open(shared / "data/scifact/qrels/test.tsv").read().splitlines()[1:]}
taken_sf = {p.stem for d in ("scifact_a", "scifact_b", "scifact_c") for p in (root / d).iterdir()}
docs = [json.loads(line) for line in open(shared / "data/scifact/corpus.jsonl")]
docs = [
    d for d in docs if d["_id"] not in test_ids and d["_id"] not in taken_sf and 150 <= len(d["text"].split()) <= 320
]
pick = rnd.sample(docs, 80)
for i, d in enumerate(pick):
    folder = root / ("scifact_d" if i < 40 else "scifact_e")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{d['_id']}.md").write_text(f"# {d['title']}\n\n{d['text']}\n")
repo = "/work/.mirror/brian14708+wh-briefings/repo"
taken = {p.name for p in (shared / "related").iterdir()} | {
    p.name for d in ("wh_a", "wh_b", "wh_c") for p in (root / d).iterdir()
}
found = candidates(repo, taken, rnd)
for name in ("wh_d", "wh_e"):
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    for n, t in draw(repo, found, taken):
        (folder / pathlib.Path(n).name).write_text(t)
