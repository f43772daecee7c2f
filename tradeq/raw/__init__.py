"""From raw records to the estimation panel: readers, steps, manifest and cache."""
