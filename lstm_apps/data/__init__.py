"""Data loaders and preparation for the recipes."""
