#!/bin/sh
# Development and evaluation certificates: a private CA and one server certificate for the
# brokers (MQTT over TLS, 8883; NATS routes), the API (HTTPS) and PostgreSQL, valid for the compose service
# names and loopback. In production, put certificates from your own PKI in the same files.
#
#   config/tls/make-certs.sh DIR [UID]   # writes DIR/ca.crt, server.crt, server.key, and
#                                        # postgres.key owned by UID (the database's user)
# Existing files are kept: run it again after deleting them to renew.
set -eu
dir=${1:?usage: make-certs.sh DIR [POSTGRES_UID]}
postgres_uid=${2:-}
mkdir -p "$dir"
cd "$dir"
if [ -f ca.crt ] && [ -f server.crt ] && [ -f server.key ]; then
    echo "certificates already in $dir"
    exit 0
fi
umask 077
openssl req -x509 -newkey rsa:3072 -sha256 -days 825 -nodes \
    -keyout ca.key -out ca.crt -subj "/CN=RPM monitoring private CA" 2>/dev/null
cat > server.ext <<'EXT'
subjectAltName = DNS:localhost, DNS:mosquitto, DNS:api, DNS:postgres, DNS:postgres-standby, DNS:nats-1, DNS:nats-2, DNS:nats-3, IP:127.0.0.1
extendedKeyUsage = serverAuth, clientAuth
EXT
openssl req -newkey rsa:3072 -sha256 -nodes -keyout server.key -out server.csr \
    -subj "/CN=rpm-monitoring" 2>/dev/null
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 -sha256 \
    -extfile server.ext -out server.crt 2>/dev/null
rm -f server.csr server.ext ca.srl
# clientAuth too: NATS nodes present it to each other on their TLS routes.
# Readable by the broker and the API (other uids in compose); the CA key never leaves this folder.
chmod 644 ca.crt server.crt server.key
chmod 600 ca.key
# PostgreSQL refuses a key that others can read: its own copy, owned by its user.
cp server.key postgres.key
chmod 600 postgres.key
if [ -n "$postgres_uid" ]; then
    chown "$postgres_uid:$postgres_uid" postgres.key
fi
echo "wrote a private CA and a server certificate to $dir"
