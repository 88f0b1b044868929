#!/usr/bin/env bash
# A real S3 server for tests and local trials: single-node Ceph RADOS Gateway (one monitor,
# one in-memory OSD, radosgw) on 127.0.0.1, with one S3 user and one bucket.
#
#   scripts/rgw.sh start   # installs nothing; needs Debian's radosgw ceph-mon ceph-osd ceph-common
#   scripts/rgw.sh env     # prints the settings the app and the tests read (eval "$(... env)")
#   scripts/rgw.sh stop    # stops the daemons and removes their folder
#
# RGW_DIR (default /tmp/lpp-rgw), RGW_PORT (7480) and RGW_BUCKET (lpp) choose where, on
# which port and which bucket. The OSD keeps its objects in memory (1 GiB): a stop loses
# them, which is what tests want.
set -euo pipefail

D=${RGW_DIR:-/tmp/lpp-rgw}
PORT=${RGW_PORT:-7480}
BUCKET=${RGW_BUCKET:-lpp}
ACCESS_KEY=lpp-access-key
SECRET_KEY=lpp-secret-key
ENDPOINT="http://127.0.0.1:$PORT"
# RGW wants the payload's hash signed; curl 7.88 leaves it out unless given.
EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
C=(-c "$D/ceph.conf")

running() {
  curl -sf -o /dev/null "$ENDPOINT/" 2>/dev/null
}

print_env() {
  cat <<ENV
export S3_ENDPOINT_URL=$ENDPOINT
export AWS_ACCESS_KEY_ID=$ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$SECRET_KEY
export AWS_DEFAULT_REGION=us-east-1
export STORAGE_URL=s3://$BUCKET/files
ENV
}

stop() {
  if [ -d "$D/run" ]; then
    for pidfile in "$D"/run/*.pid; do
      [ -f "$pidfile" ] || continue
      pid=$(cat "$pidfile")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    done
  fi
  rm -rf "$D"
}

start() {
  if running; then
    echo "RGW already answers on $ENDPOINT" >&2
    return 0
  fi
  for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph-authtool monmaptool; do
    command -v "$tool" >/dev/null || {
      echo "error: $tool missing; apt-get install --no-install-recommends radosgw ceph-mon ceph-osd ceph-common" >&2
      exit 2
    }
  done
  stop
  mkdir -p "$D"/{mon,osd0,rgw,run,log}
  local fsid uuid
  fsid=$(python3 -c "import uuid; print(uuid.uuid4())")
  cat >"$D/ceph.conf" <<CONF
[global]
fsid = $fsid
mon host = 127.0.0.1
mon initial members = a
public addr = 127.0.0.1
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = 1073741824
mon data avail warn = 1
run dir = $D/run
admin socket = $D/run/\$name.asok
log file = $D/log/\$name.log
pid file = $D/run/\$name.pid
keyring = $D/keyring
[mon.a]
mon data = $D/mon
[osd.0]
osd data = $D/osd0
keyring = $D/osd0/keyring
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$PORT
rgw data = $D/rgw
keyring = $D/rgw/keyring
CONF
  ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool "$D/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' \
    --cap mgr 'allow *' >/dev/null
  monmaptool --create --add a 127.0.0.1 --fsid "$fsid" "$D/monmap" >/dev/null
  ceph-mon "${C[@]}" --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring"
  ceph-mon "${C[@]}" -i a
  sleep 2
  uuid=$(python3 -c "import uuid; print(uuid.uuid4())")
  timeout 20 ceph "${C[@]}" osd new "$uuid" >/dev/null
  timeout 20 ceph "${C[@]}" auth get-or-create osd.0 mon 'allow profile osd' osd 'allow *' \
    mgr 'allow profile osd' -o "$D/osd0/keyring"
  timeout 60 ceph-osd "${C[@]}" -i 0 --mkfs --osd-uuid "$uuid" 2>/dev/null
  ceph-osd "${C[@]}" -i 0 2>/dev/null
  timeout 20 ceph "${C[@]}" auth get-or-create client.rgw mon 'allow rw' osd 'allow rwx' \
    -o "$D/rgw/keyring"
  radosgw "${C[@]}" -n client.rgw
  for _ in $(seq 1 60); do running && break; sleep 1; done
  running || { echo "error: radosgw did not answer on $ENDPOINT; see $D/log" >&2; exit 1; }
  timeout 60 radosgw-admin "${C[@]}" user create --uid=lpp --display-name=lpp \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null
  # curl signs the request itself (SigV4), so making the bucket needs no S3 client here.
  for _ in $(seq 1 20); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" \
      --user "$ACCESS_KEY:$SECRET_KEY" -H "x-amz-content-sha256: $EMPTY_SHA256" \
      "$ENDPOINT/$BUCKET") || code=000
    case $code in 200 | 409) break ;; esac
    sleep 1
  done
  case $code in 200 | 409) ;; *) echo "error: creating bucket $BUCKET answered $code" >&2; exit 1 ;; esac
  echo "RGW serving S3 on $ENDPOINT, bucket $BUCKET (folder $D)" >&2
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) print_env ;;
  *)
    echo "usage: $0 start|stop|env" >&2
    exit 2
    ;;
esac
