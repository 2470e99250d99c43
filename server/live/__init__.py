"""The live store: TrackEvents' writer, the overlays replayed per worker, trending."""
