#!/usr/bin/python3
"""kafka-python 2.0.2 (Debian's python3-kafka) over SASL, for secure.sh.

Usage: /usr/bin/python3 src/test/compat/kafka_python_secure.py BOOTSTRAP PROTOCOL MECHANISM USER PASSWORD [CAFILE]
  e.g. 127.0.0.1:19595 SASL_PLAINTEXT PLAIN alice alice-secret
       127.0.0.1:19594 SASL_SSL SCRAM-SHA-256 carol carol-secret ca.crt
       127.0.0.1:19596 SASL_PLAINTEXT OAUTHBEARER alice "$(cat token.jwt)"     (PASSWORD is the JWT)

A producer and a consumer group log in, write 20 records to a new topic and read them back exactly; a producer
with a wrong password is refused with kafka-python's authentication error. Exits non-zero on failure.
"""
import sys
import time
import uuid

from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError
from kafka.oauth.abstract import AbstractTokenProvider

if len(sys.argv) not in (6, 7):
    print("usage: kafka_python_secure.py BOOTSTRAP PROTOCOL MECHANISM USER PASSWORD [CAFILE]", file=sys.stderr)
    sys.exit(2)
BOOTSTRAP, PROTOCOL, MECHANISM, USER, PASSWORD = sys.argv[1:6]
CAFILE = sys.argv[6] if len(sys.argv) == 7 else None
TOPIC = "compat-py-sasl-%s" % uuid.uuid4().hex[:10]
WHAT = "%s with %s" % (PROTOCOL, MECHANISM)


class StaticToken(AbstractTokenProvider):
    """Hands kafka-python the JWT an identity provider issued (for OAUTHBEARER)."""

    def __init__(self, jwt):
        super().__init__()
        self.jwt = jwt

    def token(self):
        return self.jwt


def sasl(password):
    settings = dict(bootstrap_servers=BOOTSTRAP, security_protocol=PROTOCOL, sasl_mechanism=MECHANISM,
                    request_timeout_ms=30000)
    if MECHANISM == "OAUTHBEARER":
        settings.update(sasl_oauth_token_provider=StaticToken(password))
    else:
        settings.update(sasl_plain_username=USER, sasl_plain_password=password)
    if CAFILE:
        settings.update(ssl_cafile=CAFILE, ssl_check_hostname=True)
    return settings


def main():
    producer = KafkaProducer(**sasl(PASSWORD))
    expected = [("record-%d" % i).encode() for i in range(20)]
    for value in expected:
        producer.send(TOPIC, value)
    producer.flush(timeout=30)
    producer.close()

    consumer = KafkaConsumer(TOPIC, group_id="compat-py-sasl-" + MECHANISM, auto_offset_reset="earliest",
                             consumer_timeout_ms=20000, **sasl(PASSWORD))
    got = []
    deadline = time.time() + 40
    for record in consumer:
        got.append(record.value)
        if len(got) == len(expected) or time.time() > deadline:
            break
    consumer.close()
    if got != expected:
        raise AssertionError("read back %r, expected %r" % (got[:5], expected[:5]))
    print("kafka_python_secure: 20 records produced and consumed over %s as %s" % (WHAT, USER))

    try:
        refused = KafkaProducer(max_block_ms=10000, **sasl(PASSWORD + "-wrong"))
        refused.send(TOPIC, b"x").get(timeout=15)
        refused.close()
    except KafkaError as e:
        # kafka-python raises AuthenticationFailedError (or, once its retries give up, NoBrokersAvailable)
        print("kafka_python_secure: a wrong password over %s is refused (%s)" % (WHAT, type(e).__name__))
    else:
        raise AssertionError("a producer with a wrong password was let in")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:
        print("kafka_python_secure: FAIL: %r" % (e,), file=sys.stderr)
        sys.exit(1)
