"""Benchmark suite of the streaming equalizer against its peers.

Run ``python benchmarks/run.py --help``; see ``benchmarks/README.md``.
"""
