"""Experiments: arms assigned per shopper and the impressions log."""
