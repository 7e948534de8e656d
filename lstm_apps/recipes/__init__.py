"""Recipes: one module per task, each a frozen `Config` and `run(config) -> Result`."""
