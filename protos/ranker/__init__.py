"""The learned ranker's contract, shared by the builder (which trains it) and the server (which serves it):

  features.py    the versioned feature table and the one function that fills it from plain arrays
  generators.py  candidate generators as pure arrays (item-item, successors, seed weights, restocks due) —
                 the server's stages call them; the builder will train on them
  forest.py      the trees as flat arrays: LightGBM's dump -> node and leaf tables, checked, scored over all
                 candidates at once

Pure numpy: neither program's code, no LightGBM at serving time for the array form.
"""
