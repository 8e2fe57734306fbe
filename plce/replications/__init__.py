"""Replications of the published applications (Mattes-Weeks, simulation study, Enos)."""
