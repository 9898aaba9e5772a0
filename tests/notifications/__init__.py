"""Tests for backend.notifications."""
