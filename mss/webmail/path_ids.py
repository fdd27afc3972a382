"""The one path convertor for every numeric id in a URL (`{id:stored_id}`).

Ids are database keys (BIGINT, below 2^63), IMAP UIDs (below 2^32) or part indexes; a
URL naming a number of 19 digits or more can name none of them, so it matches no route
and gets the 404 of any unknown page, instead of reaching the database as an integer
that overflows it (OverflowError, a 500). 18 digits keep every id MSS ever stores.
"""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor

MAX_DIGITS = 18  # 10^18 - 1 < 2^63 - 1


class StoredIdConvertor(Convertor[int]):
    regex = f"[0-9]{{1,{MAX_DIGITS}}}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        if not 0 <= value < 10 ** MAX_DIGITS:
            raise ValueError("no stored id is out of 0..10^18")
        return str(value)


register_url_convertor("stored_id", StoredIdConvertor())
