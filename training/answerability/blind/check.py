# ruff: noqa: SIM115
"""Check a question file against its documents: python3 check.py OUT.jsonl DOCS_DIR"""

import collections
import json
import pathlib
import sys

out, docs = sys.argv[1], pathlib.Path(sys.argv[2])


def norm(s):
    """Whitespace folded, lower case."""
    return " ".join(s.split()).lower()


texts = {p.name: norm(p.read_text()) for p in docs.iterdir()}
bad = 0
kinds = collections.Counter()
seen = set()
NEAR = {
    "swap_entity",
    "swap_number",
    "swap_date",
    "negation",
    "antonym",
    "impossible_condition",
    "absent_fact",
    "mutual_exclusion",
}
for n, line in enumerate(open(out), 1):
    try:
        q = json.loads(line)
        assert q["doc"] in texts, f"unknown doc {q['doc']!r}"
        t = texts[q["doc"]]
        assert isinstance(q["question"], str) and q["question"].strip().endswith("?"), "question must end with ?"
        assert norm(q["question"]) not in seen, "duplicate question"
        seen.add(norm(q["question"]))
        assert norm(q["sentence"]) in t, "sentence is not verbatim in the document"
        if q["answerable"] is True:
            assert q["answer"] and norm(q["answer"]) in norm(q["sentence"]), "answer must be verbatim inside sentence"
            assert q["kind"] not in NEAR, "answerable question with a near-miss kind"
        elif q["answerable"] is False:
            assert q.get("answer") is None, "near miss must have answer null"
            assert q["kind"] in NEAR, f"near-miss kind must be one of {sorted(NEAR)}"
        else:
            raise AssertionError("answerable must be true or false")
        kinds[(q["answerable"], q["kind"])] += 1
    except Exception as e:
        bad += 1
        print(f"line {n}: {type(e).__name__}: {e}")
print(f"{n if 'n' in dir() else 0} lines, {bad} bad;", dict(kinds))
