"""The answerability model: blind-written data, signals, training and evaluation (issue 21)."""
