"""Train, export and measure the answer verifier (`python -m training.verifier.train`)."""
