"""The Asterisk database (AstDB): family/key → value, kept across AMI reconnects."""

from __future__ import annotations


class AstDB:
    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], str] = {}

    def put(self, family: str, key: str, value: str) -> None:
        self._entries[family, key] = value

    def get(self, family: str, key: str) -> str | None:
        return self._entries.get((family, key))

    def delete(self, family: str, key: str) -> bool:
        return self._entries.pop((family, key), None) is not None

    def family(self, family: str) -> dict[str, str]:
        return {key: value for (fam, key), value in self._entries.items() if fam == family}
