"""Benchmarks behind `livepresenter bench`: numbers for BENCHMARKS.md, measured on real work, never asserted in tests.

- `fomm`: per-frame cost of every FOMM precision this machine supports (needs only torch and numpy);
- `landmark`: per-frame cost of the landmark engine;
- `render`: resident memory over a long offline render;
- `soak`: resident memory and speed over a long live run.
"""
