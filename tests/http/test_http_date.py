"""The Date header's text is made without the email package, once a second (PERF-START-1)."""

from __future__ import annotations

import email.utils
import random

import pytest

from phprt.http.headers import http_date


@pytest.mark.clause("PERF-START-1")
def test_http_date_is_the_imf_fixdate_the_email_package_writes() -> None:
    moments = [0, 951782400, 1733275685, 4102444799, *random.Random(13).sample(range(2**32), 500)]
    for moment in moments:
        assert http_date(moment) == email.utils.formatdate(moment, usegmt=True)
