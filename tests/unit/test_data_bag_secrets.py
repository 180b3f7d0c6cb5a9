"""The deployment's secrets as encrypted data bag items: what is generated, kept and given,
and that chef-client's decryption (the stand-in's Chef::EncryptedDataBagItem) opens them."""
from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest

from deployer.chef import data_bag_secrets as dbs

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "cookbooks" / "deployer_common" / "README.md").read_text()


def test_every_item_the_cookbooks_read_is_generated():
    """The README's table of items and keys is ITEMS: each row's item is generated."""
    for item in dbs.ITEMS:
        assert f"`{item}`" in README, item
    for row in README.split("| item | keys |")[1].split("\n\n")[0].splitlines()[2:]:
        item = row.split("|")[1].strip().strip("`")
        assert item in dbs.ITEMS or item == "vrrp_<cluster>", item


def test_vrrp_items_follow_the_environments_vip_clusters():
    environment = {"default_attributes": {"deployer": {"vips": {
        "api": {"auth_pass_item": "vrrp_api"}, "db": {"auth_pass_item": "vrrp_db"}}}},
        "override_attributes": {"deployer": {"vips": {"db": {"auth_pass_item": "vrrp_db2"}}}}}
    items = dbs.wanted(environment)
    assert {"vrrp_api", "vrrp_db2"} <= set(items) and "vrrp_db" not in items
    assert set(items["vrrp_api"]) == {"auth_pass"}


def test_values_are_kept_given_ones_win_missing_ones_are_made():
    items = dbs.wanted({})
    first = dbs.completed({}, items, {})
    assert all(value for values in first.values() for value in values.values())
    again = dbs.completed(first, items, {})
    assert again == first
    given = dbs.completed(first, items, {"keystone": {"admin_password": "chosen"}, "neutron": {"metadata_secret": ""}})
    assert given["keystone"]["admin_password"] == "chosen"
    assert given["neutron"] == first["neutron"]          # empty given: kept
    kept = dbs.completed({**first, "old_item": {"k": "v"}}, items, {})
    assert kept["old_item"] == {"k": "v"}


def test_value_shapes_are_what_the_services_accept():
    values = dbs.completed({}, dbs.wanted({"default_attributes": {"deployer": {"vips": {
        "api": {"auth_pass_item": "vrrp_api"}}}}}), {})
    assert len(base64.urlsafe_b64decode(values["keystone"]["fernet_key_0"])) == 32
    assert len(values["vrrp_api"]["auth_pass"]) == 8 and values["vrrp_api"]["auth_pass"].isalnum()
    assert len(base64.b64decode(values["corosync"]["authkey"])) == 256
    assert len(values["rabbitmq"]["erlang_cookie"]) >= 20
    assert len({values["db_passwords"][s] for s in dbs.SERVICES}) == len(dbs.SERVICES)


def test_a_given_secret_must_name_an_item_and_key_the_roles_read():
    items = dbs.wanted({})
    with pytest.raises(dbs.SecretsError) as unknown_item:
        dbs.check_given({"keystone_admin": {"password": "x"}}, items)
    assert unknown_item.value.field == "secrets.keystone_admin"
    with pytest.raises(dbs.SecretsError) as unknown_key:
        dbs.check_given({"keystone": {"password": "x"}}, items)
    assert unknown_key.value.field == "secrets.keystone.password"
    dbs.check_given({"keystone": {"admin_password": "x"}}, items)


def test_items_round_trip_and_refuse_another_secret():
    secret = dbs.new_item_secret()
    item = dbs.encrypt_item("keystone", {"admin_password": "pw", "fernet_key_0": "k"}, secret)
    assert item["id"] == "keystone" and "pw" not in json.dumps(item)
    assert item["admin_password"]["version"] == 3 and item["admin_password"]["cipher"] == "aes-256-gcm"
    assert dbs.decrypt_item(item, secret) == {"admin_password": "pw", "fernet_key_0": "k"}
    with pytest.raises(dbs.DecryptionFailed):
        dbs.decrypt_item(item, dbs.new_item_secret())


def test_chef_client_decrypts_the_items(tmp_path):
    """The stand-in's Chef::EncryptedDataBagItem (format 3) opens what the deployer seals,
    with the secret read from a file as client.rb's encrypted_data_bag_secret."""
    secret = dbs.new_item_secret()
    (tmp_path / "secret").write_text(secret + "\n")
    item = dbs.encrypt_item("db_passwords", {"nova": "n0va-pw", "glance": "gl'ance\"pw"}, secret)
    (tmp_path / "item.json").write_text(json.dumps(item))
    script = ('require "json"; require "standin/errors"; require "standin/data_bag"; '
              'secret = Standin::DataBag.load_secret(ARGV[1]); '
              'puts JSON.generate(Standin::DataBag.decrypt_item(JSON.parse(File.read(ARGV[0])), secret))')
    result = subprocess.run(["ruby", "-I", str(REPO / "tests" / "standin" / "lib"), "-e", script,
                             str(tmp_path / "item.json"), str(tmp_path / "secret")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"id": "db_passwords", "nova": "n0va-pw", "glance": "gl'ance\"pw"}
