"""The AMI wire under :mod:`.ami`: panoramisk's protocol, with the events read the cheap way.

An event that answers no action (no ``ActionID``) reaches the link as its text, and is parsed into
a plain dict only if a callback wants its name: a dialer reads a dozen events per call, and
panoramisk's case-insensitive ``Message`` costs more than the parse. Pure Python, no Odoo.
"""

from __future__ import annotations

from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

#: An event's headers as Asterisk spells them; a repeated header (``ChanVariable``) is a list.
Event = dict[str, str | list[str]]

_EOL = "\r\n"
#: The headers that make an event the answer to one of our actions (panoramisk routes those), as
#: Asterisk's manager writes them: looked for as text, in every frame (a regex cost 2 µs a frame).
_ACTION_ID, _COMMAND_ID = f"{_EOL}ActionID:", f"{_EOL}CommandID:"


def parse_event(frame: str) -> Event:
    """The headers of one event frame (its lines, without the blank line that ends it)."""
    headers: Event = {}
    for line in frame.split(_EOL):
        key, sep, value = line.partition(": ")
        if not sep:
            continue
        previous = headers.get(key)
        if previous is None:
            headers[key] = value
        elif isinstance(previous, list):
            previous.append(value)
        else:
            headers[key] = [previous, value]
    return headers


class AmiProtocol(AMIProtocol):
    """panoramisk's protocol, but an event that answers no action goes to the link's ``event()``
    as its text, unparsed: the link parses only the events a callback wants. The banner, the
    answers to our actions and ``Shutdown`` (which closes the link) go through panoramisk."""

    encoding = "utf-8"

    def data_received(self, data: bytes) -> None:
        if self.version is None:  # the banner, in the first bytes
            super().data_received(data)
            return
        text = data.decode(self.encoding, "ignore")
        if self.queue:
            text = self.queue.popleft() + text
        frames = text.split(_EOL + _EOL)
        self.queue.append(frames.pop())
        for frame in frames:
            frame = frame.strip()  # Asterisk sometimes ends a message with a single EOL
            if frame.startswith("Event: ") and _ACTION_ID not in frame and _COMMAND_ID not in frame:
                name = frame[7:].partition(_EOL)[0].strip()
                if name.lower() != "shutdown":
                    self.factory.event(name, frame)
                    continue
            message = Message.from_line(frame)
            if message is not None:
                self.handle_message(message)
