"""The sample-cluster generator behind data/sample/generate.py: tables, firms, checks, outputs."""
