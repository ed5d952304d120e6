# shellcheck shell=bash
# setup/lib/browser.sh: what the browser tests need: Debian's Chromium (ensure_chromium) and
# playwright-core from npm, without its browser download (ensure_playwright).
#
# Sourced by setup/lib.sh (source that, not this file); it only defines functions.

# --- browser tests (Chromium driven by Playwright) --------------------------------------------

# ensure_chromium: finds Chromium for the browser tests (CHROMIUM_BIN, else Debian's
# /usr/bin/chromium) or installs Debian's `chromium` package with apt-get (a minute or two, a
# few hundred MB); exports CHROMIUM_BIN. Playwright's own browser download is never used.
ensure_chromium() {
    if [[ -n ${CHROMIUM_BIN:-} && -x $CHROMIUM_BIN ]]; then
        export CHROMIUM_BIN
        return 0
    fi
    local bin=/usr/bin/chromium
    if [[ ! -x $bin ]]; then
        log "Chromium not found at $bin; installing Debian's chromium for the browser tests (a minute or two)"
        apt_install chromium
    fi
    [[ -x $bin ]] || die "Chromium still not found at $bin after apt-get install chromium"
    export CHROMIUM_BIN=$bin
    log "Chromium: $CHROMIUM_BIN"
}

# ensure_playwright: finds playwright-core (PLAYWRIGHT_NODE_PATH, a node_modules directory) else
# installs it into PLAYWRIGHT_HOME, default ${XDG_CACHE_HOME:-~/.cache}/cdc-platform/playwright
# (a cache outside the runtime dirs, like maildev's), with `npm install playwright-core@VERSION`
# (PLAYWRIGHT_VERSION, default 1; a few seconds; no browser download, the tests drive
# CHROMIUM_BIN); exports PLAYWRIGHT_NODE_PATH. Scripts load it with
# createRequire(PLAYWRIGHT_NODE_PATH) (NODE_PATH does not reach ES module imports).
ensure_playwright() {
    if [[ -n ${PLAYWRIGHT_NODE_PATH:-} && -f $PLAYWRIGHT_NODE_PATH/playwright-core/package.json ]]; then
        export PLAYWRIGHT_NODE_PATH
        return 0
    fi
    local dir version=${PLAYWRIGHT_VERSION:-1}
    dir=$(abspath "${PLAYWRIGHT_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/cdc-platform/playwright}")
    if [[ ! -f $dir/node_modules/playwright-core/package.json ]]; then
        ensure_command node nodejs
        ensure_command npm
        mkdir -p "$dir"
        (
            flock 9 # one install at a time
            if [[ -f $dir/node_modules/playwright-core/package.json ]]; then exit 0; fi
            log "installing playwright-core@$version (browser automation, no browsers) into $dir"
            PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$dir" --no-audit --no-fund \
                --loglevel=error "playwright-core@$version" >&2 ||
                die "npm install playwright-core@$version failed"
        ) 9>"$dir/.install.lock" || die "installing playwright-core failed"
        [[ -f $dir/node_modules/playwright-core/package.json ]] ||
            die "playwright-core not found in $dir after npm install"
    fi
    export PLAYWRIGHT_NODE_PATH=$dir/node_modules
    log "playwright-core: $PLAYWRIGHT_NODE_PATH/playwright-core"
}
