"""Run-time settings of the fake, changeable through ``POST /_fake/config``.

Every key, its default and its meaning:

``region`` (``us-east-1``)
    The region the fake serves when the request's ``Host`` does not name one. A request to
    ``sts.REGION.amazonaws.com`` (or ``.amazonaws.com.cn``) is served as REGION, one to the
    global ``sts.amazonaws.com`` as ``us-east-1``, as AWS does; the credential scope of a
    signed request must name the region it is served in.
``regions`` (``[]``)
    More regions served when the ``Host`` names none: a request whose credential scope
    names one of them is served there (what a client meets that calls STS in each of its
    regions through one endpoint override, ``AWS_ENDPOINT_URL_STS``).
``account_id`` (``123456789012``)
    Account of the default long-term user (see ``__init__.py``).
``clock_offset`` (0)
    Seconds added to the fake's wall clock, which stamps ``Expiration``, decides what has
    expired (issued credentials, web identity tokens, SSO tokens, clients) and judges
    ``X-Amz-Date``.
``manual_clock`` (false)
    Freeze the wall clock where it stands; it then moves only through ``POST /_fake/clock``
    (``advance``). Clients keep signing with the real time, so a frozen clock more than
    ``max_skew`` behind the real one refuses every signature, as AWS would.
``max_skew`` (300)
    How far ``X-Amz-Date`` may be from the fake's wall clock, in seconds.
``issue_duration`` (null)
    Lifetime in seconds of every credential issued from now on (AssumeRole,
    AssumeRoleWithWebIdentity, GetRoleCredentials), whatever was asked; null: what was
    asked (``DurationSeconds``, default 3600) or, for SSO, ``sso_role_duration``. Lets a
    test make credentials expire within seconds.
``sso_role_duration`` (3600)
    Lifetime of credentials from GetRoleCredentials (the permission set's session
    duration).
``oidc_token_duration`` (3600)
    ``expiresIn`` of access tokens from CreateToken.
``rotate_refresh_tokens`` (true)
    CreateToken answers a new ``refreshToken`` and the one used stops working, as IAM
    Identity Center does; false keeps the old one and answers none.
``disabled_regions`` ([])
    Regions where STS is not activated: every STS action served there is
    ``RegionDisabledException`` (403).
``appstream_control`` (null)
    Base URL of a fake AppStream's control API. Every credential the fake issues is
    added to that fake's accepted credentials (``POST /_fake/credentials {"add": ...}``)
    before the answer goes out, with the same expiry; a failure there answers
    ``InternalFailure`` and is in the call log.
``appstream_ca`` (null)
    CA file to trust for ``appstream_control`` over HTTPS.
``seed`` (null)
    Seed of the random source behind probabilistic faults and issued secrets; null seeds
    from the OS.
"""

from fake_appstream.config import Settings

DEFAULTS = {
    "region": "us-east-1",
    "regions": [],
    "account_id": "123456789012",
    "clock_offset": 0.0,
    "manual_clock": False,
    "max_skew": 300.0,
    "issue_duration": None,
    "sso_role_duration": 3600,
    "oidc_token_duration": 3600,
    "rotate_refresh_tokens": True,
    "disabled_regions": [],
    "appstream_control": None,
    "appstream_ca": None,
    "seed": None,
}


def _number(value, key, minimum=None):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{key} must be a number, not {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{key} must be at least {minimum}, not {value!r}")
    return float(value)


def _integer(value, key, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{key} must be an integer of at least {minimum}, not {value!r}")
    return value


def _text(value, key, optional=False):
    if optional and value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} must be a non-empty string, not {value!r}")
    return value


def _coerce(key, value):
    if key in ("region", "account_id"):
        value = _text(value, key)
        if key == "account_id" and not (len(value) == 12 and value.isdigit()):
            raise ValueError(f"account_id must be 12 digits, not {value!r}")
        return value
    if key == "clock_offset":
        return _number(value, key)
    if key == "max_skew":
        return _number(value, key, 0)
    if key in ("manual_clock", "rotate_refresh_tokens"):
        if not isinstance(value, bool):
            raise ValueError(f"{key} must be true or false, not {value!r}")
        return value
    if key == "issue_duration":
        return None if value is None else _number(value, key, 1)
    if key in ("sso_role_duration", "oidc_token_duration"):
        return _integer(value, key, 1)
    if key in ("disabled_regions", "regions"):
        if not isinstance(value, list) or not all(isinstance(r, str) and r for r in value):
            raise ValueError(f"{key} must be a list of region names")
        return list(value)
    if key in ("appstream_control", "appstream_ca"):
        return _text(value, key, optional=True)
    if value is not None:
        _integer(value, key, 0)
    return value


class Config(Settings):
    """fake_sts's settings."""

    DEFAULTS = DEFAULTS

    @staticmethod
    def _coerce(key, value, current):
        return _coerce(key, value)
