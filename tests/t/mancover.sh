# mancover.sh - does a man page document what a program knows? (sourced)
#
#   man_tags PAGE              SECTION<TAB>SUBSECTION<TAB>TAG per tagged
#                              paragraph (.TP) of the rendered page
#   ctl_commands HELP          "CMD" or "CMD SUB" per command in spoolctl
#                              --help output (its command table)
#   ctl_options HELP           every option named in that output
#   conf_keys DUMP             "[SECTION]<TAB>KEY" per key of a `spoold -T`
#                              dump ([peer x] becomes [peer NAME],
#                              [workers.x] [workers.KIND])
#   daemon_options USAGE       every option in spoold's usage line
#   missing_commands PAGE LIST  items of LIST with no tag under COMMANDS
#   missing_words PAGE LIST     items of LIST not in the page's text
#   missing_keys PAGE LIST      keys with no "KEY = ..." tag under their
#                               section's heading in SECTIONS AND KEYS (a
#                               heading may name several: "[a], [b]")
#   missing_options PAGE LIST   options with no tag under OPTIONS
# The missing_* functions print what is missing, one a line.

# The page as text, wide enough that no tag wraps, without overstrikes.
man_text() {
	groff -man -Tascii -P-cbou -rLL=250n "$1" 2> /dev/null
}

# A tag is a line at indent 7 whose paragraph body is at indent 14: on
# the next line, or on the same one when the tag is shorter than 7.
man_tags() {
	man_text "$1" | awk '
	function flush_prev(next_line,    t) {
		if (prev == "") return
		if (prev ~ /^       [^ ]/) {
			if (next_line ~ /^              [^ ]/) {
				t = substr(prev, 8)
				sub(/ +$/, "", t)
				print sect "\t" sub_ "\t" t
			} else if (length(prev) > 14 && substr(prev, 14, 1) == " " &&
			    substr(prev, 15, 1) != " " &&
			    substr(prev, 8, 7) ~ /^[^ ]+ +$/) {
				t = substr(prev, 8, 7)
				sub(/ +$/, "", t)
				print sect "\t" sub_ "\t" t
			}
		}
	}
	{
		flush_prev($0)
		prev = $0
		if ($0 ~ /^[A-Z]/) { sect = $0; sub_ = "" }
		else if ($0 ~ /^   [^ ]/) { sub_ = substr($0, 4) }
	}
	END { flush_prev("") }'
}

ctl_commands() {
	sed -n '/^commands:/,$p' "$1" | sed -n 's/^  //p' | while read -r line; do
		cmd=${line%% *}
		printf '%s\n' "$line" | tr '|' '\n' | sed 's/^ *//' |
		while read -r cmd_ sub_ _; do
			[ "$cmd_" = "$cmd" ] || continue
			case $sub_ in
			[a-z]*) echo "$cmd $sub_" ;;
			*) echo "$cmd" ;;
			esac
		done
	done | sort -u
}

ctl_options() {
	grep -Eo '(^|[][ |])--?[a-zA-Z][a-zA-Z-]*' "$1" | sed 's/^[][ |]//' | sort -u
}

conf_keys() {
	awk '
	/^\[/ { s = $0; if (s ~ / /) sub(/ .*/, " NAME]", s)
		else if (s ~ /^\[workers\./) s = "[workers.KIND]"; next }
	/^[a-z_]+ = / { print s "\t" $1; next }
	/^# [a-z_]+ is not set$/ { print s "\t" $2 }' "$1" | sort -u
}

daemon_options() {
	grep -Eo '(^|[][ |])--?[a-zA-Z][a-zA-Z-]*' "$1" | sed 's/^[][ |]//' | sort -u
}

missing_commands() {
	man_tags "$1" | awk -F '\t' '$1 == "COMMANDS" { print $3 }' > "$T/.tags"
	while read -r item; do
		grep -Eq "^$item( |\$)" "$T/.tags" || echo "$item"
	done < "$2"
}

missing_words() {
	man_text "$1" > "$T/.text"
	while read -r item; do
		grep -Eq -- "(^|[^a-zA-Z-])$item([^a-zA-Z-]|\$)" "$T/.text" || echo "$item"
	done < "$2"
}

missing_keys() {
	man_tags "$1" | awk -F '\t' '$1 == "SECTIONS AND KEYS" { print $2 "\t" $3 }' > "$T/.tags"
	tab=$(printf '\t')
	while IFS=$tab read -r sect key; do
		awk -F '\t' -v s="$sect" -v k="$key" '
		    {
			n = split($1, h, /, /); in_s = 0
			for (i = 1; i <= n; i++) if (h[i] == s) in_s = 1
		    }
		    in_s && ($2 == k || index($2, k " = ") == 1) { f = 1 }
		    END { exit !f }' "$T/.tags" || echo "$sect $key"
	done < "$2"
}

missing_options() {
	man_tags "$1" | awk -F '\t' '$1 == "OPTIONS" { print $3 }' > "$T/.tags"
	while read -r item; do
		grep -Eq -- "(^|[ ,])$item([ ,]|\$)" "$T/.tags" || echo "$item"
	done < "$2"
}
