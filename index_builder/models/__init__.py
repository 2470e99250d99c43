"""Item models learned from the log: embeddings and the index, item-item, complements, sequences, exploration
priors, per-item signals.
"""
