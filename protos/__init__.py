"""Tailor's contracts: the gRPC wire contract and the on-disk artifact contract.

- `decision_pb2` / `decision_pb2_grpc`: generated from `decision.proto` (the API).
- `artifact_pb2`: generated from `artifact.proto` (the manifest).
- `artifact`: file names, record layouts and manifest I/O shared by the
  builder (which writes them) and the server (which reads them).
"""
