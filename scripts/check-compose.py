#!/usr/bin/env python3
"""Checks docker-compose.kafka.yml for the mistakes a review found there once.

    scripts/check-compose.py [KAFKA_VERSION] [--file COMPOSE_FILE]

KAFKA_VERSION is the Apache Kafka version native mode runs (default 4.4.0); COMPOSE_FILE
defaults to the repository's docker-compose.kafka.yml. Fails (exit 1), naming each problem, when

- a host port is published twice (compose up would fail to bind it);
- a published port is not bound to 127.0.0.1 (it would be reachable from the network);
- a service other than gateway, mailpit, kafka and schema-registry publishes a port;
- JWT_SECRET, ADMIN_PASSWORD or POSTGRES_PASSWORD has a default (${VAR:-default}) or a secret
  is a fixed string, database URLs included: compose must refuse to start without them;
- the kafka service does not run apache/kafka:KAFKA_VERSION;
- a service's KAFKA_TOPIC_PARTITIONS differs from the broker's KAFKA_NUM_PARTITIONS.

Prints "compose check: ok" otherwise. Needs PyYAML; without it, says so and exits 0, so that a
machine without it is not blocked.
"""

import argparse
import os
import re
import sys

try:
    import yaml
except ImportError:
    print("compose check: skipped (PyYAML is missing; pip install pyyaml to run it)")
    sys.exit(0)

PUBLISHERS = {"gateway", "mailpit", "kafka", "schema-registry"}
SECRETS = ("JWT_SECRET", "ADMIN_PASSWORD", "POSTGRES_PASSWORD")
# Environment keys whose value is a secret: it must come from a required variable.
SECRET_KEYS = set(SECRETS) | {"PGPASSWORD"}
DEFAULTED = re.compile(r"\$\{(%s):?[-=]" % "|".join(SECRETS))
REQUIRED = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*:?\?[^}]*\}$")
URL_PASSWORD = re.compile(r"://[^/:@\s]+:(\$\{[^}]*\}|[^@/\s]*)@")


class Loader(yaml.SafeLoader):
    """YAML 1.2 integers, as compose reads the file: PyYAML's YAML 1.1 would turn an unquoted
    port mapping such as 8080:80 into a base-60 number."""


Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:int"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"))


def port_range(text):
    """'8080' or '8080-8082' as a list of ints; [] for none (an ephemeral host port)."""
    text = str(text).strip()
    if not text:
        return []
    low, _, high = text.partition("-")
    return list(range(int(low), int(high or low) + 1))


def parse_port(entry):
    """A ports: entry (short or long syntax) as (host_ip or None, [host ports], protocol)."""
    if isinstance(entry, dict):
        return (entry.get("host_ip"), port_range(entry.get("published", "")),
                str(entry.get("protocol", "tcp")))
    text, _, protocol = str(entry).partition("/")
    host_ip = None
    if text.startswith("["):  # [::1]:8080:80
        host_ip, _, text = text[1:].partition("]")
        text = text.lstrip(":")
    parts = text.split(":")
    if len(parts) == 3:
        host_ip, host, _ = parts
    elif len(parts) == 2 and host_ip is not None:
        host, _ = parts
    elif len(parts) == 2:
        host, _ = parts
    else:
        host = ""  # container port only: a random host port on every interface
    return host_ip, port_range(host), protocol or "tcp"


def environment(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in map(str, env))
    return {str(k): ("" if v is None else str(v)) for k, v in env.items()}


def check(doc, kafka_version):
    problems = []
    services = doc.get("services") or {}
    published = {}  # (host port, protocol) -> the services publishing it, once per mapping
    for name, service in services.items():
        service = service or {}
        if service.get("network_mode") == "host":
            problems.append(f"{name}: network_mode host publishes every port on every interface")
        for entry in service.get("ports") or []:
            host_ip, host_ports, protocol = parse_port(entry)
            if name not in PUBLISHERS:
                problems.append(f"{name}: publishes {entry!r}; only {', '.join(sorted(PUBLISHERS))} may publish ports")
            if host_ip != "127.0.0.1":
                problems.append(f"{name}: {entry!r} is not bound to 127.0.0.1 (write \"127.0.0.1:HOST:CONTAINER\")")
            for port in host_ports:
                published.setdefault((port, protocol), []).append(name)
        for key, value in environment(service).items():
            if DEFAULTED.search(value):
                problems.append(f"{name}: {key} gives a secret a default ({value}); use ${{VAR:?message}}")
            elif key in SECRET_KEYS and not REQUIRED.match(value):
                problems.append(f"{name}: {key} is a fixed string; use ${{{'POSTGRES_PASSWORD' if key == 'PGPASSWORD' else key}:?message}}")
            match = URL_PASSWORD.search(value)
            if match and not REQUIRED.match(match.group(1)):
                problems.append(f"{name}: {key} holds a fixed password; use ${{POSTGRES_PASSWORD:?message}}")
    for (port, protocol), names in sorted(published.items()):
        if len(names) > 1:
            problems.append(f"host port {port}/{protocol} is published {len(names)} times ({', '.join(names)})")
    kafka = services.get("kafka")
    expected = f"apache/kafka:{kafka_version}"
    if kafka is None:
        problems.append("no kafka service")
    elif (kafka or {}).get("image") != expected:
        problems.append(f"kafka: image is {(kafka or {}).get('image')!r}, expected {expected!r}")
    problems.extend(partition_problems(services))
    return problems


def partition_problems(services):
    """The broker's default partition count and every service's KAFKA_TOPIC_PARTITIONS are one
    setting: a topic gets the same number of partitions whoever creates it."""
    broker = environment(services.get("kafka") or {}).get("KAFKA_NUM_PARTITIONS")
    problems = []
    for name, service in services.items():
        value = environment(service or {}).get("KAFKA_TOPIC_PARTITIONS")
        if value is not None and value != broker:
            problems.append(f"{name}: KAFKA_TOPIC_PARTITIONS is {value!r} but the kafka service's "
                            f"KAFKA_NUM_PARTITIONS is {broker!r}; give both the same value")
    return problems


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description="Checks docker-compose.kafka.yml (ports, secrets, Kafka image).")
    parser.add_argument("kafka_version", nargs="?", default="4.4.0",
                        help="the apache/kafka image tag expected (default 4.4.0, native mode's version)")
    parser.add_argument("--file", default=os.path.join(repo, "docker-compose.kafka.yml"),
                        help="the compose file (default: the repository's docker-compose.kafka.yml)")
    args = parser.parse_args()
    try:
        with open(args.file, encoding="utf-8") as f:
            doc = yaml.load(f, Loader=Loader)
    except (OSError, yaml.YAMLError) as err:
        print(f"compose check: {args.file}: cannot read it: {err}", file=sys.stderr)
        return 1
    if not isinstance(doc, dict):
        print(f"compose check: {args.file}: not a compose file (no top-level mapping)", file=sys.stderr)
        return 1
    problems = check(doc, args.kafka_version)
    for problem in problems:
        print(f"compose check: {args.file}: {problem}", file=sys.stderr)
    if problems:
        print(f"compose check: FAILED ({len(problems)} problem(s))", file=sys.stderr)
        return 1
    print("compose check: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
