"""Throughput measurements of the lifter."""
