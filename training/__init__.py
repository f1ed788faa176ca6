"""Training code for the models qa ships (not part of the installed package)."""
