"""A minimal Alibaba Cloud RPC client (signature V1, the standard library only).

The e2e test release's stand-in for aliyun-python-sdk-core: errand VMs have python3 but no way
to download an SDK.
"""

import base64
import hashlib
import hmac
import json
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timezone


def _encode(value):
    return urllib.parse.quote(str(value), safe="~")


def _quote(value, safe="", encoding=None, errors=None):
    return urllib.parse.quote(value, safe="~", encoding=encoding, errors=errors)


def call(endpoint, action, version, params, key_id, secret, token="", timeout=30):
    """POSTs one RPC action and returns its decoded JSON answer."""
    query = {
        "Action": action, "Version": version, "Format": "JSON", "AccessKeyId": key_id,
        "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureNonce": uuid.uuid4().hex,
        "Timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if token:
        query["SecurityToken"] = token
    query.update(params)
    canonical = "&".join(_encode(k) + "=" + _encode(query[k]) for k in sorted(query))
    to_sign = "POST&%2F&" + _encode(canonical)
    digest = hmac.new((secret + "&").encode(), to_sign.encode(), hashlib.sha1).digest()
    query["Signature"] = base64.b64encode(digest).decode()
    url = endpoint if "://" in endpoint else "https://" + endpoint
    # Every parameter in the query string, as the official SDKs send them.
    request = urllib.request.Request(url.rstrip("/") + "/?" + urllib.parse.urlencode(query, quote_via=_quote), data=b"",
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response)
    except urllib.error.HTTPError as err:
        raise RuntimeError("%s: HTTP %d: %s" % (action, err.code, err.read().decode(errors="replace"))) from None
