"""Evaluation: gold sets, BEIR, SQuAD, saved runs and their reports."""
