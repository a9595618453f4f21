"""Kiezkarte's benchmarks: ratios measured side by side in one run (``python -m bench``).

Speed and memory goals live only here, never as timed assertions in the unit tests.
Each benchmark is one module listed in ``bench.__main__.REGISTRY``; see ``bench/README.md``.
"""
