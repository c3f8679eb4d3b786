"""Phone numbers of an import to E.164, batch by batch, ahead of their use, on every core.

Normalisation dominates an import (~50 µs a parse here), so: each distinct notation is parsed once
(``notation_key``), once where one parse is enough (``e164.parse_once``), and big imports share the
work among child processes (``phone_worker.py``, one a core) fed from one queue, while this process
inserts the batches already normalised. The children are fresh interpreters, not forks: an Odoo
server has threads, locks and database sockets a forked child must not inherit.
What one parse does not settle (invalid numbers, a few countries) goes to Odoo's ``phone_parse`` in
this process, for Odoo's result and its reason in the user's language.
"""

import collections
import contextlib
import importlib
import itertools
import logging
import os
import queue
import re
import subprocess
import sys
import threading

import phonenumbers

from odoo.exceptions import UserError

from odoo.addons.phone_validation.lib import phonenumbers_patch
from odoo.addons.phone_validation.tools import phone_validation

from . import e164

_logger = logging.getLogger(__name__)

# Digits with the punctuation phonenumbers ignores, and at most a leading "+".
PLAIN_NOTATION = re.compile(r"^\+?[\d\s().-]+$")
NOT_DIGIT = re.compile(r"\D")
WORKER = os.path.join(os.path.dirname(__file__), "phone_worker.py")
TASK_SIZE = 2000
# Below this many numbers, starting child processes costs more than it saves.
PARALLEL_MIN = 20000
MAX_WORKERS = 4
# Notations remembered across batches (not parsed again): beyond, a new memory is started, so that
# a million-row import holds no more than a 100,000-row one.
REMEMBERED_NOTATIONS = 100_000


def to_e164(number, country_code):
    """``(e164, None)`` or ``(None, reason)``: ``number`` read as Odoo's ``phone_parse`` reads it,
    national numbers in the country ``country_code``. The one normalisation of the addon: the
    contact and do-not-call models call it for one number, the import for each notation (with
    the one parse done by its workers)."""
    return _settle(number, e164.parse_once(number, country_code), country_code)


def _settle(number, once, country_code):
    """``(e164, None)`` or ``(None, reason)``, as Odoo's ``phone_parse`` reads ``number``, given
    ``once``, the E.164 form one parse found, if any."""
    if once:
        return once, None
    try:
        parsed = phone_validation.phone_parse(number, country_code)
    except UserError as error:
        # Odoo's error holds its traceback in a reference cycle: left to the collector, it would
        # keep the frames above this one, and the batch of the import they hold, until a full
        # collection (a whole batch more in memory, from a random batch on).
        error.__traceback__ = None
        return None, " ".join(str(error).split())
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), None


def notation_key(number):
    """One key for the notations of a number that parse alike: phonenumbers drops spaces, dots,
    dashes and parentheses before parsing, so ``(020) 7946 0958`` and ``020-7946-0958`` are parsed
    once. What Odoo's ``phone_parse`` also reads in the raw text (a leading ``+`` or ``00``) is kept
    in the key; anything else (letters, extensions, outer spaces) keeps its own key."""
    if number != number.strip() or not PLAIN_NOTATION.match(number):
        return number
    return f"{number[:2] == '00'}:{number[:1] == '+'}:{NOT_DIGIT.sub('', number)}"


