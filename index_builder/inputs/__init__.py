"""Input files -> coded arrays: reading and checking the tables, importers, the live store's events, deletion
records.
"""
