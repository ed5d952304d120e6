# shellcheck shell=bash
# setup/lib/maildev.sh: maildev, the SMTP mail catcher with an HTTP API, installed with npm
# (ensure_maildev) and run in the background (start_maildev).
#
# Sourced by setup/lib.sh (source that, not this file); it only defines functions.

# --- maildev (SMTP mail catcher with an HTTP API) ---------------------------------------------

# ensure_maildev: finds maildev (MAILDEV_BIN, else MAILDEV_HOME, default
# ${XDG_CACHE_HOME:-~/.cache}/cdc-platform/maildev, a cache outside the runtime dirs so that
# --purge keeps it) or installs it there with `npm install maildev@3` (about 30 s; installs
# Node.js and npm with apt-get when missing); exports MAILDEV_BIN.
ensure_maildev() {
    if [[ -n ${MAILDEV_BIN:-} && -x $MAILDEV_BIN ]]; then
        export MAILDEV_BIN
        return 0
    fi
    local dir version=${MAILDEV_VERSION:-3}
    dir=$(abspath "${MAILDEV_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/cdc-platform/maildev}")
    if [[ ! -x $dir/node_modules/.bin/maildev ]]; then
        ensure_command node nodejs
        ensure_command npm
        mkdir -p "$dir"
        (
            flock 9 # one install at a time
            if [[ -x $dir/node_modules/.bin/maildev ]]; then exit 0; fi
            log "installing maildev@$version (SMTP mail catcher) into $dir: npm install maildev@$version"
            # EBADENGINE warnings about the Node.js version are harmless.
            npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "maildev@$version" >&2 ||
                die "npm install maildev@$version failed"
        ) 9>"$dir/.install.lock" || die "installing maildev failed"
        [[ -x $dir/node_modules/.bin/maildev ]] || die "maildev not found in $dir after npm install"
    fi
    export MAILDEV_BIN=$dir/node_modules/.bin/maildev
    log "maildev: $MAILDEV_BIN"
}

# start_maildev SMTP_PORT WEB_PORT LOGFILE PIDFILE [MAIL_DIR]
# Runs maildev in the background: SMTP on 127.0.0.1:SMTP_PORT, web UI and API (GET /api/email)
# on 127.0.0.1:WEB_PORT. With MAIL_DIR the received mail is kept there across restarts. The
# binary is started directly (node), not through npx, so that SIGTERM reaches it. Does nothing
# when the pid file names a live process.
start_maildev() {
    local smtp_port=$1 web_port=$2 logfile pidfile mail_dir=${5:-} pid
    logfile=$(abspath "$3")
    pidfile=$(abspath "$4")
    ensure_maildev
    if pid=$(pidfile_pid "$pidfile"); then
        log "maildev already running (pid $pid)"
    else
        ensure_port_free 127.0.0.1 "$smtp_port" "maildev (SMTP)"
        ensure_port_free 127.0.0.1 "$web_port" "maildev (web API)"
        local args=(--smtp "$smtp_port" --web "$web_port" --ip 127.0.0.1 --web-ip 127.0.0.1)
        if [[ -n $mail_dir ]]; then
            mail_dir=$(abspath "$mail_dir")
            mkdir -p "$mail_dir"
            args+=(--mail-directory "$mail_dir")
        fi
        start_service maildev "$logfile" "$pidfile" -- "$MAILDEV_BIN" "${args[@]}"
        pid=$(<"$pidfile")
    fi
    # The web port opens at once, SMTP a few seconds later.
    if ! (wait_for_port 127.0.0.1 "$smtp_port" 60 "$logfile" "$pid" &&
        wait_for_http "http://127.0.0.1:$web_port/api/healthz" 30 "$logfile" "$pid"); then
        stop_pidfile "$pidfile" 5
        die "maildev did not come up (SMTP 127.0.0.1:$smtp_port, web 127.0.0.1:$web_port)"
    fi
}
