"""isocell's benchmarks: each reports ratios against baselines measured in the same run."""
