"""Shoppers: affinities, profiles, RFM, lifetime value, facts and segments."""
