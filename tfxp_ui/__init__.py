"""``tfxp ui``: a local, read-only web page over the runs in ML Metadata and their reports."""
