"""`qa bench`: speed and memory against bare baselines, and search at synthetic scale."""
