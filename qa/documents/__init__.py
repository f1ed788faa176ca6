"""Documents and their formats: finding and loading files, Word and EPUB, passages, centrality, adding to the corpus."""
