#!/bin/bash
# mkcerts.sh DIR [SAN]: a test PKI for the platform channel, made with
# openssl.  SAN: more subjectAltName entries for the server certificates.
#   ca.pem                 the platform CA (signs server.pem and client.pem)
#   server.pem/-key.pem    the platform (SAN 127.0.0.1, localhost)
#   client.pem/-key.pem    the sensor's client certificate
#   other-ca.pem, other-server.pem/-key.pem   a server from another CA
#   expired-server.pem/-key.pem               signed by ca.pem, expired in 2020
#   wrongname-server.pem/-key.pem             signed by ca.pem for another host
set -eu
d=$1
extra=${2:+,$2}
mkdir -p "$d" && cd "$d"
q() { openssl "$@" >/dev/null 2>&1; }
ca() {	# ca NAME CN
	q req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=$2" -keyout "$1-key.pem" -out "$1.pem"
}
leaf() {	# leaf NAME CA CN EXT
	q req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$3" \
		-keyout "$1-key.pem" -out "$1.csr"
	printf '%s\n' "$4" > "$1.ext"
	q x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2-key.pem" -CAcreateserial \
		-days 2 -extfile "$1.ext" -out "$1.pem"
}
SRV="subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:127.0.0.1$extra
extendedKeyUsage=serverAuth"
ca ca "senseon test platform CA"
ca other-ca "some other CA"
leaf server ca 127.0.0.1 "$SRV"
leaf client ca sensor "extendedKeyUsage=clientAuth"
leaf other-server other-ca 127.0.0.1 "$SRV"
leaf wrongname-server ca platform.invalid "subjectAltName=DNS:platform.invalid
extendedKeyUsage=serverAuth"
# expired: `openssl ca` takes explicit dates
mkdir -p expca && : > expca/index.txt && echo 01 > expca/serial
cat > expca/ca.cnf <<CNF
[ca]
default_ca = c
[c]
database = expca/index.txt
serial = expca/serial
new_certs_dir = expca
default_md = sha256
policy = p
copy_extensions = none
[p]
commonName = supplied
[ext]
$SRV
CNF
q req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
	-keyout expired-server-key.pem -out expired-server.csr
q ca -batch -config expca/ca.cnf -cert ca.pem -keyfile ca-key.pem -extensions ext \
	-startdate 20200101000000Z -enddate 20200102000000Z -in expired-server.csr \
	-out expired-server.pem
# the SPKI pin of server.pem, as platform_pins wants it
echo "sha256//$(openssl x509 -in server.pem -noout -pubkey | openssl pkey -pubin -outform DER |
	openssl dgst -sha256 -binary | openssl base64 -A)" > server.pin
for f in ca.pem server.pem client.pem other-server.pem expired-server.pem wrongname-server.pem; do
	[ -s "$f" ] || { echo "mkcerts.sh: $f was not made" >&2; exit 1; }
done
