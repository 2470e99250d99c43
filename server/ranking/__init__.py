"""Ranking: the policy and the pure array stages from a request's arrays to ranked candidates (no gRPC, no LMDB)."""
