#!/usr/bin/env bash
# A device call sends the whole checkout (tracked files and untracked files git does not ignore) plus the carried
# paths, 64 MiB in all; the bundled weights alone are 35 MB. For a call that only needs a pack and its data, `hide`
# takes every tracked file except those under KEEP (default: tools/device and results/vision/fmnist-card) out of the
# index and ignores it through .git/info/exclude, so it stays on disk but does not travel; `restore` puts the index
# back. Run `hide` with nothing staged (restore resets the hidden paths' index entries to HEAD), and always `restore`
# right after the call; never commit in between.
#   bash tools/device/carry-slim.sh hide|restore|status
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
gitdir="$(git rev-parse --git-dir)"
list="$gitdir/carry-slim.list"
exclude="$gitdir/info/exclude"
keep="${KEEP:-tools/device/ results/vision/fmnist-card/}"
case "${1:-}" in
  hide)
    [ -f "$list" ] && { echo "carry-slim: already hidden ($list); run restore first" >&2; exit 1; }
    git diff --cached --quiet || { echo "carry-slim: the index has staged changes; commit or unstage them first" >&2; exit 1; }
    pattern="^($(echo $keep | sed 's/ /|/g'))"
    git ls-files | grep -Ev "$pattern" > "$list.tmp"
    mv "$list.tmp" "$list"
    { echo "# carry-slim begin"; sed 's|^|/|' "$list"; echo "# carry-slim end"; } >> "$exclude"
    git rm -q --cached --pathspec-from-file="$list"
    echo "carry-slim: $(wc -l < "$list") tracked files hidden; $(git ls-files | wc -l) travel"
    ;;
  restore)
    [ -f "$list" ] || { echo "carry-slim: nothing hidden"; exit 0; }
    git reset -q HEAD --pathspec-from-file="$list"
    sed -i '/^# carry-slim begin$/,/^# carry-slim end$/d' "$exclude"
    rm "$list"
    echo "carry-slim: restored; $(git ls-files | wc -l) tracked files"
    ;;
  status) [ -f "$list" ] && echo "hidden: $(wc -l < "$list") files" || echo "nothing hidden" ;;
  *) echo "usage: bash tools/device/carry-slim.sh hide|restore|status" >&2; exit 2 ;;
esac
