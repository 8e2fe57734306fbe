"""Small implementations of peer methods for the simulation study's comparisons (not used by plce's estimator)."""
