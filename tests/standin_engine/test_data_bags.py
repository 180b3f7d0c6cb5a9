"""data_bag_item, plain and encrypted (format versions 1, 2 and 3).

Follows docs.chef.io/data_bags/ (encrypted data bag items; the secret file from
client.rb's encrypted_data_bag_secret) and Chef's
lib/chef/encrypted_data_bag_item/decryptor.rb.  The items are encrypted here
in Python with `cryptography`, independently of the engine that decrypts them.
"""
import base64
import hashlib
import hmac
import json
import os

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SECRET = "a shared secret for the test"


def encrypt(value, version: int) -> dict:
    key = hashlib.sha256(SECRET.encode()).digest()
    plain = json.dumps({"json_wrapper": value}).encode()
    if version == 3:
        iv = os.urandom(12)
        sealed = AESGCM(key).encrypt(iv, plain, b"")
        return {"encrypted_data": base64.b64encode(sealed[:-16]).decode(), "iv": base64.b64encode(iv).decode(),
                "auth_tag": base64.b64encode(sealed[-16:]).decode(), "version": 3, "cipher": "aes-256-gcm"}
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    data = base64.b64encode(encryptor.update(padder.update(plain) + padder.finalize()) + encryptor.finalize()).decode()
    item = {"encrypted_data": data, "iv": base64.b64encode(iv).decode(), "version": version, "cipher": "aes-256-cbc"}
    if version == 2:
        item["hmac"] = base64.b64encode(hmac.new(SECRET.encode(), data.encode(), hashlib.sha256).digest()).decode()
    return item


def test_plain_and_encrypted_items(repo, tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    with repo.client_rb.open("a") as rb:
        rb.write(f"encrypted_data_bag_secret '{secret_file}'\n")
    repo.data_bag_item("plain", {"id": "db", "password": "plain-pw"})
    for version in (1, 2, 3):
        repo.data_bag_item("sealed", {"id": f"v{version}", "password": encrypt(f"pw-v{version}", version),
                                      "nested": encrypt({"list": [version]}, version)})
    repo.cookbook("d", recipes={"default": f"""
        values = [data_bag_item('plain', 'db')['password']]
        secret = Chef::EncryptedDataBagItem.load_secret('{secret_file}')
        %w(v1 v2 v3).each do |item|
          decrypted = Chef::EncryptedDataBagItem.load('sealed', item, secret).to_hash
          values << decrypted['password'] << decrypted['nested']['list'].first.to_s
        end
        values << data_bag_item('sealed', 'v3', secret)['password']
        values << Chef::EncryptedDataBagItem.load('sealed', 'v2')['password']   # secret from client.rb
        values << data_bag_item('sealed', 'v1')['password']   # looks encrypted: client.rb's secret, as Chef does
        values << Chef::DataBagItem.load('sealed', 'v3')['password']['cipher']   # as stored
        file '{tmp_path}/values' do
          content values.join(' ')
          sensitive true
        end
        """})
    run = repo.run("recipe[d]")
    assert run.returncode == 0, run.output
    assert (tmp_path / "values").read_text() == "plain-pw pw-v1 1 pw-v2 2 pw-v3 3 pw-v3 pw-v2 pw-v1 aes-256-gcm"


def test_wrong_secret_and_tampered_hmac_fail(repo, tmp_path):
    wrong = tmp_path / "wrong"
    wrong.write_text("not the secret")
    item = encrypt("pw", 2)
    item["encrypted_data"] = encrypt("other", 1)["encrypted_data"]
    repo.data_bag_item("sealed", {"id": "v2", "password": item})
    repo.data_bag_item("sealed", {"id": "v3", "password": encrypt("pw", 3)})
    repo.cookbook("d", recipes={"default": f"""
        begin
          Chef::EncryptedDataBagItem.load('sealed', 'v3', ::File.read('{wrong}'))['password']
        rescue Chef::EncryptedDataBagItem::DecryptionFailure => e
          ::File.write('{tmp_path}/v3', e.message)
        end
        Chef::EncryptedDataBagItem.load('sealed', 'v2', '{SECRET}')['password']
        """})
    run = repo.run("recipe[d]")
    assert run.returncode == 1
    assert "Most likely the provided key is incorrect" in (tmp_path / "v3").read_text()
    assert "invalid hmac" in run.last_line and "d/recipes/default.rb:7" in run.last_line


def test_missing_item_raises_the_http_error_cookbooks_rescue(repo, tmp_path):
    repo.cookbook("d", recipes={"default": f"""
        begin
          data_bag_item('nope', 'nothing')
        rescue Net::HTTPClientException => e
          ::File.write('{tmp_path}/code', e.response.code)
        end
        """})
    run = repo.run("recipe[d]")
    assert run.returncode == 0, run.output
    assert (tmp_path / "code").read_text() == "404"
