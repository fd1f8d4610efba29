"""Chains for the bureau: definitions (file, product graph, API), weak-link assessment, the chain
investment map (招商图谱) and its renderings, report jobs, and the outreach pipeline."""
