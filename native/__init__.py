"""Tailor's compiled core: C extensions built by the project's own packaging (`pip install -e .` compiles them
with the system C compiler; setup.py names them), each behind a small Python module of the same name.

  forest.py / _forest.c   the learned ranker's trees over a request's candidates (protos/ranker/forest.py is the
                          reference it is tested against)

The door is lazy: `import native` compiles nothing and loads nothing.
"""
