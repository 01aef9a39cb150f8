#!/bin/sh
# A node's life before any daemon: init, key show, trust, config check.
. "$(dirname "$0")/lib.sh"
plan 22

ok "init creates a node" "$SPOOLCTL" init --root "$T/low" --name low --peer high
for d in keys/trusted in/requests in/files in/raster in/vector out import \
    results delivered status rejected quarantine archive/sent \
    archive/received store/tmp; do
	[ -d "$T/low/$d" ] || missing="${missing:-} $d"
done
is "${missing:-}" "" "init lays out DESIGN section 3"
is "$(stat -c %a "$T/low/keys/node.key")" 600 "secret key is mode 0600"
fails 1 "init refuses an initialised root" "$SPOOLCTL" init --root "$T/low" --name low
like "$(cat "$T/.err")" "^spoolctl: init: .*already initialised" "with a one-line reason"
fails 2 "init without --name is a usage error" "$SPOOLCTL" init --root "$T/x"
fails 2 "init refuses a bad node name" "$SPOOLCTL" init --root "$T/x" --name Bad-Name

ok "key show" "$SPOOLCTL" --root "$T/low" key show
cp "$T/.out" "$T/low.pub"
like "$(head -n 1 "$T/low.pub")" "^untrusted comment: minisign public key [0-9A-F]+$" "key show prints a minisign public key"
# the printed key verifies what the node's secret key signs, with minisign
echo hello > "$T/f"
ok "minisign signs with the node's secret key" minisign -S -s "$T/low/keys/node.key" -m "$T/f"
ok "minisign verifies with the key from key show" minisign -Vm "$T/f" -p "$T/low.pub"

node high low
"$SPOOLCTL" --root "$T/high" key show > "$T/high.pub"
ok "trust add" "$SPOOLCTL" --root "$T/low" trust add high "$T/high.pub"
ok "trust list --json" "$SPOOLCTL" --root "$T/low" trust list --json
is "$(jq -r '.trusted[0].name' "$T/.out")" high "trust list names the peer"
fails 1 "a key is trusted under one name only" "$SPOOLCTL" --root "$T/low" trust add other "$T/high.pub"
like "$(cat "$T/.err")" "already trusted as 'high'" "and says under which"
minisign -G -W -p "$T/m.pub" -s "$T/m.key" > /dev/null
ok "a key made by minisign -G can be trusted" "$SPOOLCTL" --root "$T/low" trust add mini "$T/m.pub"
ok "trust remove" "$SPOOLCTL" --root "$T/low" trust remove mini
fails 1 "removing an unknown peer fails" "$SPOOLCTL" --root "$T/low" trust remove mini

ok "config check accepts what init wrote" "$SPOOLCTL" --root "$T/low" config check
printf '[node]\nname = low\nbogus = 1\n[batch]\nmax_bytes = lots\n' > "$T/bad.conf"
fails 1 "config check refuses a bad file" "$SPOOLCTL" config check "$T/bad.conf"
n=$(grep -c "bad.conf:[0-9]*:" "$T/.err")
is "$n" 2 "and lists every problem with file:line"
