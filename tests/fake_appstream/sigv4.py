"""Verification of AWS Signature Version 4 on received requests, with botocore.

The signature is recomputed by ``botocore.auth.SigV4Auth`` over an ``AWSRequest`` rebuilt
from the received method, path, headers and body, at the request's own ``X-Amz-Date``,
with the signing name ``appstream`` and the region of the credential scope, which must be
one the server serves (a fake serving several regions tells them apart by the scope, as
AWS tells them apart by the endpoint). Only the headers the client listed in
``SignedHeaders`` are used, exactly as received, so a client that signs more (or fewer)
headers than botocore would is judged fairly.

Checks run in the order AWS applies them, and fail the way JSON 1.1 services fail (the
codes are the ``JSON_CODES``; a Query-protocol service such as STS passes ``QUERY_CODES``,
and its signing name, to :class:`Verifier` instead):

=======================================  ==============================================
no ``Authorization`` header              ``MissingAuthenticationTokenException``
malformed header, no date header,        ``IncompleteSignatureException``
``host`` not among the signed headers
unknown access key id                    ``UnrecognizedClientException``
session token missing, wrong, or sent    ``UnrecognizedClientException``
for a key that has none
a region not enabled for the key's       ``UnrecognizedClientException`` ("The security
account (an opt-in region)               token included in the request is invalid.")
credentials past their expiry            ``ExpiredTokenException``
credential scope: date, region (one the  ``InvalidSignatureException``
server does not serve), service or
terminator wrong
``X-Amz-Date`` more than ``max_skew``    ``InvalidSignatureException`` ("Signature
from the server's clock                  expired: ... is now earlier than ..." or
                                         "Signature not yet current: ... is still later
                                         than ...")
``X-Amz-Content-SHA256`` not the body's  ``InvalidSignatureException``
signature mismatch                       ``InvalidSignatureException`` with the canonical
                                         request and string to sign the server expected
=======================================  ==============================================
"""

import calendar
import datetime
import email.utils
import hashlib
import hmac
import time

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

from .errors import ApiError

SIGNING_NAME = "appstream"

# Error code and HTTP status (None: the Verifier's `status`) of each kind of failure.
JSON_CODES = {
    "missing": ("MissingAuthenticationTokenException", None, "Missing Authentication Token"),
    "incomplete": ("IncompleteSignatureException", None, None),
    "unrecognized": ("UnrecognizedClientException", None, None),
    "expired": ("ExpiredTokenException", None, None),
    "signature": ("InvalidSignatureException", None, None),
}
# What Query-protocol services (STS, IAM) answer: other codes, 403 for most.
QUERY_CODES = {
    "missing": ("MissingAuthenticationToken", 403, "Request is missing Authentication Token"),
    "incomplete": ("IncompleteSignature", 400, None),
    "unrecognized": ("InvalidClientTokenId", 403, None),
    "expired": ("ExpiredToken", 403, None),
    "signature": ("SignatureDoesNotMatch", 403, None),
}
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_INVALID_TOKEN = "The security token included in the request is invalid."
_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)


class CredentialTable:
    """Accepted credentials: access key id -> secret, optional session token, optional
    expiry (epoch seconds on the server's wall clock), optional ``account`` (the 12-digit
    account the key belongs to; null: the server's default account) and ``arn`` (the
    identity behind it, as AccessDenied messages name it)."""

    def __init__(self, entries, wall_now):
        self.entries = {}
        for entry in entries:
            self._add(entry, wall_now)

    def _add(self, entry, wall_now):
        if not isinstance(entry, dict):
            raise ValueError("each credential must be an object")
        unknown = set(entry) - {"access_key_id", "secret_access_key", "session_token",
                                "expiration", "expires_in", "account", "arn"}
        if unknown:
            raise ValueError(f"unknown credential keys {sorted(unknown)}")
        key_id, secret = entry.get("access_key_id"), entry.get("secret_access_key")
        if not isinstance(key_id, str) or not key_id or not isinstance(secret, str) or not secret:
            raise ValueError("access_key_id and secret_access_key must be non-empty strings")
        token = entry.get("session_token")
        if token is not None and (not isinstance(token, str) or not token):
            raise ValueError("session_token must be a non-empty string or null")
        account = entry.get("account")
        if account is not None and not (isinstance(account, str) and len(account) == 12
                                        and account.isdigit()):
            raise ValueError(f"account must be 12 digits or null, not {account!r}")
        arn = entry.get("arn")
        if arn is not None and (not isinstance(arn, str) or not arn.startswith("arn:")):
            raise ValueError(f"arn must be an ARN or null, not {arn!r}")
        self.entries[key_id] = {
            "access_key_id": key_id,
            "secret_access_key": secret,
            "session_token": token,
            "expiration": expiry(entry, wall_now),
            "account": account,
            "arn": arn,
        }

    def add(self, entry, wall_now):
        """Accept one more credential (replacing one with the same access key id)."""
        self._add(entry, wall_now)
        return dict(self.entries[entry["access_key_id"]])

    def as_list(self):
        return [dict(e) for e in self.entries.values()]


