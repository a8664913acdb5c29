"""Acceptance: an unmodified third-party OAuth 1.0a client talks to the served FakeNetSuite.

requests-oauthlib's OAuth1Session signs exactly as it would for the real NetSuite
(HMAC-SHA256, upper-case realm); nothing here knows about erpsync's own client.
"""

from __future__ import annotations

from requests_oauthlib import OAuth1Session

from erpsync.testing.netsuite import FakeNetSuite


def test_oauth1session_reads_a_record_and_runs_suiteql() -> None:
    fake = FakeNetSuite()  # real time: the client stamps requests with time.time()
    url = fake.serve()
    try:
        creds = fake.credentials
        session = OAuth1Session(
            creds.consumer_key,
            client_secret=creds.consumer_secret,
            resource_owner_key=creds.token_id,
            resource_owner_secret=creds.token_secret,
            signature_method="HMAC-SHA256",
            realm="1234567_SB1",
        )
        record = session.get(
            f"{url}/services/rest/record/v1/customer/eid:cust-acme",
            params={"expandSubResources": "true"},
        )
        assert record.status_code == 200, record.text
        assert record.json()["companyName"] == "Acme Robotics"

        query = session.post(
            f"{url}/services/rest/query/v1/suiteql",
            params={"limit": 10, "offset": 0},
            json={
                "q": "SELECT id, tranid, status FROM transaction WHERE type = 'PurchOrd' "
                "ORDER BY id"
            },
            headers={"Prefer": "transient"},
        )
        assert query.status_code == 200, query.text
        body = query.json()
        assert body["totalResults"] == 3
        assert [row["status"] for row in body["items"]] == ["B", "D", "F"]
        assert all(
            isinstance(value, str)
            for row in body["items"]
            for key, value in row.items()
            if key != "links"
        )
        assert [attempt.success for attempt in fake.login_audit_trail] == [True, True]
    finally:
        fake.shutdown()
