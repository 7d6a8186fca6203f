# shellcheck shell=bash
# Brings up what vmstui's tests talk to, on a Debian 12 machine, as root:
#   - RabbitMQ: AMQP 127.0.0.1:5672 (guest/guest), STOMP 127.0.0.1:61613,
#     Web-STOMP 127.0.0.1:15674 (path /ws), via rabbitmq_stomp + rabbitmq_web_stomp
#   - Mosquitto: MQTT 127.0.0.1:1883
#   - tmux, curl and openssl (a real terminal, a real HTTP peer, throwaway certificate authorities)
#   - chromium (a real browser, headless: the shift report's HTML page is opened in it)
# Missing packages come from Debian's archive (one `apt-get update` first, only if
# something is missing). Every step is bounded by `timeout`; a broker that does not
# come up in time is reported with a clear "BROKER DOWN" line and the run goes on
# (CI sets VMSTUI_REQUIRE_BROKER=1, so the tests that need it then fail).
# Idempotent: when everything is already up, it only probes ports (well under a second).
#
# Use: `source .ci/brokers.sh; ci_ensure_brokers` (what .ci/run does), or run it
# directly: `bash .ci/brokers.sh`. Exit/return status: 0 if all came up, 1 otherwise.

: "${CI_BROKER_WAIT:=90}"       # seconds a broker may take to accept connections
: "${CI_APT_UPDATE_TIMEOUT:=300}"
: "${CI_APT_INSTALL_TIMEOUT:=900}"

_ci_apt_updated=0
CI_BROKER_PROBLEMS=()

ci_log() { printf '[ci %(%H:%M:%S)T] %s\n' -1 "$*"; }

