"""IMAP4rev1 server for professional clients (RFC 3501 and extensions).

Protocol-only core, sans-IO (docs/architecture.md §8.1): `parser` and `command_reader` (commands
in), `responses` and `capabilities` (replies out), `mime_tree`, `envelope`,
`body_structure` and `body_section` (message structure over the raw bytes),
`search_match` and `sequence_set` (selection), `mutf7` (mailbox names).
"""
