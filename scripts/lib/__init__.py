"""Helpers shared by the scripts (not scripts themselves: no main, not in the README's script list)."""
