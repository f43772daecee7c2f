"""Reports: paper-style tables, plots and run records."""