def expiry(spec, now, default=None):
    """Epoch seconds from a spec's ``expires_in`` or ``expiration`` (epoch seconds or ISO
    8601), else `default` seconds from now (None: never). Shared with fake_sts."""
    if spec.get("expires_in") is not None:
        seconds = spec["expires_in"]
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise ValueError("expires_in must be a number of seconds")
        return now + seconds
    value = spec.get("expiration")
    if value is None:
        return None if default is None else now + default
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"expiration {value!r} is not ISO 8601") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=datetime.timezone.utc)
        return parsed.timestamp()
    raise ValueError("expiration must be epoch seconds or an ISO 8601 string")


class _ReceivedRequestSigner(SigV4Auth):
    """SigV4Auth that signs exactly the headers the client said it signed."""

    def __init__(self, credentials, signing_name, region, signed_headers, received):
        super().__init__(credentials, signing_name, region)
        self._signed = signed_headers
        self._received = received

    def headers_to_sign(self, request):
        chosen = HTTPHeaders()
        for name, value in self._received:
            if name.lower() in self._signed:
                chosen[name.lower()] = value
        return chosen


def _fmt(epoch):
    return time.strftime(_AMZ_DATE, time.gmtime(epoch))


def _parse_authorization(value):
    algorithm, _, rest = value.strip().partition(" ")
    params = {}
    for part in rest.split(","):
        key, sep, val = part.strip().partition("=")
        if sep:
            params[key] = val
    return algorithm, params


