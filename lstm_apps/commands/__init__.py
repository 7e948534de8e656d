"""Subcommands of `lstm-apps`, one module each (see `lstm_apps.cli`)."""
