"""Importers: public data sets -> the builder's input files (items.csv, users.csv, events.csv)."""

from index_builder.importers.movielens import ImportSummary, import_movielens

__all__ = ["ImportSummary", "import_movielens"]
