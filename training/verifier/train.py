"""Train the answer verifier from the bundled MiniLM weights on the shared SQuAD 2.0 articles, then export it.

    .venv/bin/python -m training.verifier.train            # train (resumes from out/checkpoint.pt), export, card

Fixed seed; the article split is in training/verifier/data.py.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np

from qa.evaluation import squad
from training.verifier import blind, data
from training.verifier.config import (
    BATCH,
    BCE_WEIGHT,
    DROP_SHARE,
    EPOCHS,
    HEAD_LR,
    LAYERS,
    LR,
    OUT,
    PARAGRAPH_NEGATIVES,
    RETRIEVED_NEGATIVES,
    SEED,
    SQUAD_SHARE,
)
from training.verifier.metrics import summary


def parse() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=data.DATA)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--layers", type=int, default=LAYERS, help="keep the first N of MiniLM's 6 layers")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--lr", type=float, default=LR)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--checkpoint-every", type=int, default=100)
    parser.add_argument("--max-steps", type=int, default=0, help="stop (and export) after this many steps (0: all)")
    parser.add_argument("--no-export", action="store_true")
    parser.add_argument(
        "--squad-share", type=float, default=SQUAD_SHARE, help="train on this share of SQuAD's questions (by seed)"
    )
    parser.add_argument("--no-blind", action="store_true", help="SQuAD alone, without the blind writers' questions")
    return parser.parse_args()


def log(message: str) -> None:
    """Timestamped progress on stdout."""
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def tokenizer(max_length: int):  # type: ignore[no-untyped-def]
    """The bundled MiniLM tokenizer, set up exactly as qa.models.verifier.model serves it."""
    from tokenizers import Tokenizer

    from qa.models.embedding import bundled_model_path

    found = Tokenizer.from_file(str(bundled_model_path() / "tokenizer.json"))
    found.enable_truncation(max_length=max_length, strategy="only_second")
    found.no_padding()  # batches pad themselves, with attention masks
    return found


def encode(tok, pairs: list[data.Pair]):  # type: ignore[no-untyped-def]
    """Token ids, attention masks and token types per pair (unpadded lists)."""
    found = tok.encode_batch([(pair.question, pair.text) for pair in pairs], add_special_tokens=True)
    return [(e.ids, e.type_ids) for e in found]


def batches(encoded, order, size):  # type: ignore[no-untyped-def]
    """Padded tensors for consecutive slices of `order`."""
    import torch

    for start in range(0, len(order), size):
        chosen = [encoded[i] for i in order[start : start + size]]
        width = max(len(ids) for ids, _ in chosen)
        ids = torch.zeros((len(chosen), width), dtype=torch.long)
        types = torch.zeros_like(ids)
        mask = torch.zeros_like(ids)
        for row, (token_ids, type_ids) in enumerate(chosen):
            ids[row, : len(token_ids)] = torch.tensor(token_ids)
            types[row, : len(type_ids)] = torch.tensor(type_ids)
            mask[row, : len(token_ids)] = 1
        yield start, ids, mask, types


def question_groups(pairs: list[data.Pair], seed: int) -> list[list[int]]:
    """Pair indices per question, in order of first appearance: every positive (none for DROP_SHARE of the answerable
    questions, made near misses), at most PARAGRAPH_NEGATIVES other sentences of the paragraph and RETRIEVED_NEGATIVES
    sentences of other paragraphs (drawn with the seed)."""
    rng = random.Random(seed)
    found: dict[str, list[int]] = {}
    for index, pair in enumerate(pairs):
        found.setdefault(pair.group, []).append(index)
    groups = []
    for members in found.values():
        positives = [i for i in members if pairs[i].label]
        inside = [i for i in members if not pairs[i].label and pairs[i].in_paragraph]
        outside = [i for i in members if not pairs[i].in_paragraph]
        kept = rng.sample(inside, min(PARAGRAPH_NEGATIVES, len(inside)))
        kept += rng.sample(outside, min(RETRIEVED_NEGATIVES, len(outside)))
        if positives and kept and rng.random() < DROP_SHARE:
            positives = []
        groups.append(positives + kept)
    return groups


def plan(groups: list[list[int]], size: int, seed: int) -> list[list[list[int]]]:
    """Whole questions shuffled and packed into batches of at least `size` pairs."""
    order = np.random.default_rng(seed).permutation(len(groups)).tolist()
    batches_: list[list[list[int]]] = [[]]
    for index in order:
        if sum(len(group) for group in batches_[-1]) >= size:
            batches_.append([])
        batches_[-1].append(groups[index])
    return batches_


def listwise(logits, labels, sizes: list[int]):
    """Mean over questions of -log P(the answering sentences) under a softmax over the question's candidates and a
    fixed null score of 0 (the answer for an unanswerable question), as SQuAD 2.0 readers are trained."""
    import torch

    losses = []
    offset = 0
    zero = logits.new_zeros(1)
    for size in sizes:
        scores, targets = logits[offset : offset + size], labels[offset : offset + size]
        offset += size
        total = torch.logsumexp(torch.cat([zero, scores]), 0)
        good = torch.logsumexp(scores[targets > 0], 0) if bool((targets > 0).any()) else zero[0]
        losses.append(total - good)
    return torch.stack(losses).mean()


def build_model(layers: int):
    """The verifier network over MiniLM's first `layers` layers."""
    from training.verifier.model import build

    return build(layers)


