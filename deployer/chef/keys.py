"""API client key pairs made on the deployer side.

A Chef server that generates a client's key (``POST /clients`` without a
public key) spends an RSA key generation per client inside the server, one
after another: at 100 nodes registrations queue behind each other (goiardi
takes 126-171 ms each, see the project notes).  The deployer makes the pair
itself instead, in the run's own thread (cryptography releases the GIL while
OpenSSL works, so runs generate in parallel), and sends only the public key.
The private key goes to the node and nowhere else.
"""
from __future__ import annotations

import dataclasses

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KEY_BITS = 2048          # what Chef servers generate for clients


@dataclasses.dataclass(frozen=True)
class ClientKeyPair:
    private_pem: str     # PKCS#1 ("BEGIN RSA PRIVATE KEY"), as chef-client's client.pem
    public_pem: str      # SubjectPublicKeyInfo ("BEGIN PUBLIC KEY"), as the Chef API takes it

    def __repr__(self) -> str:      # never show the private key
        return "ClientKeyPair(private_pem=******)"


def generate_client_key(bits: int = KEY_BITS) -> ClientKeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode("ascii")
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return ClientKeyPair(private, public.decode("ascii"))
