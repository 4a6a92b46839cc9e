"""Gavel operator: reconciles ``Drop`` and ``Region`` resources from the hub cluster.

It imports the pure, shared parts of the ``gavel`` package (topic names, configuration
renderers) and never the other way round.
"""
