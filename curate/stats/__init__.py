"""Statistics, one home: what a shard's stats hold (`shard`, from `schemas/stats.json`), how shard stats merge
exactly into run stats (`merge`), and what an export's card counts (`export`)."""
