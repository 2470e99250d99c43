"""Importers: public data sets and order exports -> the builder's input files (items.csv, users.csv, events.csv)."""

from index_builder.inputs.importers.movielens import ImportSummary, import_movielens
from index_builder.inputs.importers.transactions import import_transactions, parse_mapping

__all__ = ["ImportSummary", "import_movielens", "import_transactions", "parse_mapping"]
