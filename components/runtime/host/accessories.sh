# Accessories: the stack's stateful side services (s3, redis, generic), each a container of its own
# with a named volume, never rolled like the services: a change of its image or settings restarts
# it. $ACCESSORIES: one line per accessory, "name<TAB>type<TAB>image<TAB>port<TAB>dataPath<TAB>bucket"
# ("-" for a field its type has not: read collapses empty fields between tabs).
# Container and volume are "${ACCESSORY_PREFIX}<name>" (the host contract's accessoryNames), so that
# an accessory no longer declared is dropped by its name alone. Secrets arrive on stdin (an env
# file) and stay in the container's environment, never argv; backups read them from there.

# read_accessory NAME [LINES]: sets the caller's type, image, port, data_path and bucket (and line),
# from LINES (default $ACCESSORIES, this deployment's).
read_accessory() {
  line="$(awk -F'\t' -v name="$1" '$1 == name' <<<"${2:-$ACCESSORIES}")"
  [[ -n "$line" ]] || fail "no accessory $1 in this deployment"
  IFS=$'\t' read -r _ type image port data_path bucket <<<"$line"
}

# Redis reads its password from a file only this container sees (argv would show it to `ps`):
# written from the environment at start, then redis-server replaces the shell (PID 1: docker stop
# reaches it, and it saves its data). RDB snapshots only (no append-only file): what a backup
# copies is what a restore puts back. Both run in the container (quoted heredocs: expanded there).
redis_launch="$(
  cat <<'SH'
umask 077; printf "requirepass %s\ndir /data\nappendonly no\nsave 60 1\nbind * -::*\nprotected-mode no\n" "$REDIS_PASSWORD" >/tmp/redis.conf; exec redis-server /tmp/redis.conf
SH
)"
redis_cli_in_container="$(
  cat <<'SH'
REDISCLI_AUTH="$REDIS_PASSWORD" exec redis-cli --no-auth-warning "$@"
SH
)"

redis_cli() { docker exec "$1" sh -c "$redis_cli_in_container" redis-cli "${@:2}"; }

redis_ready() { [[ "$(redis_cli "$1" ping 2>/dev/null)" == "PONG" ]]; }

# s3_curl CONTAINER CURL_ARGS...: a signed S3 request to the accessory (path-style). Its secret key,
# read from the container's environment, reaches curl on stdin (-K -), never argv.
# Both are read once per run: a bucket mirror makes a request per object.
declare -A s3_secrets=()
sigv4_curl_checked=false
s3_curl() {
  local container="$1" secret
  shift
  if [[ "$sigv4_curl_checked" != true ]]; then
    require_sigv4_curl
    sigv4_curl_checked=true
  fi
  secret="${s3_secrets[$container]:-}"
  if [[ -z "$secret" ]]; then
    secret="$(docker inspect -f "$env_template" "$container" | sed -n 's/^MINIO_ROOT_PASSWORD=//p')"
    [[ -n "$secret" ]] || fail "${container} has no MINIO_ROOT_PASSWORD"
    s3_secrets[$container]="$secret"
  fi
  # curl signs but does not send x-amz-content-sha256, which S3 servers require.
  printf 'user = "%s:%s"\n' "$S3_ACCESS_KEY" "$secret" |
    curl -K - --globoff --silent --show-error --fail --max-time 60 --aws-sigv4 "aws:amz:${S3_REGION}:s3" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}

# curl signs S3 requests itself from 7.75, and signs a given x-amz-content-sha256 from 7.88.
require_sigv4_curl() {
  local version
  version="$(curl --version 2>/dev/null | sed -n '1s/^curl \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')"
  read -r major minor <<<"${version:-0 0}"
  ((major > 7 || (major == 7 && minor >= 88))) ||
    fail "curl ${major}.${minor} on this host cannot sign S3 requests for the s3 accessories' backups: install curl 7.88 or later (Debian 12, Ubuntu 24.04)"
}

s3_url() { printf 'http://%s:%s/%s' "$(network_address "$1")" "$2" "$3"; }

# s3_object_url BUCKET_URL KEY: the URL of object KEY in the bucket.
s3_object_url() { printf '%s/%s' "$1" "$(urlencode_key "$2")"; }

