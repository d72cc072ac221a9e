{% autoescape off %}#!/bin/sh
# Streamsite CDN edge "{{ name }}": fetch its lists from the origin, check them, and reload nginx
# when they changed. Rendered by `manage.py cdn_nginx_config --lists-url`; run it every few
# minutes (cron or a systemd timer) as the user that may signal nginx.
# Exit status: 0 unchanged (as nginx last took them) or reloaded; 2 the origin did not answer 200 (nothing changed);
# 3 a file was refused, a line not an entry of its list (nothing changed); 4 nginx refused the
# new files or did not reload (the old ones are back in place; the next run tries again).
set -u
url='{{ lists_url }}'
nginx_cmd() { nginx -p '{{ prefix }}' -c '{{ conf }}' "$@"; }
stage=$(mktemp -d '{{ prefix }}/.lists-XXXXXX') || exit 1
trap 'rm -rf "$stage"' EXIT
# The files as nginx last took them (tested and reloaded): what a fetched file is compared
# with, so a run that dies after putting files in place leaves them to the next run to test
# and reload, not to find unchanged.
applied='{{ prefix }}/.applied-lists'
mkdir -p "$applied" || exit 1
changed=''

# fetch <file on the origin> <file nginx reads> <pattern every line must match> <lines: any|one>
fetch() {
    code=$(curl -sS --max-time 30 -o "$stage/$1" -w '%{http_code}' "$url$1") || {
        echo "$1: the origin did not answer" >&2
        exit 2
    }
    if [ "$code" != 200 ]; then
        echo "$1: the origin answered $code" >&2
        exit 2
    fi
    if grep -Evq "$3" "$stage/$1"; then
        echo "$1: refused, a line is not an entry of this list" >&2
        exit 3
    fi
    if [ "$4" = one ] && [ "$(grep -c '' "$stage/$1")" != 1 ]; then
        echo "$1: refused, not one line" >&2
        exit 3
    fi
    cmp -s "$stage/$1" "$applied/$1" || changed="$changed $1"
}

# put <file on the origin> <file nginx reads>: the new file in place, the one nginx took last
# kept (or, before any, the one in place)
put() {
    case "$changed " in *" $1 "*) ;; *) return 0 ;; esac
    cp "$applied/$1" "$stage/$1.old" 2>/dev/null || cp -p "$2" "$stage/$1.old" 2>/dev/null ||
        : > "$stage/$1.old"
    cp "$stage/$1" "$2.new" && mv -f "$2.new" "$2"
}

# took <file on the origin>: nginx reloaded with it
took() {
    case "$changed " in *" $1 "*) ;; *) return 0 ;; esac
    cp "$stage/$1" "$applied/$1.new" && mv -f "$applied/$1.new" "$applied/$1"
}

# back <file on the origin> <file nginx reads>: the old file in place again
back() {
    case "$changed " in *" $1 "*) ;; *) return 0 ;; esac
    cp "$stage/$1.old" "$2.new" && mv -f "$2.new" "$2"
}

{% for remote, local, pattern, lines in files %}fetch '{{ remote }}' '{{ local }}' '{{ pattern }}' {{ lines }}
{% endfor %}
if [ -z "$changed" ]; then
    echo "unchanged"
    exit 0
fi
{% for remote, local, pattern, lines in files %}put '{{ remote }}' '{{ local }}'
{% endfor %}if nginx_cmd -t -q 2> "$stage/test"; then
    if nginx_cmd -s reload 2> "$stage/test"; then
{% for remote, local, pattern, lines in files %}        took '{{ remote }}'
{% endfor %}        echo "reloaded:$changed"
        exit 0
    fi
    # Not reloaded (nginx not running, or not ours to signal): the old files go back, so the
    # next run finds the lists changed and tries again.
    why="nginx did not reload, the old lists are back:"
else
    why="nginx refused the new lists, the old ones are back:"
fi
{% for remote, local, pattern, lines in files %}back '{{ remote }}' '{{ local }}'
{% endfor %}echo "$why" >&2
cat "$stage/test" >&2
exit 4
{% endautoescape %}
