"""Benchmarks: `make bench` (python -m benchmarks). Figures are ratios against baselines
measured in the same run; nothing here is asserted by the test suite."""
