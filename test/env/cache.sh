#!/usr/bin/env bash
# Sourced by the installers that keep a build in the machine-level cache (test/env/salt/install.sh,
# test/env/node-lts.sh, scripts/image/build-debian.sh): a build is complete when its stamp file
# holds the expected text, and is made under a lock so concurrent runs build it once.
#
#   dc_cache_done RESULT FILE STAMP_FILE STAMP_TEXT
#       when FILE exists and STAMP_FILE holds STAMP_TEXT: prints RESULT and exits the script;
#   dc_cache_lock LOCK_FILE
#       takes an exclusive lock on LOCK_FILE (file descriptor 9) until the script ends.
# A script checks, locks, and checks again (another run may have finished the build meanwhile).

dc_cache_done() { # result file stamp_file stamp_text
    if [ -e "$2" ] && [ "$(cat "$3" 2>/dev/null)" = "$4" ]; then
        printf '%s\n' "$1"
        exit 0
    fi
}

dc_cache_lock() { # lock_file
    mkdir -p "$(dirname "$1")"
    exec 9>"$1"
    flock 9
}
