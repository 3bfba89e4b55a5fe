"""curate: Chinese web and dialogue corpora to clean, deduplicated, scored Parquet shards."""

__version__ = "0.1.0"
