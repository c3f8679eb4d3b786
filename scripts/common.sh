# Shared by the make targets: find Odoo, bring PostgreSQL up, write the Odoo configuration.
# Sourced, not run. Everything it creates lives under .build/ (configuration, filestore, logs).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
BUILD="$ROOT/.build"
mkdir -p "$BUILD"

die() { echo "error: $*" >&2; exit 1; }

require_odoo() {
    "$PYTHON" - <<'PY' || exit 1
import sys
try:
    import odoo.release
except ImportError:
    sys.exit("error: Odoo 18.0 is not installed for %s: install Odoo 18.0 Community into this interpreter "
             "(its requirements, then `pip install -e <odoo source>`); see README.md, Prerequisites." % sys.executable)
if odoo.release.version_info[0] != 18:
    sys.exit("error: Odoo %s is installed for %s; outbound_campaign needs Odoo 18.0 Community."
             % (odoo.release.version, sys.executable))
PY
}

# The project's own Python dependencies (runtime and test); quick and offline once satisfied.
install_python_deps() {
    "$PYTHON" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -r "$ROOT/requirements.txt" \
        -r "$ROOT/requirements-test.txt" || die "could not install the Python requirements"
}

as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -n -u postgres "$@"; fi
}

# Start the local Debian cluster if it is down and give the OS user a role (Odoo refuses `postgres`).
postgres_up() {
    command -v pg_lsclusters >/dev/null || die "PostgreSQL is not installed (Debian: apt-get install postgresql)"
    local cluster
    cluster=$(pg_lsclusters --no-header | awk 'NR == 1 {print $1 " " $2}')
    [ -n "$cluster" ] || die "no PostgreSQL cluster exists (Debian: pg_createcluster 15 main)"
    if ! pg_lsclusters --no-header | awk 'NR == 1 {print $4}' | grep -q online; then
        # shellcheck disable=SC2086
        pg_ctlcluster $cluster start || die "could not start PostgreSQL cluster $cluster"
    fi
    local user
    user=$(id -un)
    [ "$user" != postgres ] || die "run as another OS user than postgres: Odoo refuses that role"
    for _ in $(seq 30); do as_postgres psql -qAtc "SELECT 1" >/dev/null 2>&1 && break; sleep 1; done
    if [ "$(as_postgres psql -qAtc "SELECT 1 FROM pg_roles WHERE rolname = '$user'")" != 1 ]; then
        as_postgres createuser --createdb --superuser "$user" || die "could not create PostgreSQL role $user"
    fi
}

# The browser tests drive Debian's chromium (headless); install it when it is missing.
require_chromium() {
    command -v chromium >/dev/null && return
    echo "== installing chromium for the browser tests"
    local apt=(apt-get)
    [ "$(id -u)" = 0 ] || apt=(sudo -n apt-get)
    { "${apt[@]}" update -qq && DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq chromium; } >/dev/null \
        || die "chromium is needed by the browser tests: install Debian's chromium package"
}

# The real-PBX suite (tests/asterisk) runs when an Asterisk is found ($ASTERISK, shared/asterisk-22
# above the repository, PATH: realpbx/finder.py); it plays Debian's sounds and music on hold,
# installed here when missing. With no Asterisk, one line says the suite is skipped and why.
require_asterisk_sounds() {
    local found
    found=$(cd "$ROOT" && "$PYTHON" -c "from realpbx import find_asterisk; f = find_asterisk(); print(f.path or f.reason)")
    if [ "${found#/}" = "$found" ]; then
        echo "== $found"
        return
    fi
    echo "== real-PBX suite with $found"
    [ -d /usr/share/asterisk/sounds/en ] && [ -d /usr/share/asterisk/moh ] && return
    echo "== installing Asterisk sounds for the real-PBX suite"
    local apt=(apt-get)
    [ "$(id -u)" = 0 ] || apt=(sudo -n apt-get)
    { "${apt[@]}" update -qq && DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq \
        asterisk-core-sounds-en-gsm asterisk-moh-opsound-gsm; } >/dev/null \
        || die "the real-PBX suite needs Debian's asterisk-core-sounds-en-gsm and asterisk-moh-opsound-gsm"
}

# The browser phone's SIP library comes from npm (package.json, pinned by package-lock.json).
require_node() {
    command -v node >/dev/null && command -v npm >/dev/null && return
    die "node and npm are needed to build the browser phone's SIP library (JsSIP, from package.json): \
install Node.js 18 or later (Debian: apt-get install nodejs npm), then run the command again"
}

# build_assets: JsSIP bundled by esbuild into the addon's static files (never committed).
JSSIP_BUNDLE="$ROOT/outbound_campaign/static/lib/jssip/jssip.js"
build_assets() {
    (cd "$ROOT" && npm ci --silent --no-audit --no-fund >/dev/null) || die "npm ci failed (see above)"
    mkdir -p "$(dirname "$JSSIP_BUNDLE")"
    "$ROOT/node_modules/.bin/esbuild" "$ROOT/node_modules/jssip/lib/JsSIP.js" --bundle --minify \
        --format=iife --global-name=JsSIP --platform=browser --log-level=warning \
        --outfile="$JSSIP_BUNDLE" || die "could not bundle JsSIP"
}

# Odoo's own addons (a source checkout keeps them beside the package, a wheel inside it) + ours.
odoo_addons_path() {
    "$PYTHON" - "$ROOT" <<'PY'
import os, sys, odoo
package = os.path.dirname(odoo.__file__)
paths = [p for p in (os.path.join(os.path.dirname(package), "addons"), os.path.join(package, "addons"))
         if os.path.isfile(os.path.join(p, "web", "__manifest__.py"))]
print(",".join(paths + [sys.argv[1]]))
PY
}

# throwaway_database PREFIX [odoo install options...]: sets DB and CONF, installs the addon into a
# new database (failing on any WARNING or ERROR it logs), and drops it all when the script exits.
throwaway_database() {
    local prefix=$1
    shift
    DB="${prefix}_$$"
    CONF="$BUILD/$prefix-$$.conf"
    INSTALL_LOG="$BUILD/$prefix-$$-install.log"
    write_odoo_conf "$CONF" 0
    THROWAWAY+=("$DB" "$BUILD/data/filestore/$DB" "$CONF" "$INSTALL_LOG")
    trap drop_throwaway_databases EXIT
    echo "== installing outbound_campaign into $DB $*"
    "$PYTHON" -m odoo -c "$CONF" -d "$DB" -i outbound_campaign "$@" --stop-after-init --no-http \
        --log-level=info --logfile="$INSTALL_LOG" || { tail -50 "$INSTALL_LOG"; die "installation failed"; }
    if grep -E "^[0-9-]+ [0-9:,]+ [0-9]+ (WARNING|ERROR|CRITICAL) " "$INSTALL_LOG"; then
        die "installation logged the warnings or errors above"
    fi
}

# Every database throwaway_database made in this script (make test makes two), each followed by
# its filestore, configuration and log.
THROWAWAY=()
drop_throwaway_databases() {
    local i
    for ((i = 0; i < ${#THROWAWAY[@]}; i += 4)); do
        dropdb --if-exists "${THROWAWAY[i]}" >/dev/null 2>&1 || true
        rm -rf "${THROWAWAY[@]:i+1:3}"
    done
}

# write_odoo_conf FILE [http_port]
write_odoo_conf() {
    cat > "$1" <<CONF
[options]
addons_path = $(odoo_addons_path)
data_dir = $BUILD/data
db_host = False
db_port = False
db_user = $(id -un)
db_password = False
list_db = True
http_port = ${2:-8069}
http_interface = 127.0.0.1
CONF
}
