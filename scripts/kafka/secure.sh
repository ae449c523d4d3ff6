# shellcheck shell=bash
# The SASL_SSL listener of up.sh. Source it after common.sh; do not execute it.
#
# Once per data dir: a CA and a broker certificate for 127.0.0.1/localhost (openssl, PKCS#12
# keystore), and random passwords for two SCRAM-SHA-512 users:
#   admin            super user (creates users and ACLs; `tracking kafka grant` uses it)
#   tracking-server  the ingestion server: WRITE/DESCRIBE/CREATE on every `user-behaviors-*` topic
# Tenant principals (`User:tenant-<id>`) are added later by `tracking kafka grant`.
# The PLAINTEXT listener stays open on loopback for dev and tests; its principal
# User:ANONYMOUS is a super user, so isolation is enforced on the SASL_SSL listener only.

# Writes the CA, the broker keystore and the SCRAM passwords if missing.
kafka_secure_material() {
  local d=$KAFKA_SECRETS_DIR
  [ -f "$d/broker.p12" ] && [ -f "$d/admin.password" ] && return 0
  mkdir -p "$d"
  chmod 700 "$d"
  local pass
  pass=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  (
    cd "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=tracking-dev-ca" \
      -keyout ca.key -out ca.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout broker.key -out broker.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >broker.ext
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile broker.ext -out broker.pem 2>/dev/null
    openssl pkcs12 -export -in broker.pem -inkey broker.key -certfile ca.pem -name broker \
      -passout "pass:$pass" -out broker.p12
    printf '%s' "$pass" >keystore.password
    rm -f broker.csr broker.ext ca.srl
    for user in admin "$KAFKA_SERVER_PRINCIPAL"; do
      head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$user.password"
    done
    chmod 600 ./*
  )
}

# StorageTool format arguments that create the SCRAM users with the cluster (KIP-900), one per line;
# saves two JVM starts. A data dir formatted without them gets the users from ConfigCommand below.
kafka_secure_format_args() {
  local user
  for user in admin "$KAFKA_SERVER_PRINCIPAL"; do
    printf '%s\n' --add-scram "SCRAM-SHA-512=[name=$user,password=$(cat "$KAFKA_SECRETS_DIR/$user.password")]"
  done
  touch "$KAFKA_SECRETS_DIR/.scram-at-format"
}

# server.properties lines for the SASL_SSL listener and the authorizer.
kafka_secure_props() {
  cat <<PROPS

# SASL_SSL listener (scripts/kafka/secure.sh): SCRAM-SHA-512 over TLS, ACLs enforced.
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location=$KAFKA_SECRETS_DIR/broker.p12
ssl.keystore.password=$(cat "$KAFKA_SECRETS_DIR/keystore.password")
ssl.key.password=$(cat "$KAFKA_SECRETS_DIR/keystore.password")
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:ANONYMOUS;User:admin
PROPS
}

# After the broker answers: SCRAM credentials and the server principal's ACLs (once per data dir,
# stamped), then the client files. Runs over the PLAINTEXT listener as the ANONYMOUS super user.
kafka_secure_bootstrap() {
  local stamp=$KAFKA_SECRETS_DIR/.bootstrapped B=$KAFKA_BOOTSTRAP
  if [ ! -f "$stamp" ]; then
    local user users=()
    [ -f "$KAFKA_SECRETS_DIR/.scram-at-format" ] || users=(admin "$KAFKA_SERVER_PRINCIPAL")
    for user in "${users[@]}"; do
      tool org.apache.kafka.tools.ConfigCommand --bootstrap-server "$B" --alter --entity-type users \
        --entity-name "$user" --add-config "SCRAM-SHA-512=[password=$(cat "$KAFKA_SECRETS_DIR/$user.password")]" \
        >>"$KAFKA_LOG_DIR/secure-bootstrap.out" 2>&1 || return 1
    done
    tool org.apache.kafka.tools.AclCommand --bootstrap-server "$B" --add \
      --allow-principal "User:$KAFKA_SERVER_PRINCIPAL" --operation Write --operation Describe --operation Create \
      --topic user-behaviors- --resource-pattern-type prefixed \
      >>"$KAFKA_LOG_DIR/secure-bootstrap.out" 2>&1 || return 1
    touch "$stamp"
  fi
  local pw
  pw=$(cat "$KAFKA_SECRETS_DIR/$KAFKA_SERVER_PRINCIPAL.password")
  cat >"$KAFKA_CLIENT_PROPERTIES" <<PROPS
# Written by scripts/kafka/up.sh: a Java client on the SASL_SSL listener as User:$KAFKA_SERVER_PRINCIPAL.
bootstrap.servers=$KAFKA_HOST:$KAFKA_SASL_PORT
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$KAFKA_SERVER_PRINCIPAL" password="$pw";
ssl.truststore.type=PEM
ssl.truststore.location=$KAFKA_CA_FILE
PROPS
  cat >"$KAFKA_CLIENT_ENV" <<ENV
# Written by scripts/kafka/up.sh: \`set -a; . $KAFKA_CLIENT_ENV; set +a\` then \`tracking serve\`.
KAFKA_BROKERS=$KAFKA_HOST:$KAFKA_SASL_PORT
KAFKA_SECURITY_PROTOCOL=SASL_SSL
KAFKA_SASL_MECHANISM=SCRAM-SHA-512
KAFKA_USER=$KAFKA_SERVER_PRINCIPAL
KAFKA_PASSWORD=$pw
KAFKA_SSL_CA_FILE=$KAFKA_CA_FILE
KAFKA_ADMIN_USER=admin
KAFKA_ADMIN_PASSWORD=$(cat "$KAFKA_SECRETS_DIR/admin.password")
ENV
  chmod 600 "$KAFKA_CLIENT_PROPERTIES" "$KAFKA_CLIENT_ENV"
}
