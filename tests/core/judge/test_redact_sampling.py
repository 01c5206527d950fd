from __future__ import annotations

from llmwatch.judge.redact import luhn_ok, redact
from llmwatch.judge.sampling import is_sampled, sample_point


def test_redacts_email_phone_and_card() -> None:
    text = (
        "Mail jane.doe+x@example.co.uk or call +1 (415) 555-2671 / 020 7946 0958; "
        "card 4111 1111 1111 1111 exp 12/29."
    )
    out = redact(text)
    assert "[EMAIL]" in out
    assert "example" not in out
    assert out.count("[PHONE]") == 2
    assert "[CARD]" in out
    assert "4111" not in out
    assert "12/29" in out


def test_keeps_numbers_that_are_not_cards_or_phones() -> None:
    assert not luhn_ok("1234567812345678")
    out = redact("order 1234567812345678 costs 42.50 for 3 items in 2024")
    assert "42.50" in out
    assert "2024" in out
    assert "[CARD]" not in out


def test_sampling_is_deterministic_and_matches_the_rate() -> None:
    ids = [f"req-{i}" for i in range(20_000)]
    assert [sample_point(i) for i in ids[:50]] == [sample_point(i) for i in ids[:50]]
    share = sum(is_sampled(i, 0.1) for i in ids) / len(ids)
    assert abs(share - 0.1) < 0.01
    # Raising the rate only adds requests.
    low = {i for i in ids if is_sampled(i, 0.05)}
    high = {i for i in ids if is_sampled(i, 0.2)}
    assert low <= high
    assert not any(is_sampled(i, 0.0) for i in ids)
    assert all(is_sampled(i, 1.0) for i in ids)
