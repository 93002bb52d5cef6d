"""Benchmarks: each compares our path with a naive baseline in the same run and prints the ratio."""
