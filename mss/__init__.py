"""MSS: a mail operator for a closed, trusted health-messaging space."""

__version__ = "0.1.0"
