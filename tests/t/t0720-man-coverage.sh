#!/bin/sh
# The man pages cannot drift from the programs: the lists come from the
# programs themselves, each from the one table it lives in:
#   every command (and subcommand) in `spoolctl --help` (its command
#     table) has its own tagged entry under COMMANDS in spoolctl(1), and
#     every option `spoolctl --help` and `spoolctl CMD --help` name (the
#     option table) appears in the page;
#   every key `spoold -T` prints (the config's key table; a config with
#     one section of each named kind, so every key shows) has a "KEY = "
#     entry under its section's heading in spoold.conf(5);
#   every option in spoold's usage has an entry under OPTIONS in spoold(8).
# Then the same checks on a page with an entry removed, and on programs
# that know one thing more, must fail: a command or key added without its
# documentation fails this test.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mancover.sh"
plan 16
MAN="$SPOOL_TOP/docs/man"

"$SPOOLCTL" --help > "$T/help"
ctl_commands "$T/help" > "$T/cmds"
cp "$T/help" "$T/allhelp"
for c in $(cut -d ' ' -f 1 "$T/cmds" | sort -u); do
	"$SPOOLCTL" "$c" --help >> "$T/allhelp"
done
ctl_options "$T/allhelp" > "$T/opts"
ok "spoolctl lists its commands ($(wc -l < "$T/cmds")) and options ($(wc -l < "$T/opts"))" \
    test "$(wc -l < "$T/cmds")" -ge 20 -a "$(wc -l < "$T/opts")" -ge 15
like "$(tr '\n' ' ' < "$T/opts")" "--output .*--version" "(--output from pack --help, --version from --help)"
is "$(missing_commands "$MAN/spoolctl.1" "$T/cmds" | tr '\n' ' ')" "" \
    "spoolctl(1) has an entry for every command"
is "$(missing_words "$MAN/spoolctl.1" "$T/opts" | tr '\n' ' ')" "" \
    "and names every option"

mkdir "$T/n"
cat > "$T/n/spoold.conf" << 'EOF'
[node]
name = a
[peer b]
[folder f]
type = transfer
[query.source q]
url = x
[workers.selftest]
EOF
ok "spoold -T prints the effective configuration" \
    sh -c "'$SPOOL_BUILD/spoold' -T -c '$T/n/spoold.conf' > '$T/dump'"
conf_keys "$T/dump" > "$T/keys"
like "$(cut -f 1 "$T/keys" | sort -u | tr '\n' ' ')" '\[node\].*\[peer NAME\].*\[query.source NAME\].*\[workers.KIND\]' \
    "every kind of section is in it ($(wc -l < "$T/keys") keys)"
is "$(missing_keys "$MAN/spoold.conf.5" "$T/keys" | tr '\n' ' ')" "" \
    "spoold.conf(5) has an entry for every key under its section"

"$SPOOL_BUILD/spoold" --help > "$T/usage" 2>&1
daemon_options "$T/usage" > "$T/dopts"
like "$(tr '\n' ' ' < "$T/dopts")" "-c" "spoold's usage names its options: $(tr '\n' ' ' < "$T/dopts")"
is "$(missing_options "$MAN/spoold.8" "$T/dopts" | tr '\n' ' ')" "" \
    "spoold(8) has an entry for every option"

# --- the checks can fail ---------------------------------------------------
# a page without an entry: drop_entry PATTERN removes the .TP paragraph
# whose tag line matches PATTERN
drop_entry() {
	awk -v pat="$1" '
	held != "" { if ($0 ~ pat) { skip = 1; held = ""; next } print held; held = "" }
	skip && /^\.(TP|SS|SH|PP)/ { skip = 0 }
	skip { next }
	/^\.TP/ { held = $0; next }
	{ print }
	END { if (held != "") print held }'
}
drop_entry '^\.B gc$' < "$MAN/spoolctl.1" > "$T/nogc.1"
drop_entry '^\.BI "settle = "' < "$MAN/spoold.conf.5" > "$T/nosettle.5"
is "$(missing_commands "$T/nogc.1" "$T/cmds" | tr '\n' ' ')" "gc " \
    "a spoolctl(1) without its 'gc' entry fails, naming gc"
is "$(missing_keys "$T/nosettle.5" "$T/keys" | tr '\n' ' ')" "[intake] settle " \
    "a spoold.conf(5) without 'settle' fails, naming it"
ok "(though that page still mentions gc: a mention is not an entry)" \
    grep -qw gc "$T/nogc.1"
# programs that know one thing more than the pages
{ cat "$T/help"; echo "  frobnicate [--wobble N]"; } > "$T/help2"
ctl_commands "$T/help2" > "$T/cmds2"
{ cat "$T/allhelp"; echo "      --wobble N   wobble"; } > "$T/allhelp2"
ctl_options "$T/allhelp2" > "$T/opts2"
is "$(missing_commands "$MAN/spoolctl.1" "$T/cmds2" | tr '\n' ' ')" "frobnicate " \
    "a new command without its entry fails"
is "$(missing_words "$MAN/spoolctl.1" "$T/opts2" | tr '\n' ' ')" "--wobble " \
    "a new option without documentation fails"
sed 's/^\[batch\]$/[batch]\nfrob_level = 3/; s/^\[folder f\]$/[folder f]\n# wobble is not set/' \
    "$T/dump" > "$T/dump2"
conf_keys "$T/dump2" > "$T/keys2"
is "$(missing_keys "$MAN/spoold.conf.5" "$T/keys2" | tr '\n' ' ')" \
    "[batch] frob_level [folder NAME] wobble " "new keys without their entries fail"
echo "usage: spoold -c FILE [-T] [--foreground] [--frob]" > "$T/usage2"
daemon_options "$T/usage2" > "$T/dopts2"
is "$(missing_options "$MAN/spoold.8" "$T/dopts2" | tr '\n' ' ')" "--frob " \
    "a new spoold option without its entry fails"
