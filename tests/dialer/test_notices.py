"""Dashboard notifications of one host: gathered, at most one every half second."""

from outbound_campaign.dialer.notices import PendingNotices


def test_changes_are_gathered_and_sent_at_most_every_interval():
    notices = PendingNotices(interval=0.5)
    assert not notices.due(0.0), "nothing to send"
    notices.add([1, 2])
    assert notices.due(0.0)
    assert notices.take(0.0) == {1, 2}
    notices.add([2])
    notices.add([3])
    assert not notices.due(0.3), "sent 0.3 s ago"
    assert notices.due(0.5)
    assert notices.take(0.5) == {2, 3}
    assert not notices.due(5.0)
