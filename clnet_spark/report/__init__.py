"""Stage 5: the run summary, the CSV exports and the run log."""
