"""Tests of the protocol-only IMAP core (mss.imap)."""
