"""Phone numbers to E.164 with Odoo's ``phone_validation``, each distinct number once, on two cores.

Normalisation dominates an import (phone_parse: ~170 µs a number here), so: numbers repeated in
the file are parsed once, and large sets are shared between this process and a child process
(``phone_worker.py``) that pulls chunks from the same queue, so both cores stay busy whatever
their speed. The child is a fresh interpreter, not a fork: an Odoo server has threads, locks and
database sockets a forked child must not inherit.
"""

import contextlib
import logging
import os
import queue
import re
import subprocess
import sys
import threading

import phonenumbers

from odoo.exceptions import UserError

from odoo.addons.phone_validation.tools import phone_validation

_logger = logging.getLogger(__name__)

# Digits with the punctuation phonenumbers ignores, and at most a leading "+".
PLAIN_NOTATION = re.compile(r"^\+?[\d\s().-]+$")
NOT_DIGIT = re.compile(r"\D")
WORKER = os.path.join(os.path.dirname(__file__), "phone_worker.py")
CHUNK = 2000
# Below this many distinct numbers, starting a child costs more than it saves.
PARALLEL_MIN = 20000


def normalise(number, country_code):
    """``(e164, None)`` or ``(None, reason)``."""
    try:
        parsed = phone_validation.phone_parse(number, country_code)
    except UserError as error:
        return None, " ".join(str(error).split())
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), None


def _normalise_chunk(numbers, country_code):
    return [normalise(number, country_code) for number in numbers]


def _child_loop(process, chunks, results):
    """Feed chunks from the shared queue to the child and collect its answers (runs in a thread,
    blocked on pipes most of the time, so it barely competes with the main thread for the GIL)."""
    try:
        while True:
            try:
                index, numbers = chunks.get_nowait()
            except queue.Empty:
                return
            process.stdin.write(f"{len(numbers)}\n" + "".join(number + "\n" for number in numbers))
            process.stdin.flush()
            answers = [process.stdout.readline().rstrip("\n") for _number in numbers]
            if not all(answers):
                raise RuntimeError("the phone normalisation worker stopped")
            results[index] = [
                (None, answer[1:]) if answer.startswith("!") else (answer, None) for answer in answers
            ]
    except (OSError, RuntimeError, ValueError) as error:
        _logger.warning("Phone normalisation worker failed (%s): this process does its share", error)
        chunks.put((index, numbers))


def _start_child(country_code):
    return subprocess.Popen(
        [sys.executable, WORKER, phone_validation.__file__, country_code or "-"],
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        bufsize=1024 * 1024,
    )


def notation_key(number):
    """One key for the notations of a number that parse alike: phonenumbers drops spaces, dots,
    dashes and parentheses before parsing, so ``(020) 7946 0958`` and ``020-7946-0958`` are parsed
    once. What Odoo's ``phone_parse`` also reads in the raw text (a leading ``+`` or ``00``) is kept
    in the key; anything else (letters, extensions, outer spaces) keeps its own key."""
    if number != number.strip() or not PLAIN_NOTATION.match(number):
        return number
    return f"{number[:2] == '00'}:{number[:1] == '+'}:{NOT_DIGIT.sub('', number)}"


def normalise_many(numbers, country_code, parallel=None):
    """``{number: (e164, None) or (None, reason)}`` for each distinct number of ``numbers``; numbers
    must hold no line break (rows with control characters in the phone are rejected before)."""
    # One parse per notation key, done on the first number of that key.
    first = {}
    for number in dict.fromkeys(numbers):
        first.setdefault(notation_key(number), number)
    parsed = _normalise_distinct(list(first.values()), country_code, parallel)
    mapping = {}
    for number in dict.fromkeys(numbers):
        representative = first[notation_key(number)]
        e164, reason = parsed[representative]
        # A reason quotes the number: quote the row's own notation.
        mapping[number] = (e164, reason.replace(representative, number) if reason else None)
    return mapping


def _normalise_distinct(distinct, country_code, parallel):
    if parallel is None:
        parallel = len(distinct) >= PARALLEL_MIN and (os.cpu_count() or 1) > 1
    if not parallel:
        return dict(zip(distinct, _normalise_chunk(distinct, country_code), strict=True))

    chunks = queue.Queue()
    slices = [distinct[start : start + CHUNK] for start in range(0, len(distinct), CHUNK)]
    for index, numbers_slice in enumerate(slices):
        chunks.put((index, numbers_slice))
    results = [None] * len(slices)
    try:
        process = _start_child(country_code)
    except OSError as error:
        _logger.warning("Cannot start the phone normalisation worker (%s): using one core", error)
        process = None
    feeder = None
    if process:
        feeder = threading.Thread(target=_child_loop, args=(process, chunks, results), daemon=True)
        feeder.start()
    try:
        while True:
            try:
                index, numbers_slice = chunks.get_nowait()
            except queue.Empty:
                if feeder is None or not feeder.is_alive():
                    break
                feeder.join()  # the child's last chunk, or a chunk it handed back
                continue
            results[index] = _normalise_chunk(numbers_slice, country_code)
    finally:
        if process:
            with contextlib.suppress(OSError):
                process.stdin.close()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    mapping = {}
    for numbers_slice, slice_results in zip(slices, results, strict=True):
        mapping.update(zip(numbers_slice, slice_results, strict=True))
    return mapping
