"""The training settings of the answer verifier, read by training and by the export that reports them."""

from __future__ import annotations

from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
SEED = 13
LAYERS = 6  # all of MiniLM's layers: the 3-layer variant verified faster but worse (model card)
EPOCHS = 2
BATCH = 32
LR = 4e-5
HEAD_LR = 10  # the fresh classifier learns this many times faster than the pretrained layers
BCE_WEIGHT = 0.2  # a little pairwise binary cross-entropy beside the listwise loss
PARAGRAPH_NEGATIVES = 4  # per question, at most this many other sentences of its paragraph...
RETRIEVED_NEGATIVES = 2  # ...and this many retrieved from other paragraphs
# Share of answerable questions whose answering sentences are left out, making a near miss (the paragraph's other
# sentences, answer absent) whose target is the null score: SQuAD 2.0's few unanswerable questions alone are too few
# to teach the model where "nothing here answers" lies.
DROP_SHARE = 0.2
SQUAD_SHARE = 0.4  # of SQuAD's training questions, beside every blind writer's question (training/verifier/blind.py)
