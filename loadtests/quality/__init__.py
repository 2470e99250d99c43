"""Quality, not speed: `tailor evaluate` and the experiments report."""
