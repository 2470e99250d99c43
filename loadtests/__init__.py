"""Load tests and benchmarks: locust users and payload pools drawn from built artifacts."""
