"""Tamper-evident evidence log primitives."""
