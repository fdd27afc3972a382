"""Tests of mss.smtp."""
