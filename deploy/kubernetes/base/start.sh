#!/bin/sh
# Container entrypoint of every node pod: works out this pod's node id and addresses, then runs the node ("$@").
#  - The node id is the role's first id in this cloud (AURIGRAPH_ID_FIRST) plus the StatefulSet ordinal of POD_NAME.
#  - The certificate and key are node-<id>.pem / node-<id>.key of the role's Secret (AURIGRAPH_TLS_DIR).
#  - The node takes IP addresses only: each member's peer host name is resolved here (a per-pod Service's stable
#    IP), waiting up to AURIGRAPH_RESOLVE_SECONDS for names that do not resolve yet (a cloud still being deployed).
#  - This node's own entry listens on every interface, on the ports its entry names.
set -eu

fail() {
  echo "start: $*" >&2
  exit 2
}

ordinal="${POD_NAME##*-}"
case "$ordinal" in
  '' | *[!0-9]*) fail "cannot read a StatefulSet ordinal from POD_NAME '$POD_NAME'" ;;
esac
id=$((AURIGRAPH_ID_FIRST + ordinal))
[ "$id" -le "$AURIGRAPH_ID_LAST" ] \
  || fail "ordinal $ordinal gives id $id, past the last id reserved for this role ($AURIGRAPH_ID_LAST): see programme.env"
export AURIGRAPH__NODEID="$id"
export AURIGRAPH__TLS__CAFILE="$AURIGRAPH_TLS_DIR/ca.pem"
export AURIGRAPH__TLS__CERTIFICATEFILE="$AURIGRAPH_TLS_DIR/node-$id.pem"
export AURIGRAPH__TLS__KEYFILE="$AURIGRAPH_TLS_DIR/node-$id.key"
for file in "$AURIGRAPH__TLS__CAFILE" "$AURIGRAPH__TLS__CERTIFICATEFILE" "$AURIGRAPH__TLS__KEYFILE"; do
  [ -r "$file" ] || fail "$file is missing from the role's certificate Secret (see deploy/kubernetes/README.md)"
done

members=$(env | sed -n 's/^AURIGRAPH__MEMBERS__\([0-9][0-9]*\)__ID=.*/\1/p' | sort -n)
self=""
for i in $members; do
  eval "member=\$AURIGRAPH__MEMBERS__${i}__ID"
  [ "$member" = "$id" ] && self="$i"
done
[ -n "$self" ] || fail "node id $id is not in the members list (regenerate members.env: see programme.env)"

# host:port or scheme://host:port with the host replaced by $2
with_host() {
  case "$1" in
    *://*) echo "${1%%://*}://$2:${1##*:}" ;;
    *) echo "$2:${1##*:}" ;;
  esac
}

resolve() {
  waited=0
  while :; do
    address=$(getent ahostsv4 "$1" | awk 'NR == 1 { print $1 }') || address=""
    [ -n "$address" ] && { echo "$address"; return 0; }
    [ "$waited" -lt "${AURIGRAPH_RESOLVE_SECONDS:-300}" ] || fail "peer address $1 does not resolve"
    sleep 2
    waited=$((waited + 2))
  done
}

for i in $members; do
  for setting in PEERADDRESS APIADDRESS RESTADDRESS; do
    var="AURIGRAPH__MEMBERS__${i}__${setting}"
    eval "value=\$$var"
    if [ "$i" = "$self" ]; then
      export "$var=$(with_host "$value" 0.0.0.0)"
    elif [ "$setting" = PEERADDRESS ]; then
      host="${value%:*}"
      case "$host" in
        *[!0-9.]*)
          address=$(resolve "$host")
          export "$var=$(with_host "$value" "$address")"
          ;;
      esac
    fi
  done
done

exec "$@"
