"""Running the server: config, the app and its workers, artifact versions and snapshots, metrics."""
