"""Text sources of the generate stage: each returns rows for the `texts` dataset, grouped by corpus."""
