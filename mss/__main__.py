"""`python -m mss` is the same as the `mss` command."""

from mss.cli import main

raise SystemExit(main())
