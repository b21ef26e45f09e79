#!/usr/bin/env bash
# Compatibility test of TLS and SASL with the Debian clients, against a Runnel node it starts from
# target/runnel.jar (build it first: `mvn -B -q package -DskipTests`):
#   - certificates made here with openssl (a CA, and a server certificate for 127.0.0.1 signed by it; the
#     node reads its key and chain as one PEM file, the clients trust the CA);
#   - kcat (librdkafka) over SSL: metadata, produce, consume;
#   - kcat over SASL_SSL with PLAIN: produce, consume;
#   - SCRAM-SHA-256 over SASL_SSL, with a user created with the Admin API (ScramUser.java, the request
#     kafka-configs.sh sends): kafka-python 2.0.2 produces and consumes; kcat with librdkafka 2.6.1 or later does
#     too, and with an older librdkafka (Debian 12 has 2.0.2) is refused, exactly as by Apache Kafka 4.x: those
#     versions echo a wrong nonce in their final SCRAM message (librdkafka PR 4895), which Kafka 4's own
#     ScramSaslServer (the one Runnel uses) rejects as RFC 5802 requires;
#   - kafka-python 2.0.2 over SASL_PLAINTEXT with PLAIN (kafka_python_secure.py): produce and consume;
#   - kafka-python over SASL_PLAINTEXT with OAUTHBEARER: a JWT signed by a stand-in identity provider
#     (OAuthToken.java) whose JWKS is served over HTTP (python3 -m http.server) and allowed to the node with
#     RUNNEL_JVM_OPTS=-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls=..., as in the README;
#   - a wrong password refused for each client.
#
# Usage: src/test/compat/secure.sh [--port N]   listeners on N (PLAINTEXT), N+1 (SSL), N+2 (SASL_SSL),
#                                               N+3 (SASL_PLAINTEXT), N+4 (OAUTH); the JWKS on N+5;
#                                               default 19592
# Exits non-zero if the node does not come up or any check fails. Takes 30 to 60 s.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
HERE="$ROOT/src/test/compat"
OUT="$ROOT/target/compat"
PORT=19592
while [[ $# -gt 0 ]]; do
    case "$1" in
        --port) PORT="$2"; shift 2 ;;
        -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "secure.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

die() { echo "secure.sh: FAIL: $*" >&2; exit 1; }
step() { echo "secure.sh: [${SECONDS}s] $*"; }
for tool in kcat openssl java; do
    command -v "$tool" >/dev/null || die "$tool is not installed (scripts/install-test-deps.sh)"
done
/usr/bin/python3 -c 'import kafka' 2>/dev/null || die "kafka-python is not installed for /usr/bin/python3"
[[ -f "$ROOT/target/runnel.jar" ]] || die "target/runnel.jar not found: build it first (mvn -B -q package -DskipTests)"

P_PLAIN=$PORT; P_SSL=$((PORT + 1)); P_SASL_SSL=$((PORT + 2)); P_SASL=$((PORT + 3)); P_OAUTH=$((PORT + 4))
P_JWKS=$((PORT + 5))
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in $P_PLAIN $P_SSL $P_SASL_SSL $P_SASL $P_OAUTH $P_JWKS; do
    port_open "$p" && die "port $p is already in use"
done

mkdir -p "$OUT"
WORK="$(mktemp -d -t compat-secure.XXXXXX)"
LOG="$OUT/secure-broker-$PORT.log"
BROKER_PID=""
JWKS_PID=""
cleanup() {
    if [[ -n "$JWKS_PID" ]]; then
        kill "$JWKS_PID" 2>/dev/null
        wait "$JWKS_PID" 2>/dev/null
    fi
    if [[ -n "$BROKER_PID" ]] && kill -0 "$BROKER_PID" 2>/dev/null; then
        kill "$BROKER_PID" 2>/dev/null
        local deadline=$((SECONDS + 30))
        while kill -0 "$BROKER_PID" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.2; done
        kill -9 "$BROKER_PID" 2>/dev/null
        wait "$BROKER_PID" 2>/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
show_log() { echo "---- last lines of $LOG ----" >&2; tail -30 "$LOG" >&2; }

step "certificates (openssl): a CA and a server certificate for 127.0.0.1"
(
    set -e
    cd "$WORK"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj "/CN=Runnel test CA"
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost"
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > san.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile san.ext
    # the node's keystore: its PKCS#8 key and certificate chain in one PEM file (ssl.keystore.type=PEM)
    cat server.key server.crt ca.crt > server.pem
) > "$WORK/openssl.log" 2>&1 || { cat "$WORK/openssl.log" >&2; die "openssl could not make the certificates"; }

step "a stand-in identity provider: a JWT for alice, its JWKS served on http://127.0.0.1:$P_JWKS/jwks.json"
mkdir -p "$WORK/idp"
java -cp "$ROOT/target/runnel.jar" "$HERE/OAuthToken.java" "$WORK/idp" alice https://idp.compat.test runnel 600 \
    > "$WORK/token.jwt" 2> "$WORK/token.err" || { cat "$WORK/token.err" >&2; die "could not make the JWT"; }
/usr/bin/python3 -m http.server "$P_JWKS" --bind 127.0.0.1 --directory "$WORK/idp" > "$WORK/jwks.log" 2>&1 &
JWKS_PID=$!
deadline=$((SECONDS + 20))
until port_open "$P_JWKS"; do
    (( SECONDS < deadline )) || die "the JWKS server did not start"
    sleep 0.2
done
JWKS_URL="http://127.0.0.1:$P_JWKS/jwks.json"

step "starting Runnel: PLAINTEXT $P_PLAIN, SSL $P_SSL, SASL_SSL (SCRAM-SHA-256, PLAIN) $P_SASL_SSL, SASL_PLAINTEXT (PLAIN) $P_SASL, OAUTH (OAUTHBEARER) $P_OAUTH"
LISTENERS="PLAINTEXT://127.0.0.1:$P_PLAIN,SSL://127.0.0.1:$P_SSL,SASL_SSL://127.0.0.1:$P_SASL_SSL,SASL_PLAINTEXT://127.0.0.1:$P_SASL,OAUTH://127.0.0.1:$P_OAUTH"
RUNNEL_JVM_OPTS="-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls=$JWKS_URL" \
RUNNEL_HEAP_OPTS="${RUNNEL_HEAP_OPTS:--Xms512m -Xmx512m}" "$ROOT/scripts/runnel.sh" \
    --override listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,OAUTH:SASL_PLAINTEXT \
    --override listener.name.oauth.sasl.enabled.mechanisms=OAUTHBEARER \
    --override listener.name.oauth.oauthbearer.sasl.server.callback.handler.class=org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler \
    --override "sasl.oauthbearer.jwks.endpoint.url=$JWKS_URL" \
    --override sasl.oauthbearer.expected.issuer=https://idp.compat.test \
    --override sasl.oauthbearer.expected.audience=runnel \
    --override "listeners=$LISTENERS" \
    --override "advertised.listeners=$LISTENERS" \
    --override admin.listener=127.0.0.1:0 \
    --override "log.dirs=$WORK/data" \
    --override group.initial.rebalance.delay.ms=0 \
    --override ssl.keystore.type=PEM \
    --override "ssl.keystore.location=$WORK/server.pem" \
    --override listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-256,PLAIN \
    --override 'listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_bob="bob-secret";' \
    --override listener.name.sasl_plaintext.sasl.enabled.mechanisms=PLAIN \
    --override 'listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret";' \
    > "$LOG" 2>&1 < /dev/null &
BROKER_PID=$!
deadline=$((SECONDS + 120))
until port_open "$P_SASL" && timeout 10 kcat -b "127.0.0.1:$P_PLAIN" -L -m 5 >/dev/null 2>&1; do
    kill -0 "$BROKER_PID" 2>/dev/null || { show_log; BROKER_PID=""; die "the node exited during start-up"; }
    (( SECONDS < deadline )) || { show_log; die "the node did not come up within 120 s"; }
    sleep 0.5
done

RUN="$(date +%s)-$$"
KCAT=(timeout 60 kcat -X socket.timeout.ms=20000)
TLS=(-X ssl.ca.location="$WORK/ca.crt")
# round_trip NAME KCAT-CONNECTION-ARGS...: 20 records produced and consumed back exactly, through that connection
round_trip() {
    local name="$1"
    shift
    local topic="compat-secure-$name-$RUN"
    seq 1 20 | sed "s/^/$name-record-/" > "$WORK/$name.expected"
    "${KCAT[@]}" "$@" -P -t "$topic" -X message.timeout.ms=20000 < "$WORK/$name.expected" 2> "$WORK/$name.err" \
        || { cat "$WORK/$name.err" >&2; die "kcat could not produce over $name"; }
    "${KCAT[@]}" "$@" -C -q -t "$topic" -o beginning -c 20 -e -f '%s\n' > "$WORK/$name.got" 2> "$WORK/$name.err" \
        || { cat "$WORK/$name.err" >&2; die "kcat could not consume over $name"; }
    diff -q "$WORK/$name.expected" "$WORK/$name.got" >/dev/null \
        || { diff "$WORK/$name.expected" "$WORK/$name.got" | head -5 >&2; die "records read back over $name differ"; }
    step "kcat over $name: 20 records produced and consumed back"
}

"${KCAT[@]}" -b "127.0.0.1:$P_SSL" -X security.protocol=SSL "${TLS[@]}" -L > "$WORK/ssl-metadata" 2> "$WORK/ssl.err" \
    || { cat "$WORK/ssl.err" >&2; die "kcat -L over SSL failed"; }
grep -q "127.0.0.1:$P_SSL" "$WORK/ssl-metadata" || die "metadata over SSL does not give the SSL listener's address"
round_trip SSL -b "127.0.0.1:$P_SSL" -X security.protocol=SSL "${TLS[@]}"

round_trip SASL_SSL-PLAIN -b "127.0.0.1:$P_SASL_SSL" -X security.protocol=SASL_SSL "${TLS[@]}" \
    -X sasl.mechanisms=PLAIN -X sasl.username=bob -X sasl.password=bob-secret
if "${KCAT[@]}" -b "127.0.0.1:$P_SASL_SSL" -X security.protocol=SASL_SSL "${TLS[@]}" -X sasl.mechanisms=PLAIN \
        -X sasl.username=bob -X sasl.password=wrong -L -m 5 > /dev/null 2> "$WORK/wrong.err"; then
    die "kcat with a wrong PLAIN password was let in"
fi
grep -q "SASL authentication error" "$WORK/wrong.err" || { cat "$WORK/wrong.err" >&2; die "a wrong password failed without librdkafka's SASL authentication error"; }
step "kcat with a wrong PLAIN password over SASL_SSL: refused with SASL_AUTHENTICATION_FAILED"

step "creating SCRAM-SHA-256 user carol with the Admin API"
java -cp "$ROOT/target/runnel.jar" "$HERE/ScramUser.java" "127.0.0.1:$P_PLAIN" SCRAM-SHA-256 carol carol-secret \
    > "$WORK/scram.log" 2>&1 || { tail -20 "$WORK/scram.log" >&2; die "could not create the SCRAM user"; }
timeout 120 /usr/bin/python3 "$HERE/kafka_python_secure.py" "127.0.0.1:$P_SASL_SSL" SASL_SSL SCRAM-SHA-256 carol \
    carol-secret "$WORK/ca.crt" || die "kafka-python over SASL_SSL with SCRAM-SHA-256 failed"

SCRAM=(-b "127.0.0.1:$P_SASL_SSL" -X security.protocol=SASL_SSL "${TLS[@]}" -X sasl.mechanisms=SCRAM-SHA-256
       -X sasl.username=carol)
RDKAFKA="$(kcat -V 2>&1 | sed -n 's/.*librdkafka \([0-9][0-9.]*\).*/\1/p' | head -1)"
if [[ "$(printf '%s\n2.6.1\n' "$RDKAFKA" | sort -V | head -1)" == 2.6.1 ]]; then
    round_trip SASL_SSL-SCRAM "${SCRAM[@]}" -X sasl.password=carol-secret
else
    if "${KCAT[@]}" "${SCRAM[@]}" -X sasl.password=carol-secret -L -m 5 > /dev/null 2> "$WORK/scram.err"; then
        die "librdkafka $RDKAFKA logged in with SCRAM: its final-message nonce was accepted, unlike Kafka 4.x"
    fi
    grep -q "Invalid client nonce in the final client message" "$LOG" \
        || { cat "$WORK/scram.err" >&2; die "kcat's SCRAM login (librdkafka $RDKAFKA) failed for another reason than its nonce"; }
    step "kcat SCRAM-SHA-256 (librdkafka $RDKAFKA < 2.6.1): refused for its final-message nonce, as Kafka 4.x refuses it"
fi

timeout 120 /usr/bin/python3 "$HERE/kafka_python_secure.py" "127.0.0.1:$P_SASL" SASL_PLAINTEXT PLAIN alice alice-secret \
    || die "kafka-python over SASL_PLAINTEXT with PLAIN failed"

timeout 120 /usr/bin/python3 "$HERE/kafka_python_secure.py" "127.0.0.1:$P_OAUTH" SASL_PLAINTEXT OAUTHBEARER alice \
    "$(cat "$WORK/token.jwt")" || die "kafka-python over SASL_PLAINTEXT with OAUTHBEARER failed"
grep -q "GET /jwks.json" "$WORK/jwks.log" || die "the node never fetched the JWKS"

kill -0 "$BROKER_PID" 2>/dev/null || { show_log; die "the node died during the tests"; }
step "all TLS and SASL compatibility checks passed"
