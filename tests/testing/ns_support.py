"""What the FakeNetSuite tests share: a requests-oauthlib session signed as any TBA
integration signs (HMAC-SHA256, the account id as realm)."""

from __future__ import annotations

from requests_oauthlib import OAuth1Session

from erpsync.testing.netsuite import FakeNetSuite


def tba_session(fake: FakeNetSuite) -> OAuth1Session:
    creds = fake.credentials
    return OAuth1Session(
        creds.consumer_key,
        client_secret=creds.consumer_secret,
        resource_owner_key=creds.token_id,
        resource_owner_secret=creds.token_secret,
        signature_method="HMAC-SHA256",
        realm=creds.account_id,
    )
