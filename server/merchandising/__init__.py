"""Merchandising rules: the rules file's schema, its compiled form, its reload, its stage."""
