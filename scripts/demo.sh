#!/usr/bin/env bash
# `make demo`: a demo PKI, a store with a hostname that negotiates client
# certificates and an API in front of an echo backend, the gateway running,
# and a few requests showing what it does. Runs until Ctrl-C; everything it
# creates is under demo-run/ and every process it starts is stopped by pid.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CG=$ROOT/build/certgate
DIR=$ROOT/demo-run
HTTPS_PORT=${DEMO_HTTPS_PORT:-8443}
BACKEND_PORT=${DEMO_BACKEND_PORT:-9080}
HOST=api.demo.test
[ -x "$CG" ] || { echo "demo: $CG is missing: run 'make build' first" >&2; exit 1; }
rm -rf "$DIR"
mkdir -p "$DIR"
cd "$DIR"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "demo PKI (openssl): a CA, a server certificate for $HOST, two client certificates"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-subj "/CN=certgate demo CA" -keyout ca.key -out ca.pem 2>/dev/null
issue() { # name subject [ext]
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$2" \
		-keyout "$1.key" -out "$1.csr" 2>/dev/null
	openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
		${3:+-extfile <(printf '%s' "$3")} -out "$1.pem" 2>/dev/null
}
issue server "/CN=$HOST" "subjectAltName=DNS:$HOST"
issue alice "/CN=alice/O=Demo Clients" "extendedKeyUsage=clientAuth"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-subj "/CN=mallory" -keyout mallory.key -out mallory.pem 2>/dev/null
thumb() { openssl x509 -in "$1" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g'; }
echo "alice's thumbprint:   $(thumb alice.pem)"
echo "mallory's thumbprint: $(thumb mallory.pem) (self-signed)"

say "store: a hostname that negotiates client certificates, an API in front of the echo backend"
export CERTGATE_STORE=$DIR/certgate.db
"$CG" host set $HOST --cert server.pem --key server.key --negotiate-client-certificate --default
"$CG" api set echo --path echo --backend http://127.0.0.1:$BACKEND_PORT
"$CG" api list

say "the client-certificate policy of APIM's guide, verbatim, on the API; alice's certificate uploaded"
cat > policy.xml <<'XML'
<policies>
  <inbound>
    <base />
    <choose>
      <when condition="@(context.Request.Certificate == null || !context.Deployment.Certificates.Any(c => c.Value.Thumbprint == context.Request.Certificate.Thumbprint))">
        <return-response>
          <set-status code="403" reason="Invalid client certificate" />
        </return-response>
      </when>
    </choose>
  </inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>
XML
cat policy.xml
"$CG" policy set --api echo policy.xml
"$CG" cert add alice alice.pem
"$CG" cert list

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

python3 "$ROOT/scripts/demo_backend.py" $BACKEND_PORT &
PIDS+=($!)
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:$BACKEND_PORT/ && break; sleep 0.1; done
"$CG" serve --listen 127.0.0.1:$HTTPS_PORT 2> gateway.log &
PIDS+=($!)
for _ in $(seq 50); do grep -q ready gateway.log 2>/dev/null && break; sleep 0.1; done
grep -q ready gateway.log || { cat gateway.log; echo "demo: the gateway did not start" >&2; exit 1; }
CURL=(curl -sS --cacert ca.pem --resolve $HOST:$HTTPS_PORT:127.0.0.1)
URL=https://$HOST:$HTTPS_PORT

say "alice calls the API with her client certificate: 200"
echo "\$ curl --cert alice.pem --key alice.key $URL/echo/orders/7?expand=1"
"${CURL[@]}" --cert alice.pem --key alice.key "$URL/echo/orders/7?expand=1"

say "mallory's certificate is not uploaded, and a client without one: 403"
"${CURL[@]}" --cert mallory.pem --key mallory.key -o /dev/null -w '%{http_code} (mallory)\n' "$URL/echo/x"
"${CURL[@]}" -o /dev/null -w '%{http_code} (no certificate)\n' "$URL/echo/x"
"${CURL[@]}" --cert mallory.pem --key mallory.key -si "$URL/echo/x" | head -1

say "removing alice's certificate applies within a second, without a restart"
"$CG" cert rm alice
sleep 1
"${CURL[@]}" --cert alice.pem --key alice.key -o /dev/null -w '%{http_code} (alice, certificate removed)\n' "$URL/echo/x"
"$CG" cert add alice alice.pem >/dev/null
sleep 1
"${CURL[@]}" --cert alice.pem --key alice.key -o /dev/null -w '%{http_code} (alice, uploaded again)\n' "$URL/echo/x"

say "a forged client-certificate header never reaches the backend"
echo "\$ curl --cert alice.pem --key alice.key -H 'X-SSL-Client-Cert: forged' $URL/echo/x"
out=$("${CURL[@]}" --cert alice.pem --key alice.key -H 'X-SSL-Client-Cert: forged' "$URL/echo/x")
if ! grep -q '"backend": "demo echo"' <<<"$out"; then
	echo "the request did not reach the backend: $out"
elif grep -qi forged <<<"$out"; then
	echo "the forged header reached the backend (this is a bug)"
else
	echo "the backend saw no X-SSL-Client-Cert header"
fi

say "no API at this path: APIM's 404"
"${CURL[@]}" -i "$URL/nothing-here"

say "the gateway's log"
cat gateway.log

cat <<TXT

The gateway is running on https://$HOST:$HTTPS_PORT (backend: 127.0.0.1:$BACKEND_PORT).
Try, from $DIR:
  curl --cacert ca.pem --resolve $HOST:$HTTPS_PORT:127.0.0.1 --cert alice.pem --key alice.key $URL/echo/hello
  CERTGATE_STORE=$DIR/certgate.db $CG api list
Press Ctrl-C to stop.
TXT
wait "${PIDS[1]}"