def worker_count(number_count):
    """How many child processes to normalise ``number_count`` numbers with: one a core, none for a
    small set or a single core."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    if number_count < PARALLEL_MIN or cores < 2:
        return 0
    return min(cores, MAX_WORKERS)


def normalise_many(numbers, country_code, workers=None):
    """``{number: (e164, None) or (None, reason)}`` for each distinct number of ``numbers``."""
    if workers is None:
        workers = worker_count(len(numbers))
    with PhoneNormaliser(country_code, workers) as normaliser:
        normaliser.submit(numbers)
        return normaliser.result()


class PhoneNormaliser:
    """Normalises batches of numbers in the order they are submitted; with workers, batches are
    normalised in the background while the caller works on the previous ones::

        with PhoneNormaliser("GB", workers=2) as normaliser:
            normaliser.submit(batch_1)
            normaliser.submit(batch_2)
            normaliser.result()  # {number: (e164, None) or (None, reason)} for batch_1

    Numbers must hold no line break (rows with control characters in the phone are rejected first).
    A number already seen in an earlier batch, in any notation of the same key, is not parsed again
    (among the last ``REMEMBERED_NOTATIONS`` or so).
    """

    def __init__(self, country_code, workers=0):
        self.country_code = country_code
        self._first = {}  # notation key -> the number parsed for it
        self._parsed = {}  # that number -> (e164, reason)
        # ([(number, key)], [(task id, numbers to parse)], its _first, its _parsed)
        self._batches = collections.deque()
        self._task_ids = itertools.count()
        self._tasks = queue.Queue()
        self._answers = {}  # task id -> the workers' answers
        self._done = threading.Condition()
        self._alive = 0
        self._workers = []
        for _index in range(workers):
            self._start_worker()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def submit(self, numbers):
        """Queue a batch: its numbers not seen before are parsed from now on."""
        if len(self._first) >= REMEMBERED_NOTATIONS:
            # The batches already queued keep the memory they were submitted with, until returned.
            self._first, self._parsed = {}, {}
        distinct = [(number, notation_key(number)) for number in dict.fromkeys(numbers)]
        new = []
        for number, key in distinct:
            if key not in self._first:
                self._first[key] = number
                new.append(number)
        tasks = [
            (next(self._task_ids), new[start : start + TASK_SIZE]) for start in range(0, len(new), TASK_SIZE)
        ]
        if self._workers:
            for task in tasks:
                self._tasks.put(task)
        self._batches.append((distinct, tasks, self._first, self._parsed))

    def result(self):
        """``{number: (e164, None) or (None, reason)}`` for the oldest batch not returned yet."""
        distinct, tasks, first, parsed = self._batches.popleft()
        for task_id, numbers in tasks:
            answers = self._wait(task_id)
            if answers is None:
                answers = [e164.parse_once(number, self.country_code) for number in numbers]
            for number, once in zip(numbers, answers, strict=True):
                parsed[number] = _settle(number, once, self.country_code)
        mapping = {}
        for number, key in distinct:
            parsed_number = first[key]
            e164_number, reason = parsed[parsed_number]
            # A reason quotes the number parsed: quote this row's own notation.
            mapping[number] = (e164_number, reason.replace(parsed_number, number) if reason else None)
        return mapping

    def close(self):
        """Stop the workers (tasks not started are dropped)."""
        with contextlib.suppress(queue.Empty):
            while True:
                self._tasks.get_nowait()
        for _worker in self._workers:
            self._tasks.put(None)
        for process, feeder in self._workers:
            feeder.join(timeout=10)
            with contextlib.suppress(OSError):
                process.stdin.close()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._workers = []

    def _wait(self, task_id):
        """The workers' answers to a task, or None when no worker is left to do it."""
        if not self._workers:
            return None
        with self._done:
            self._done.wait_for(lambda: task_id in self._answers or not self._alive)
            return self._answers.pop(task_id, None)

    def _start_worker(self):
        try:
            process = subprocess.Popen(
                [
                    sys.executable,
                    WORKER,
                    phonenumbers_patch.__file__,
                    importlib.import_module("odoo.tools.parse_version").__file__,
                    self.country_code or "-",
                ],
                env={**os.environ, "PYTHONIOENCODING": "utf-8"},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                errors="replace",
                bufsize=1024 * 1024,
            )
        except OSError as error:
            _logger.warning("Cannot start a phone normalisation worker (%s): one core fewer", error)
            return
        feeder = threading.Thread(target=self._feed, args=(process,), daemon=True)
        self._alive += 1
        self._workers.append((process, feeder))
        feeder.start()

    def _feed(self, process):
        """Pass tasks from the queue to one child and collect its answers (a thread, blocked on
        pipes most of the time, so it barely competes with the caller for the GIL)."""
        task = None
        try:
            while (task := self._tasks.get()) is not None:
                task_id, numbers = task
                process.stdin.write(f"{len(numbers)}\n" + "".join(number + "\n" for number in numbers))
                process.stdin.flush()
                lines = [process.stdout.readline() for _number in numbers]
                if not all(lines):
                    raise RuntimeError("the phone normalisation worker stopped")
                answers = [None if line == "?\n" else line.rstrip("\n") for line in lines]
                with self._done:
                    self._answers[task_id] = answers
                    self._done.notify_all()
                task = None
        except (OSError, RuntimeError, ValueError) as error:
            _logger.warning("Phone normalisation worker failed (%s): the others do its share", error)
            if task is not None:
                self._tasks.put(task)
        finally:
            with self._done:
                self._alive -= 1
                self._done.notify_all()
