"""Input and output edges: readers turn every input format into record-schema Arrow tables."""