# Percent-encodes an object key for a URL path ("/" kept).
urlencode_key() {
  local key="$1" out="" char i
  local LC_ALL=C
  for ((i = 0; i < ${#key}; i++)); do
    char="${key:i:1}"
    case "$char" in
      [A-Za-z0-9._~/-]) out+="$char" ;;
      *) out+="$(printf '%%%02X' "'$char")" ;;
    esac
  done
  printf '%s' "$out"
}

# The bucket exists (created once; "already owned" is fine).
s3_bucket() {
  local container="$1" port="$2" bucket="$3"
  s3_curl "$container" --output /dev/null --head "$(s3_url "$container" "$port" "$bucket")" 2>/dev/null && return 0
  s3_curl "$container" --output /dev/null -X PUT "$(s3_url "$container" "$port" "$bucket")"
}

# accessory NAME: its volume, then its container (started again only when its image or settings
# changed), ready; an s3 accessory's bucket. The container's env file arrives on stdin.
accessory() {
  require_docker
  local name="$1" line type image port data_path bucket container volume envfile spec
  read_accessory "$name"
  container="${ACCESSORY_PREFIX}${name}"
  volume="${ACCESSORY_PREFIX}${name}"
  envfile="$(umask 077 && mktemp)"
  # shellcheck disable=SC2064 # the file name is fixed now
  trap "rm -f '${envfile}'" EXIT
  cat >"$envfile"
  ensure_network
  if ! docker volume inspect "$volume" >/dev/null 2>&1; then
    if [[ "${PERMACOOP_REPAIR:-0}" == "1" ]]; then
      fail "the volume ${volume} of accessory ${name} is missing on this host (removed by hand?): restore a backup after pulumi up (npm run backup -- -s ${ENV_NAME} --list)"
    fi
    ensure_volume "$volume"
  fi
  # What it runs with, its secrets included (hashed): a change restarts it.
  spec="acc-v1-$(printf '%s\n' "$line" | cat - "$envfile" | sha256sum | cut -c1-16)"
  local run=(--env-file "$envfile" --label "${ACCESSORY_LABEL}=${name}")
  case "$type" in
    s3) start_container "$container" "$image" "$spec" "${run[@]}" -v "${volume}:/data" "$image" server /data ;;
    redis) start_container "$container" "$image" "$spec" "${run[@]}" -v "${volume}:/data" "$image" sh -c "$redis_launch" ;;
    generic) start_container "$container" "$image" "$spec" "${run[@]}" -v "${volume}:${data_path}" "$image" ;;
    *) fail "accessory ${name}: unknown type ${type}" ;;
  esac
  rm -f "$envfile"
  case "$type" in
    s3) wait_until "accessory ${name} (bucket ${bucket})" 60 s3_bucket "$container" "$port" "$bucket" ;;
    redis) wait_until "accessory ${name}" 60 redis_ready "$container" ;;
    generic) wait_until "accessory ${name}" 60 answers_tcp "$container" "$port" ;;
  esac
  log "accessory ${name} (${type}) is up: ${container}"
}

# A TCP connection to container $1 on port $2 succeeds.
answers_tcp() { timeout 2 bash -c "exec 3<>/dev/tcp/$(network_address "$1")/$2" 2>/dev/null; }

# drop-accessory NAME [LINE]: a final backup (LINE: its settings as $ACCESSORIES has them, from
# the deployment that declared it: the current one may not any more), its container, then its
# volume, kept when PERMACOOP_KEEP_DATA=1 or when no final backup could be taken. Backups stay.
drop_accessory() {
  local name="$1" container="${ACCESSORY_PREFIX}$1" backed_up=false
  if [[ -n "${2:-}" ]] && docker inspect "$container" >/dev/null 2>&1; then
    umask 077
    mkdir -p "$backup_dir"
    if (backup_accessory "$name" "${backup_dir}/${ENV_NAME}-$(date -u +%Y%m%dT%H%M%SZ)-final" "$2"); then backed_up=true; fi
  fi
  if docker inspect "$container" >/dev/null 2>&1; then
    log "removing accessory ${name}: ${container}"
    docker stop -t 30 "$container" >/dev/null 2>&1 || true
    docker rm -f "$container" >/dev/null || fail "cannot remove ${container}"
  fi
  docker volume inspect "$container" >/dev/null 2>&1 || return 0
  if [[ "${PERMACOOP_KEEP_DATA:-0}" == "1" ]]; then
    log "keeping volume ${container} of accessory ${name} (PERMACOOP_KEEP_DATA=1)"
  elif [[ "$backed_up" != true ]]; then
    log "WARNING: keeping volume ${container} of accessory ${name}: no final backup of it was taken (remove it by hand once you have what you need: docker volume rm ${container})"
  else
    log "removing volume ${container}"
    docker volume rm "$container" >/dev/null || fail "cannot remove volume ${container}"
  fi
  if compgen -G "${backup_dir}/*.${name}.*" >/dev/null; then log "backups of ${name} stay in ${backup_dir}"; fi
}

