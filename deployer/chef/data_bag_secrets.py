"""A deployment's secrets as the cookbooks read them: encrypted items of one Chef data bag.

``ITEMS`` is the table of cookbooks/deployer_common/README.md in code: every item and key
a role reads, and how its value is made.  An environment rendered from a template gets one
bag (``names.secrets_bag_name``) holding every item its topology needs, each value
generated once and kept across re-renders unless a hidden template parameter gives one.

Items are encrypted as Chef's EncryptedDataBagItem format version 3 (aes-256-gcm, the key
the SHA-256 of the item secret), which chef-client decrypts with the file client.rb names
in ``encrypted_data_bag_secret``.  The item secret itself is the caller's to keep.
"""
from __future__ import annotations

import base64
import json
import secrets
import string
from typing import Any, Callable, Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = 3
CIPHER = "aes-256-gcm"
IV_BYTES = 12                      # what Chef's v3 encryptor uses
TAG_BYTES = 16
ITEM_SECRET_BYTES = 384            # base64: 512 characters, like `openssl rand -base64 512`

SERVICES = ("keystone", "glance", "placement", "nova", "neutron", "cinder")
MQ_USERS = ("nova", "neutron", "cinder")
CATALOG_USERS = ("glance", "placement", "nova", "neutron", "cinder")


def password() -> str:
    return secrets.token_urlsafe(24)


def fernet_key() -> str:
    """32 random bytes, URL-safe base64: what `keystone-manage fernet_setup` writes."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def erlang_cookie() -> str:
    return secrets.token_hex(16).upper()


def vrrp_password() -> str:
    """keepalived uses the first 8 characters of auth_pass; no blanks or quotes."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(8))


def corosync_authkey() -> str:
    """base64 of 256 random bytes, the size `corosync-keygen` writes."""
    return base64.b64encode(secrets.token_bytes(256)).decode()


Generator = Callable[[], str]
ITEMS: dict[str, dict[str, Generator]] = {
    "db_passwords": {service: password for service in SERVICES},
    "mq_passwords": {user: password for user in MQ_USERS},
    "service_passwords": {user: password for user in CATALOG_USERS},
    "keystone": {"admin_password": password,
                 **{f"{kind}_key_{index}": fernet_key
                    for kind in ("fernet", "credential") for index in (0, 1)}},
    "neutron": {"metadata_secret": password},
    "rabbitmq": {"erlang_cookie": erlang_cookie},
    "corosync": {"authkey": corosync_authkey},
    "mysql": {"sst": password},
}
VRRP_ITEM = {"auth_pass": vrrp_password}      # one item per VIP cluster: its auth_pass_item


class SecretsError(ValueError):
    """A given secret names no item or key the cookbooks read; ``field`` says which."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


class DecryptionFailed(Exception):
    """A stored item does not decrypt with the environment's item secret."""


def wanted(environment: Mapping[str, Any]) -> dict[str, dict[str, Generator]]:
    """Every item and key the environment's roles read: the fixed items plus one VRRP item
    per VIP cluster (``deployer.vips.<cluster>.auth_pass_item``)."""
    items = {name: dict(keys) for name, keys in ITEMS.items()}
    for vip in _vips(environment).values():
        if isinstance(vip, Mapping) and vip.get("auth_pass_item"):
            items[str(vip["auth_pass_item"])] = dict(VRRP_ITEM)
    return items


def _vips(environment: Mapping[str, Any]) -> dict:
    vips: dict = {}
    for section in ("default_attributes", "override_attributes"):   # override wins
        found = ((environment.get(section) or {}).get("deployer") or {}).get("vips") or {}
        for cluster, vip in found.items():
            vips[cluster] = {**vips.get(cluster, {}), **vip} if isinstance(vip, Mapping) else vip
    return vips


def check_given(given: Mapping[str, Mapping[str, Any]],
                items: Mapping[str, Mapping[str, Generator]]) -> None:
    """Refuse a given secret the roles do not read (a typo would otherwise be ignored)."""
    for item, keys in given.items():
        if item not in items:
            raise SecretsError(f"no role reads a secret item {item!r}; items: {', '.join(sorted(items))}",
                               field=f"secrets.{item}")
        for key, value in keys.items():
            if key not in items[item]:
                raise SecretsError(f"secret item {item!r} has no key {key!r}; keys: "
                                   f"{', '.join(sorted(items[item]))}", field=f"secrets.{item}.{key}")
            if not isinstance(value, str):
                raise SecretsError("a secret is a string", field=f"secrets.{item}.{key}")


def completed(current: Mapping[str, Mapping[str, str]], items: Mapping[str, Mapping[str, Generator]],
              given: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """The values to store: ``current`` ones kept, a non-empty ``given`` one wins, every
    missing key generated.  Items no longer wanted are kept (a re-render never loses one)."""
    result = {item: dict(values) for item, values in current.items()}
    for item, keys in items.items():
        values = result.setdefault(item, {})
        for key, generate in keys.items():
            chosen = (given.get(item) or {}).get(key)
            if chosen:
                values[key] = chosen
            elif not values.get(key):
                values[key] = generate()
    return result


def new_item_secret() -> str:
    return base64.b64encode(secrets.token_bytes(ITEM_SECRET_BYTES)).decode()


def _key(item_secret: str) -> bytes:
    digest = hashes.Hash(hashes.SHA256())
    digest.update(item_secret.strip().encode())
    return digest.finalize()


def encrypt_item(item_id: str, values: Mapping[str, str], item_secret: str) -> dict:
    """The item as Chef stores an encrypted one: the id in clear, every value sealed alone."""
    aead = AESGCM(_key(item_secret))
    item: dict[str, Any] = {"id": item_id}
    for key, value in values.items():
        iv = secrets.token_bytes(IV_BYTES)
        sealed = aead.encrypt(iv, json.dumps({"json_wrapper": value}).encode(), b"")
        item[key] = {
            "encrypted_data": base64.b64encode(sealed[:-TAG_BYTES]).decode(),
            "iv": base64.b64encode(iv).decode(),
            "auth_tag": base64.b64encode(sealed[-TAG_BYTES:]).decode(),
            "version": FORMAT_VERSION,
            "cipher": CIPHER,
        }
    return item


def decrypt_item(item: Mapping[str, Any], item_secret: str) -> dict[str, str]:
    """The values of an item ``encrypt_item`` made (without its id)."""
    aead = AESGCM(_key(item_secret))
    values = {}
    for key, sealed in item.items():
        if key == "id":
            continue
        if not isinstance(sealed, Mapping) or sealed.get("version") != FORMAT_VERSION \
                or sealed.get("cipher") != CIPHER:
            raise DecryptionFailed(f"item {item.get('id')!r} key {key!r} is not a version "
                                   f"{FORMAT_VERSION} ({CIPHER}) encrypted value")
        try:
            data = base64.b64decode(sealed["encrypted_data"]) + base64.b64decode(sealed["auth_tag"])
            plain = aead.decrypt(base64.b64decode(sealed["iv"]), data, b"")
        except (InvalidTag, KeyError, ValueError):
            raise DecryptionFailed(f"item {item.get('id')!r} key {key!r} does not decrypt with "
                                   f"this environment's item secret") from None
        values[key] = json.loads(plain)["json_wrapper"]
    return values