def _request_time(headers, authorization, incomplete):
    amz_date = headers.get("x-amz-date")
    if amz_date is None and headers.get("date") is not None:
        parsed = email.utils.parsedate_tz(headers.get("date"))
        if parsed is not None:
            amz_date = _fmt(email.utils.mktime_tz(parsed))
    if amz_date is None:
        raise incomplete("Authorization header requires existence of either a "
                         f"'X-Amz-Date' or a 'Date' header. Authorization={authorization}")
    try:
        stamp = calendar.timegm(time.strptime(amz_date, _AMZ_DATE))
    except ValueError:
        raise incomplete(f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'.") \
            from None
    return amz_date, stamp


class Verifier:
    """Checks one request against a credential table, the regions served and a wall clock.

    `region` is the region served, or a collection of them (the scope must name one);
    `status` is the HTTP status of every failure whose code table entry names none;
    `signing_name` the service the credential scope must name; `codes` JSON_CODES or
    QUERY_CODES; `disabled(entry, region)`, when given, is true when the scope's region is
    not enabled for the account of the credentials `entry`."""

    def __init__(self, table, region, wall_now, max_skew, status, signing_name=SIGNING_NAME,
                 codes=None, disabled=None):
        self.table = table
        self.regions = {region} if isinstance(region, str) else set(region)
        self.disabled = disabled
        self.now = wall_now
        self.max_skew = max_skew
        self.status = status
        self.signing_name = signing_name
        self.codes = codes or JSON_CODES

    def _error(self, kind, message=None):
        code, status, default_message = self.codes[kind]
        return ApiError(code, message or default_message,
                        self.status if status is None else status)

    def _incomplete(self, message):
        return self._error("incomplete", message)

    def verify(self, method, path, headers, body):
        """Return the access key id of a correctly signed request, else raise ApiError.
        `headers` is an email.message.Message (as http.server gives it)."""
        return self.verify_entry(method, path, headers, body)[0]["access_key_id"]

    def verify_entry(self, method, path, headers, body):
        """(the credential table's entry, the scope's region) of a correctly signed
        request, else raise ApiError."""
        authorization = headers.get("authorization")
        if authorization is None:
            raise self._error("missing")
        algorithm, params = _parse_authorization(authorization)
        self._check_shape(algorithm, params, authorization)
        scope = params["Credential"].split("/")
        amz_date, stamp = _request_time(headers, authorization, self._incomplete)
        entry = self._credentials(scope[0], headers.get("x-amz-security-token"), scope[2])
        self._check_scope(scope, amz_date)
        self._check_skew(amz_date, stamp)
        self._check_signature(entry, method, path, headers, body, params, amz_date, scope[2])
        return entry, scope[2]

    def _check_shape(self, algorithm, params, authorization):
        if algorithm != "AWS4-HMAC-SHA256":
            raise self._incomplete(f"Unsupported AWS 'algorithm': '{algorithm}'")
        missing = [k for k in ("Credential", "SignedHeaders", "Signature") if k not in params]
        if missing:
            detail = " ".join(f"Authorization header requires '{k}' parameter." for k in missing)
            raise self._incomplete(f"{detail} Authorization={authorization}")
        signed = [h.strip().lower() for h in params["SignedHeaders"].split(";")]
        if "host" not in signed:
            raise self._incomplete("'Host' or ':authority' must be a 'SignedHeader' in the "
                                   "AWS Authorization.")
        if len(params["Credential"].split("/")) != 5:
            raise self._incomplete("Credential must have exactly 5 slash-delimited elements, "
                                   "e.g. keyid/date/region/service/term, got "
                                   f"'{params['Credential']}'")

    def _credentials(self, key_id, token, region):
        entry = self.table.entries.get(key_id)
        if entry is None or entry["session_token"] != token:
            raise self._error("unrecognized", _INVALID_TOKEN)
        # An opt-in region the account has not enabled does not know its credentials.
        if self.disabled is not None and self.disabled(entry, region):
            raise self._error("unrecognized", _INVALID_TOKEN)
        if entry["expiration"] is not None and self.now >= entry["expiration"]:
            raise self._error("expired",
                              "The security token included in the request is expired")
        return entry

    def _check_scope(self, scope, amz_date):
        _, date, region, service, terminator = scope
        problem = None
        if date != amz_date[:8]:
            problem = ("Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                       f"version of date from HTTP: '{date}' != '{amz_date[:8]}', from "
                       "'X-Amz-Date'.")
        elif region not in self.regions:
            problem = f"Credential should be scoped to a valid region, not '{region}'. "
        elif service != self.signing_name:
            problem = f"Credential should be scoped to correct service: '{self.signing_name}'. "
        elif terminator != "aws4_request":
            problem = ("Credential should be scoped with a valid terminator: "
                       f"'aws4_request', not '{terminator}'. ")
        if problem:
            raise self._error("signature", problem)

    def _check_skew(self, amz_date, stamp):
        minutes = f"{self.max_skew / 60:g} min."
        if stamp < self.now - self.max_skew:
            earliest = _fmt(self.now - self.max_skew)
            raise self._error("signature",
                              f"Signature expired: {amz_date} is now earlier than "
                              f"{earliest} ({_fmt(self.now)} - {minutes})")
        if stamp > self.now + self.max_skew:
            latest = _fmt(self.now + self.max_skew)
            raise self._error("signature",
                              f"Signature not yet current: {amz_date} is still later than "
                              f"{latest} ({_fmt(self.now)} + {minutes})")

    def _check_signature(self, entry, method, path, headers, body, params, amz_date, region):
        declared = headers.get("x-amz-content-sha256")
        if declared is not None and declared != hashlib.sha256(body).hexdigest():
            raise self._error("signature", "The provided 'x-amz-content-sha256' header does "
                                           "not match what was computed.")
        signed = {h.strip().lower() for h in params["SignedHeaders"].split(";") if h.strip()}
        creds = Credentials(entry["access_key_id"], entry["secret_access_key"],
                            entry["session_token"])
        signer = _ReceivedRequestSigner(creds, self.signing_name, region, signed,
                                        headers.items())
        # An http:// URL makes botocore hash the payload whatever the transport was.
        request = AWSRequest(method=method, url="http://fake" + path, data=body)
        if declared is not None:
            request.headers["X-Amz-Content-SHA256"] = declared
        request.context["timestamp"] = amz_date
        canonical = signer.canonical_request(request)
        string_to_sign = signer.string_to_sign(request, canonical)
        expected = signer.signature(string_to_sign, request)
        provided = params["Signature"].strip().encode("utf-8", "replace")
        if not hmac.compare_digest(expected.encode(), provided):
            raise self._error("signature",
                              f"{_MISMATCH}\n\nThe Canonical String for this request should "
                              f"have been\n'{canonical}'\n\nThe String-to-Sign should have "
                              f"been\n'{string_to_sign}'\n")