# backup_accessory NAME FILE_STEM [LINES]: the accessory's data as of now, written whole or not at all:
# s3: a mirror of its bucket (a directory, one file per object); redis: its RDB snapshot; generic:
# a tar of its data directory, taken with the container paused (a consistent copy).
backup_accessory() {
  local name="$1" stem="$2" line type image port data_path bucket container
  read_accessory "$name" "${3:-}"
  container="${ACCESSORY_PREFIX}${name}"
  local file running=false
  [[ "$(docker inspect -f '{{.State.Running}}' "$container" 2>/dev/null)" != "true" ]] || running=true
  # A stopped one's files are copied as they are (a crash-looping store is what a restore is for).
  docker inspect "$container" >/dev/null 2>&1 || fail "accessory ${name} has no container (${container}): no backup of it"
  [[ "$running" == true || "$type" != s3 ]] || fail "accessory ${name} is not running (${container}): its bucket cannot be read"
  case "$type" in
    s3)
      file="${stem}.${name}.s3"
      rm -rf "${file}.partial"
      mirror_bucket "$container" "$port" "$bucket" "${file}.partial/${bucket}" || {
        rm -rf "${file}.partial"
        fail "backup of accessory ${name} (bucket ${bucket}) failed: no backup written"
      }
      ;;
    redis)
      file="${stem}.${name}.rdb"
      # A snapshot streamed from a fork of the server (it keeps serving), through the volume; a
      # stopped server's last snapshot as it is.
      local snapshot=/data/dump.rdb
      if [[ "$running" == true ]]; then
        snapshot=/data/.permacoop-backup.rdb
        redis_cli "$container" --rdb "$snapshot" >/dev/null || fail "backup of accessory ${name} (redis) failed: no backup written"
      fi
      if ! docker cp "${container}:${snapshot}" - | tar -xO >"${file}.partial" || [[ ! -s "${file}.partial" ]]; then
        rm -f "${file}.partial"
        fail "backup of accessory ${name} (redis) failed: no backup written"
      fi
      [[ "$running" != true ]] || docker exec "$container" rm -f "$snapshot"
      ;;
    generic)
      file="${stem}.${name}.tar"
      [[ "$running" != true ]] || docker pause "$container" >/dev/null
      local copied=true
      docker cp "${container}:${data_path}/." - >"${file}.partial" || copied=false
      [[ "$running" != true ]] || docker unpause "$container" >/dev/null
      if [[ "$copied" != true ]]; then
        rm -f "${file}.partial"
        fail "backup of accessory ${name} failed: no backup written"
      fi
      ;;
  esac
  mv "${file}.partial" "$file"
  log "backup ${file##*/} ($(du -sh "$file" | cut -f1)) in ${backup_dir}"
}

# mirror_bucket CONTAINER PORT BUCKET DIR: every object of BUCKET as a file under DIR (its key as
# the path). A key no file can hold (empty segments, "..") fails the backup: a mirror never
# silently misses an object.
mirror_bucket() {
  local container="$1" port="$2" bucket="$3" dir="$4" keys key url
  mkdir -p "$dir"
  url="$(s3_url "$container" "$port" "$bucket")"
  keys="$(bucket_keys "$container" "$port" "$bucket")" || return 1
  while IFS= read -r key; do
    [[ -n "$key" ]] || continue
    if [[ "$key" == /* || "/${key}/" == *"/../"* || "/${key}/" == *"/./"* || "$key" == *//* ]]; then
      log "bucket ${bucket}: object key ${key@Q} cannot be a file path" >&2
      return 1
    fi
    if [[ "$key" == */ ]]; then
      mkdir -p "${dir}/${key}"
      continue
    fi
    mkdir -p "$(dirname "${dir}/${key}")"
    s3_curl "$container" --output "${dir}/${key}" "$(s3_object_url "$url" "$key")" || return 1
  done <<<"$keys"
}

# check_accessory_backup NAME BACKUP: BACKUP is one of NAME's, whole, before anything is touched.
check_accessory_backup() {
  local name="$1" file="$2" line type image port data_path bucket
  read_accessory "$name"
  case "$type" in
    s3) [[ "$file" == *.s3 && -d "${file}/${bucket}" ]] || fail "${file##*/} holds no mirror of bucket ${bucket}: nothing was touched" ;;
    redis) [[ "$file" == *.rdb && "$(head -c 5 "$file")" == REDIS ]] || fail "${file##*/} is not a Redis snapshot (RDB): nothing was touched" ;;
    generic)
      if [[ "$file" != *.tar ]] || ! tar -tf "$file" >/dev/null 2>&1; then fail "${file##*/} is not a whole tar archive: nothing was touched"; fi
      ;;
  esac
}

