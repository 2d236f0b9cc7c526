#!/usr/bin/env bash
# wp-make-pot.sh - regenerates igny8-wp-plugin/languages/igny8.pot from the plugin's PHP files
# (GNU xgettext, no wp-cli needed). The plugin's I18nTest fails when a string is missing from it.
set -euo pipefail
cd "$(dirname "$0")/../igny8-wp-plugin"
command -v xgettext >/dev/null || { echo "xgettext missing: apt-get install gettext" >&2; exit 1; }
mapfile -t files < <(find . -name '*.php' -not -path './tests/*' | sort)
xgettext --language=PHP --from-code=UTF-8 --no-wrap --sort-by-file \
  --keyword=__ --keyword=_e --keyword=esc_html__ --keyword=esc_html_e --keyword=esc_attr__ --keyword=esc_attr_e \
  --keyword=_n:1,2 --keyword=_x:1,2c --add-comments=translators: \
  --package-name=igny8 --package-version="$(sed -n 's/^ \* Version: *//p' igny8-wp-plugin.php)" \
  --msgid-bugs-address=https://app.igny8.com/ -o languages/igny8.pot "${files[@]}"
sed -i 's/charset=CHARSET/charset=UTF-8/' languages/igny8.pot
echo "wrote igny8-wp-plugin/languages/igny8.pot ($(grep -c '^msgid "' languages/igny8.pot) strings)"
