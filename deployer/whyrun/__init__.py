"""Why-run plans of an update: what a converge would change on each node, changing nothing."""
