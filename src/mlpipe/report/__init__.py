"""The pull-request report: metric, param, data and plot diffs between two revisions, and the
merge gate. Pure functions over already-loaded data (``sources`` does the reading)."""
