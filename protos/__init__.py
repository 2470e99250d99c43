"""Tailor's contracts: the gRPC wire contract and the on-disk artifact contract, and the small shared rules
both programs follow.

- `decision_pb2` / `decision_pb2_grpc`: generated from `decision.proto` (the API).
- `artifact_pb2`: generated from `artifact.proto` (the manifest).
- `artifact/`: the version directory: file names and versions (layout), the per-item array table (arrays),
  profile records (records), id -> row lookups (lookup), files, stores and `current` (versions).
- `ranker/`: the learned ranker's contract: the versioned feature table and its one implementation
  (features), the trees as arrays (forest).
- `live`: the live store's records (TrackEvents' events, overlays, trending); `impressions`: experiment logs.
- `ids`: the id grammar; `enums`: the wire enums' words; `decay`: the one time decay; `settings`: the one
  boolean vocabulary and the TAILOR_* environment layer of both programs' configs.
"""
