#!/bin/sh
# One-shot: wait for the first Kafki worker, then register the demo connectors over its REST API
# (the Kafka Connect API: PUT /connectors/<name>/config creates or updates).
set -eu
url=http://kafki-1:8083
until curl -sf "$url/" >/dev/null; do sleep 1; done
for file in /demo/connectors/*.json; do
  name=$(sed -n 's/.*"name": *"\([^"]*\)".*/\1/p' "$file" | head -1)
  config=$(tr -d '\n' < "$file" | sed 's/.*"config": *\({[^}]*}\).*/\1/')
  echo "registering $name"
  curl -sf -X PUT -H 'Content-Type: application/json' --data "$config" "$url/connectors/$name/config"
  echo
done
curl -s "$url/connectors?expand=status"
