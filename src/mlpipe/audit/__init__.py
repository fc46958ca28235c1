"""The data audit: target leakage (each feature alone against the target) and label issues
(cleanlab on out-of-fold probabilities). Pure functions; the audit stage writes the results."""