# restore_accessory NAME BACKUP: the accessory's data becomes the backup's (restore() checked it,
# took a safety backup and stopped the services).
restore_accessory() {
  local name="$1" file="$2" line type image port data_path bucket container
  read_accessory "$name"
  container="${ACCESSORY_PREFIX}${name}"
  case "$type" in
    s3)
      log "restoring bucket ${bucket} of ${name} from ${file##*/}"
      local key url current
      url="$(s3_url "$container" "$port" "$bucket")"
      # Every object of the backup put back, then the objects it did not have removed.
      (cd "${file}/${bucket}" && find . -type f -printf '%P\n') | while IFS= read -r key; do
        s3_curl "$container" --output /dev/null -T "${file}/${bucket}/${key}" "$(s3_object_url "$url" "$key")" || exit 1
      done || fail "restore of ${name} failed part-way: the bucket holds a mix (restore the pre-restore backup)"
      current="$(mktemp -d)"
      bucket_keys "$container" "$port" "$bucket" >"${current}/keys" || fail "cannot list bucket ${bucket}"
      while IFS= read -r key; do
        [[ -z "$key" || -f "${file}/${bucket}/${key}" || ("$key" == */ && -d "${file}/${bucket}/${key}") ]] && continue
        s3_curl "$container" --output /dev/null -X DELETE "$(s3_object_url "$url" "$key")" || fail "restore of ${name}: cannot delete ${key@Q}"
      done <"${current}/keys"
      rm -rf "$current"
      ;;
    redis | generic)
      local target="/data"
      [[ "$type" == redis ]] || target="$data_path"
      log "stopping accessory ${name} during the restore"
      docker stop "$container" >/dev/null
      if [[ "$type" == redis ]]; then
        docker cp "$file" "${container}:/data/dump.rdb" || fail "restore of ${name} failed: ${container} is stopped, start it: docker start ${container}"
      else
        docker cp - "${container}:${target}" <"$file" || fail "restore of ${name} failed: ${container} is stopped, start it: docker start ${container}"
      fi
      docker start "$container" >/dev/null
      case "$type" in
        redis) wait_until "accessory ${name}" 60 redis_ready "$container" ;;
        generic) wait_until "accessory ${name}" 60 answers_tcp "$container" "$port" ;;
      esac
      ;;
  esac
  log "restored ${name} from ${file##*/}"
}

# The keys of a bucket, one per line, every page of the listing. Keys come URL-encoded when the
# server honours encoding-type=url (MinIO, S3), else XML-escaped (numeric entities included); a
# key with a newline fails it (one line per key could not say where it ends).
bucket_keys() {
  local container="$1" port="$2" bucket="$3" token="" page url
  url="$(s3_url "$container" "$port" "$bucket")"
  while :; do
    # Query parameters in alphabetical order: curl signs them as written, servers sort them.
    page="$(s3_curl "$container" "${url}?${token:+continuation-token=$(urlencode_key "$token" | sed 's|/|%2F|g')&}encoding-type=url&list-type=2&max-keys=1000")" || return 1
    perl -0777 -ne '
      sub xml { my $t = shift; $t =~ s/&#x([0-9a-fA-F]+);/chr(hex($1))/ge; $t =~ s/&#([0-9]+);/chr($1)/ge;
        $t =~ s/&lt;/</g; $t =~ s/&gt;/>/g; $t =~ s/&quot;/"/g; $t =~ s/&apos;/\x27/g; $t =~ s/&amp;/&/g; return $t }
      my $url = m{<EncodingType>url</EncodingType>};
      while (m{<Key>([^<]*)</Key>}g) { my $k = xml($1); if ($url) { $k =~ s/\+/ /g; $k =~ s/%([0-9a-fA-F]{2})/chr(hex($1))/ge }
        die "a key with a newline cannot be listed one key per line\n" if $k =~ /[\r\n]/; print "$k\n" }' <<<"$page" || return 1
    grep -q '<IsTruncated>true</IsTruncated>' <<<"$page" || break
    token="$(perl -ne 'print $1 if m{<NextContinuationToken>([^<]*)</NextContinuationToken>}' <<<"$page" | sed -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&quot;/"/g' -e 's/&amp;/\&/g')"
    [[ -n "$token" ]] || return 1
  done
}
