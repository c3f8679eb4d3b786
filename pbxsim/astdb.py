"""The Asterisk database (AstDB): family/key → value, kept across AMI reconnects.

Asterisk stores each entry under one path ``/<family>/<key>`` (main/db.c), so ``DB(oc/day/k)``
in the dialplan (family ``oc``, key ``day/k``) and ``DBGet Family: oc/day Key: k`` on AMI name
the same entry; ``DBdeltree(oc/day)`` deletes every entry under ``/oc/day/``.
"""

from __future__ import annotations


def _path(family: str, key: str) -> str:
    return f"/{family}/{key}"


class AstDB:
    def __init__(self) -> None:
        self._entries: dict[str, str] = {}

    def put(self, family: str, key: str, value: str) -> None:
        self._entries[_path(family, key)] = value

    def get(self, family: str, key: str) -> str | None:
        return self._entries.get(_path(family, key))

    def delete(self, family: str, key: str) -> bool:
        return self._entries.pop(_path(family, key), None) is not None

    def deltree(self, family: str) -> int:
        """Delete ``family`` and everything under it (``DBdeltree(family)``); how many went."""
        prefix = f"/{family.strip('/')}/"
        gone = [path for path in self._entries if (path + "/").startswith(prefix)]
        for path in gone:
            del self._entries[path]
        return len(gone)

    def family(self, family: str) -> dict[str, str]:
        """The entries right under ``family``: key → value."""
        prefix = f"/{family.strip('/')}/"
        return {
            path[len(prefix) :]: value
            for path, value in self._entries.items()
            if path.startswith(prefix) and "/" not in path[len(prefix) :]
        }
