#!/usr/bin/env python3
"""Obtain a SHAKEN certificate from stica with the Python `acme` library (certbot's ACME client).

This is an ACME client implementation that was not written in this repository. It needs two small
extensions that every SHAKEN deployment of a generic ACME library needs (interop.md): the
`TNAuthList` identifier type and a `tkauth-01` challenge response carrying the token under `atc`.
The token comes from stica's dev token authority over its STI-PA API (login, then token request).

usage: tkauth_client.py DIRECTORY_URL PA_BASE_URL PA_USER PA_PASSWORD SPC OUT_CHAIN_PEM
"""
import base64
import datetime
import hashlib
import json
import sys
import time
import urllib.request

import josepy as jose
from acme import challenges, client, messages
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ObjectIdentifier

TNAUTHLIST_OID = ObjectIdentifier("1.3.6.1.5.5.7.1.26")


@challenges.Challenge.register
class TkauthChallenge(challenges.Challenge):
    """RFC 9447 tkauth-01 challenge (tkauth-type "atc" for TNAuthList tokens, RFC 9448)."""

    typ = "tkauth-01"
    tkauth_type: str = jose.field("tkauth-type", omitempty=True)
    token: str = jose.field("token", omitempty=True)


@challenges.ChallengeResponse.register
class TkauthResponse(challenges.ChallengeResponse):
    """RFC 9447 tkauth-01 response: {"atc": "<Authority Token>"}."""

    typ = "tkauth-01"
    atc: str = jose.field("atc")


def spc_tnauthlist_der(spc: str) -> bytes:
    """RFC 8226 TNAuthorizationList with one SPC: SEQUENCE { [0] EXPLICIT IA5String }."""
    ia5 = b"\x16" + bytes([len(spc)]) + spc.encode()
    tagged = b"\xa0" + bytes([len(ia5)]) + ia5
    return b"\x30" + bytes([len(tagged)]) + tagged


def http_json(url, body, headers=None):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def main():
    directory_url, pa_base, pa_user, pa_password, spc, out = sys.argv[1:7]
    account_key = ec.generate_private_key(ec.SECP256R1())
    jwk = jose.JWKEC(key=account_key)
    net = client.ClientNetwork(jwk, alg=jose.ES256, user_agent="python-acme-e2e")
    directory = messages.Directory.from_json(net.get(directory_url).json())
    acme = client.ClientV2(directory, net=net)
    acme.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))

    der = spc_tnauthlist_der(spc)
    # Standard padded base64, as a production SHAKEN client sends it (interop.md).
    value = base64.b64encode(der).decode()
    ident = messages.Identifier(typ=messages.IdentifierType("TNAuthList"), value=value)
    resp = acme._post(acme.directory["newOrder"], messages.NewOrder(identifiers=[ident]))
    order = messages.Order.from_json(resp.json())
    order_url = resp.headers["Location"]

    # Token from the token authority's STI-PA API; fingerprint over the account key's SPKI DER.
    spki = account_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashlib.sha256(spki).hexdigest().upper()
    fingerprint = "SHA256 " + ":".join(digest[i:i + 2] for i in range(0, 64, 2))
    login = http_json(pa_base + "/api/v1/auth/login", {"userId": pa_user, "password": pa_password})
    tok = http_json(pa_base + "/api/v1/account/%s/token" % spc,
                    {"atc": {"tktype": "TNAuthList", "tkvalue": value, "ca": False,
                             "fingerprint": fingerprint}},
                    {"Authorization": login["accessToken"]})
    token = tok["token"]

    for authz_url in order.authorizations:
        authzr = acme._authzr_from_response(acme._post_as_get(authz_url), uri=authz_url)
        challb = next(c for c in authzr.body.challenges if isinstance(c.chall, TkauthChallenge))
        assert challb.chall.tkauth_type == "atc", challb.chall.tkauth_type
        acme.answer_challenge(challb, TkauthResponse(atc=token))
        for _ in range(50):
            authzr = acme._authzr_from_response(acme._post_as_get(authz_url), uri=authz_url)
            if authzr.body.status != messages.STATUS_PENDING:
                break
            time.sleep(0.1)
        if authzr.body.status != messages.STATUS_VALID:
            raise SystemExit("authorization not valid: %s" % authzr.body.to_json())

    cert_key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([]))
           .add_extension(x509.UnrecognizedExtension(TNAUTHLIST_OID, der), critical=False)
           .sign(cert_key, hashes.SHA256()))
    orderr = messages.OrderResource(
        body=order, uri=order_url, authorizations=[],
        csr_pem=csr.public_bytes(serialization.Encoding.PEM))
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=30)
    orderr = acme.finalize_order(orderr, deadline)
    with open(out, "w") as f:
        f.write(orderr.fullchain_pem)
    print("obtained certificate for SPC", spc)


if __name__ == "__main__":
    main()
