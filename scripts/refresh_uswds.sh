#!/usr/bin/env bash
# Refresh the vendored U.S. Web Design System (public domain) from its npm package:
# the compiled CSS and JS, the fonts, and the images the CSS refers to.
#   scripts/refresh_uswds.sh [VERSION]     (default: the version recorded in VERSION)
set -euo pipefail
cd "$(dirname "$0")/.."
dest=app/static/uswds
version="${1:-$(cat "$dest/VERSION" 2>/dev/null || echo 3.14.0)}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack "@uswds/uswds@$version" --silent >/dev/null && tar xzf ./*.tgz)
dist="$work/package/dist"
rm -rf "$dest"
mkdir -p "$dest/css" "$dest/js" "$dest/img"
cp "$dist/css/uswds.min.css" "$dest/css/"
cp "$dist/js/uswds.min.js" "$dist/js/uswds-init.min.js" "$dest/js/"
# Only the font files the stylesheet loads (WOFF2).
grep -o 'fonts/[^)"'"'"']*' "$dest/css/uswds.min.css" | sort -u | while read -r font; do
  mkdir -p "$dest/$(dirname "$font")"
  cp "$dist/$font" "$dest/$font"
done
# Only the images the stylesheet uses, plus the banner's flag and icons.
grep -o 'url([^)]*img/[^)]*)' "$dest/css/uswds.min.css" | sed -E 's/url\(["'"'"']?\.\.\/img\/([^"'"'"')]*)["'"'"']?\)/\1/' \
  | sort -u | while read -r image; do
    mkdir -p "$dest/img/$(dirname "$image")"
    cp "$dist/img/$image" "$dest/img/$image" 2>/dev/null || true
  done
for image in us_flag_small.png icon-dot-gov.svg icon-https.svg; do cp "$dist/img/$image" "$dest/img/"; done
mkdir -p "$dest/img/usa-icons" && cp "$dist/img/sprite.svg" "$dest/img/" 2>/dev/null || true
echo "$version" > "$dest/VERSION"
echo "USWDS $version vendored into $dest ($(du -sh "$dest" | cut -f1))"
