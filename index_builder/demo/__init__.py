"""The synthetic demo store that Tailor is demonstrated and benchmarked on (see :mod:`index_builder.demo.store`)."""

from index_builder.demo.store import write_demo_store

__all__ = ["write_demo_store"]
