"""Soak tests: real processes under a scripted load for $QA_SOAK_SECONDS (default 60)."""
