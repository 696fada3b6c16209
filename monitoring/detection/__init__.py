"""Detection: online detectors that turn readings into explainable findings."""
