"""The kernel every layer may use: errors, progress reporting, paths and store specs, atomic files, wording, settings,
filters and measuring."""
