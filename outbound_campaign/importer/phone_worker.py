"""Child process normalising phone numbers for the import's second core.

Run as ``python phone_worker.py <phone_validation.py> <country code or ->``; it loads Odoo's
``phone_validation`` tools from that file (the same ``phone_parse`` the parent uses) and answers
chunks read on stdin: a line with the count N, then N numbers, one a line. For each number it writes
one line: the E.164 form, or ``!`` and the reason it is invalid. No database, no ORM.
"""

import importlib.util
import sys


def _load_phone_validation(path):
    spec = importlib.util.spec_from_file_location("outbound_phone_validation", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    import phonenumbers

    phone_validation = _load_phone_validation(sys.argv[1])
    country_code = None if sys.argv[2] == "-" else sys.argv[2]
    e164 = phonenumbers.PhoneNumberFormat.E164
    stdin = sys.stdin
    stdout = sys.stdout
    while True:
        header = stdin.readline()
        if not header:
            return
        results = []
        for _index in range(int(header)):
            number = stdin.readline().rstrip("\n")
            try:
                parsed = phone_validation.phone_parse(number, country_code)
                results.append(phonenumbers.format_number(parsed, e164))
            except Exception as error:
                results.append("!" + " ".join(str(error).split()))
        stdout.write("\n".join(results) + "\n" if results else "")
        stdout.flush()


if __name__ == "__main__":
    main()
