"""Pipeline stages: pure functions over Arrow record batches that add or fill columns; no I/O."""