# True if something accepts TCP connections on 127.0.0.1:$1 (bash /dev/tcp, no nc).
ci_port_open() {
    timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

ci_ports_open() {
    local p
    for p in "$@"; do ci_port_open "$p" || return 1; done
    return 0
}

# ci_wait_ports DEADLINE PORT... : poll until every port accepts, or $SECONDS >= DEADLINE.
ci_wait_ports() {
    local deadline=$1; shift
    local p missing
    while :; do
        missing=()
        for p in "$@"; do ci_port_open "$p" || missing+=("$p"); done
        ((${#missing[@]} == 0)) && return 0
        if ((SECONDS >= deadline)); then
            ci_log "still not listening: ${missing[*]}"
            return 1
        fi
        sleep 1
    done
}

ci_pkg_installed() {
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]
}

# ci_apt_install PKG... : install the ones that are missing; `apt-get update` once per run.
ci_apt_install() {
    local missing=() p rc
    for p in "$@"; do ci_pkg_installed "$p" || missing+=("$p"); done
    ((${#missing[@]} == 0)) && return 0
    export DEBIAN_FRONTEND=noninteractive
    if ((_ci_apt_updated == 0)); then
        ci_log "apt-get update (needed for: ${missing[*]})"
        if timeout "$CI_APT_UPDATE_TIMEOUT" apt-get -q update -o DPkg::Lock::Timeout=120 </dev/null; then
            _ci_apt_updated=1
        else
            ci_log "apt-get update failed or timed out (exit $?); trying the install anyway"
            _ci_apt_updated=1
        fi
    fi
    ci_log "apt-get install ${missing[*]}"
    timeout "$CI_APT_INSTALL_TIMEOUT" apt-get -q -y install --no-install-recommends \
        -o DPkg::Lock::Timeout=120 \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}" </dev/null
    rc=$?
    if ((rc != 0)); then
        ci_log "apt-get install ${missing[*]} failed (exit $rc)"
        return 1
    fi
    return 0
}

ci_rabbit_node_up() {
    timeout 30 rabbitmqctl -q ping >/dev/null 2>&1 </dev/null
}

ci_rabbit_enable_plugins() { # $1: "" or --offline
    # shellcheck disable=SC2086
    timeout 120 rabbitmq-plugins enable $1 rabbitmq_stomp rabbitmq_web_stomp </dev/null
}

ci_ensure_rabbitmq() {
    local ports=(5672 61613 15674) deadline rc
    if ci_ports_open "${ports[@]}"; then
        ci_log "RabbitMQ: AMQP 5672, STOMP 61613 and Web-STOMP 15674 already accept connections"
        return 0
    fi
    if ! ci_pkg_installed rabbitmq-server || ! command -v rabbitmq-plugins >/dev/null; then
        ci_apt_install rabbitmq-server || return 1
    fi
    deadline=$((SECONDS + CI_BROKER_WAIT))

    if ci_port_open 5672 || ci_rabbit_node_up; then
        # The node is running (or booting): let it finish booting, then enable online.
        if ! ci_port_open 5672; then
            ci_log "RabbitMQ: node is booting, waiting for AMQP 5672"
            ci_wait_ports "$deadline" 5672
        fi
        ci_log "RabbitMQ: enabling rabbitmq_stomp and rabbitmq_web_stomp on the running node"
        if ! ci_rabbit_enable_plugins ""; then
            ci_log "RabbitMQ: online enable failed; waiting for the node, then one more try"
            timeout $((deadline > SECONDS ? deadline - SECONDS : 1)) \
                rabbitmqctl -q await_startup </dev/null >/dev/null 2>&1
            ci_rabbit_enable_plugins "" || ci_log "RabbitMQ: enabling the plugins failed again"
        fi
    else
        ci_log "RabbitMQ: node not running; enabling plugins offline, then starting it"
        ci_rabbit_enable_plugins --offline || ci_log "RabbitMQ: offline plugin enable failed"
        ci_log "RabbitMQ: rabbitmq-server -detached"
        timeout 60 rabbitmq-server -detached </dev/null
        rc=$?
        if ((rc != 0)); then
            ci_log "RabbitMQ: rabbitmq-server -detached exited $rc; trying the service"
            timeout $((deadline > SECONDS ? deadline - SECONDS : 1)) \
                service rabbitmq-server start </dev/null
        fi
    fi

    ci_log "RabbitMQ: waiting (until ${CI_BROKER_WAIT}s after start) for ports ${ports[*]}"
    if ci_wait_ports "$deadline" "${ports[@]}"; then
        ci_log "RabbitMQ: up (AMQP 5672, STOMP 61613, Web-STOMP 15674/ws)"
        return 0
    fi
    return 1
}

ci_ensure_mosquitto() {
    local deadline
    if ci_port_open 1883; then
        ci_log "Mosquitto: MQTT 1883 already accepts connections"
        return 0
    fi
    if ! ci_pkg_installed mosquitto || ! [[ -x /usr/sbin/mosquitto ]]; then
        ci_apt_install mosquitto || return 1
    fi
    deadline=$((SECONDS + CI_BROKER_WAIT))
    # The Debian config writes its pid file here; /run may be fresh.
    if [[ ! -d /run/mosquitto ]]; then
        mkdir -p /run/mosquitto && chown mosquitto: /run/mosquitto 2>/dev/null
    fi
    ci_log "Mosquitto: mosquitto -d -c /etc/mosquitto/mosquitto.conf"
    timeout 30 /usr/sbin/mosquitto -d -c /etc/mosquitto/mosquitto.conf </dev/null \
        || ci_log "Mosquitto: start command exited $?"
    if ci_wait_ports "$deadline" 1883; then
        ci_log "Mosquitto: up (MQTT 1883)"
        return 0
    fi
    return 1
}

# Commands the tests drive: tmux (a real terminal for the console), curl (a real HTTP peer),
# openssl (throwaway certificate authorities for the TLS tests), chromium (the report's HTML
# page in a real browser). Debian names the packages as the commands; the install is bounded
# by CI_APT_INSTALL_TIMEOUT like every other.
ci_ensure_commands() {
    local name missing=()
    for name in "$@"; do
        command -v "$name" >/dev/null || missing+=("$name")
    done
    if ((${#missing[@]})); then
        ci_apt_install "${missing[@]}"
    fi
    for name in "$@"; do
        command -v "$name" >/dev/null || return 1
    done
    ci_log "tools: $* present"
}

# Brings everything up; never fails hard. Sets CI_BROKER_PROBLEMS; returns 1 if any.
ci_ensure_brokers() {
    local t0=$SECONDS
    CI_BROKER_PROBLEMS=()
    ci_ensure_commands tmux curl openssl chromium || {
        ci_log "TOOL MISSING: tmux, curl, openssl or chromium could not be installed; tests that drive them will fail"
        CI_BROKER_PROBLEMS+=("tools")
    }
    ci_ensure_rabbitmq || {
        ci_log "BROKER DOWN: RabbitMQ (5672/61613/15674) did not come up within ${CI_BROKER_WAIT}s; continuing, broker tests will fail"
        ci_log "  (see /var/log/rabbitmq/ for the server's own logs)"
        CI_BROKER_PROBLEMS+=("rabbitmq")
    }
    ci_ensure_mosquitto || {
        ci_log "BROKER DOWN: Mosquitto (1883) did not come up within ${CI_BROKER_WAIT}s; continuing, broker tests will fail"
        CI_BROKER_PROBLEMS+=("mosquitto")
    }
    ci_log "brokers step took $((SECONDS - t0))s"
    ((${#CI_BROKER_PROBLEMS[@]} == 0))
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    ci_ensure_brokers
    exit $?
fi
