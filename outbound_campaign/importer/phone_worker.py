"""Child process normalising phone numbers for the import's other cores.

Run as ``python phone_worker.py <phonenumbers_patch/__init__.py> <odoo/tools/parse_version.py>
<country code or ->``: it loads Odoo's phonenumbers metadata patches from the first file (so that
it reads numbers as the server does) and answers chunks read on stdin: a line with the count N,
then N numbers, one a line. For each number it writes one line: the E.164 form, or ``?`` when one
parse does not settle it (the server then asks Odoo's ``phone_parse``, for the result and the
reason in the user's language). No database, no ORM.
"""

import importlib.util
import os
import sys

# This file's folder is first on sys.path (a script): the sibling module is imported by name.
import e164


def _load(name, path, package=False):
    spec = importlib.util.spec_from_file_location(
        name, path, submodule_search_locations=[os.path.dirname(path)] if package else None
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # a package's modules import their siblings relatively
    spec.loader.exec_module(module)


def _load_metadata_patches(patches_path, parse_version_path):
    """Odoo's ``phone_validation/lib/phonenumbers_patch`` package, loaded from its file: it
    registers its region loaders with phonenumbers when it runs. The one Odoo module it imports,
    ``odoo.tools.parse_version`` (standalone), is loaded alone: importing Odoo would cost this
    process about 1.7 s."""
    _load("odoo.tools.parse_version", parse_version_path)
    _load("outbound_phonenumbers_patch", patches_path, package=True)


def main():
    _load_metadata_patches(sys.argv[1], sys.argv[2])
    region = None if sys.argv[3] == "-" else sys.argv[3]
    stdin = sys.stdin
    stdout = sys.stdout
    while True:
        header = stdin.readline()
        if not header:
            return
        answers = [
            e164.parse_once(stdin.readline().rstrip("\n"), region) or "?" for _index in range(int(header))
        ]
        stdout.write("".join(answer + "\n" for answer in answers))
        stdout.flush()


if __name__ == "__main__":
    main()