def predict(model, encoded, size: int = 64) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Logits for every pair, in order (longest first for speed)."""
    import torch

    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i][0]))
    logits = np.zeros(len(encoded), dtype=np.float32)
    model.eval()
    with torch.inference_mode():
        for start, ids, mask, types in batches(encoded, order, size):
            output = model(ids, mask, types).reshape(-1)
            logits[order[start : start + len(ids)]] = output.numpy()
    model.train()
    return logits


def sampled(pairs: list[data.Pair], share: float, seed: int) -> list[data.Pair]:
    """The pairs of a seeded `share` of the questions."""
    groups = sorted({pair.group for pair in pairs})
    kept = set(random.Random(seed).sample(groups, round(len(groups) * share)))
    return [pair for pair in pairs if pair.group in kept]


def main() -> None:
    """Prepare pairs, train with checkpoints, keep the best epoch by validation, export."""
    import torch

    from qa.models.verifier.model import MAX_LENGTH

    args = parse()
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)

    articles = squad.load(args.data)
    units = data.split_units(articles, args.seed)
    pairs = data.build_pairs(units, args.out / "cache", args.seed)
    pairs["train"] = sampled(pairs["train"], args.squad_share, args.seed)
    if not args.no_blind:
        written = blind.build_pairs(args.seed)
        log(f"blind questions: {blind.count(written)}")
        for split, found in written.items():
            pairs[split] = pairs[split] + found
    split_record = {
        split: sorted({u.article for u in units if u.split == split}) for split in ("train", "validation", "test")
    }
    split_record["validation_paragraphs"] = [
        (u.article, i)
        for i, u in enumerate(units)
        if u.split == "validation" and u.article not in data.VALIDATION_ARTICLES
    ]  # type: ignore[assignment]
    (args.out / "split.json").write_text(json.dumps(split_record, indent=1))
    for split, found in pairs.items():
        positives = sum(p.label for p in found)
        log(f"{split}: {len(found)} pairs, {positives} positive, {len({p.group for p in found})} questions")
    for split in ("validation", "test"):
        (args.out / f"{split}-pairs.json").write_text(json.dumps(data.as_rows(pairs[split])))

    tok = tokenizer(MAX_LENGTH)
    encoded = {split: encode(tok, found) for split, found in pairs.items()}
    model = build_model(args.layers)
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)  # small data: keep MiniLM's vocabulary
    model.train()
    groups = question_groups(pairs["train"], args.seed)
    log(f"training on {sum(len(g) for g in groups)} pairs of {len(groups)} questions")
    plans = [plan(groups, args.batch, args.seed + epoch) for epoch in range(args.epochs)]
    schedule = [(epoch, batch) for epoch, found in enumerate(plans) for batch in found]
    total = len(schedule) if not args.max_steps else min(args.max_steps, len(schedule))
    head = [p for name, p in model.named_parameters() if not name.startswith("bert.")]
    body = [p for name, p in model.named_parameters() if name.startswith("bert.") and p.requires_grad]
    optimizer = torch.optim.AdamW(
        [{"params": body, "lr": args.lr}, {"params": head, "lr": args.lr * HEAD_LR}], weight_decay=0.01
    )
    warmup = max(1, total // 20)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / warmup) * max(0.0, (total - step) / max(1, total - warmup))
    )
    checkpoint = args.out / "checkpoint.pt"
    step, best, history = 0, -1.0, []
    if checkpoint.is_file():
        state = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, best, history = state["step"], state["best"], state["history"]
        log(f"resumed at step {step}")
    labels = torch.tensor([p.label for p in pairs["train"]], dtype=torch.float32)
    bce = torch.nn.BCEWithLogitsLoss()
    began, running = time.perf_counter(), []
    started, first_step = began, step
    while step < total:
        epoch, batch = schedule[step]
        members = [i for group in batch for i in group]
        _, ids, mask, types = next(batches(encoded["train"], members, len(members)))
        logits = model(ids, mask, types).reshape(-1)
        loss = listwise(logits, labels[members], [len(group) for group in batch]) + BCE_WEIGHT * bce(
            logits, labels[members]
        )
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        step += 1
        running.append(float(loss.detach()))
        if step % 50 == 0:
            rate = (time.perf_counter() - began) / 50
            began = time.perf_counter()
            log(f"epoch {epoch + 1} step {step}/{total} loss {np.mean(running[-50:]):.4f} {rate:.2f} s/step")
        epoch_end = step == total or schedule[step][0] != epoch
        if step % args.checkpoint_every == 0 or epoch_end:
            if epoch_end:
                metrics = summary(pairs["validation"], predict(model, encoded["validation"]))
                score = metrics["pair_auroc"] + metrics["sentence_accuracy_all"] + metrics.get("question_auroc", 0)
                pace = round((time.perf_counter() - started) / max(1, step - first_step), 2)
                history.append({"epoch": epoch + 1, "step": step, "seconds_per_step": pace, **metrics})
                log(f"validation after epoch {epoch + 1}: {metrics}")
                if score > best:
                    best = score
                    torch.save(model.state_dict(), args.out / "best.pt")
            torch.save(
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "step": step,
                    "best": best,
                    "history": history,
                },
                checkpoint,
            )
    (args.out / "history.json").write_text(json.dumps(history, indent=1))
    log("training done")
    if not args.no_export:
        from training.verifier import export

        export.run(args.out, seed=args.seed, layers=args.layers, epochs=args.epochs, lr=args.lr, batch=args.batch)


if __name__ == "__main__":
    main()
