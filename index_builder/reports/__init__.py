"""Reports for people: the segments report and the shared HTML page."""
