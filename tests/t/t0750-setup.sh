#!/bin/sh
# An installation as spoold.service runs it, done by contrib/spool-setup:
# a system user, a group of users who may drop files, a node owned by the
# user, hot folders 3770.  Then spoold runs as that user (as systemd would
# start it: its uid, its groups), a member's file is taken and recorded as
# the member's, a non-member cannot drop, members cannot remove each
# other's files; running the setup again changes nothing.  Then
# contrib/spool-usb carries the batch to another node through a "stick"
# (a mounted directory), running spoolctl as the user; and the example
# configurations pass `spoolctl config check`.  Creates throwaway users
# and groups and removes them at the end.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
plan 35
SETUP="$SPOOL_TOP/contrib/spool-setup"
USB="$SPOOL_TOP/contrib/spool-usb"
export SPOOLCTL
u=spt$$ g=sptu$$ alice=spta$$ carol=sptc$$ bob=sptb$$
cleanup() {
	_stop_all
	for x in $alice $carol $bob $u; do userdel "$x" 2> /dev/null; done
	for x in $g $u; do groupdel "$x" 2> /dev/null; done
}
trap cleanup EXIT
chmod 755 "$T"
for x in $alice $carol $bob; do useradd --no-create-home "$x"; done
as() { who=$1; shift; setpriv --reuid="$who" --regid="$who" --init-groups "$@"; }

R="$T/root"
ok "spool-setup creates user, group and node" \
    sh "$SETUP" --root "$R" --user $u --group $g --name low --peer high \
    --member $alice --member=$carol
like "$(getent passwd $u)" "^$u:x:[0-9]+:[0-9]+:spool daemon:$R:/usr/sbin/nologin\$" \
    "a user with the root as home and no login shell"
ok "a system user (uid below 1000)" test "$(id -u $u)" -lt 1000
like "$(getent group $g | cut -d: -f4)" "(^|,)$u(,|\$)" "the user is in the group (it reads group-only drops)"
like "$(id -nG $alice)" "(^| )$g( |\$)" "--member adds a login to the group"
fails 1 "others are not" sh -c "id -nG $bob | grep -qw $g"
is "$(stat -c '%U:%G %a' "$R" "$R/in" "$R/in/files" "$R/in/raster" "$R/keys/node.key" | tr '\n' ' ')" \
    "$u:$u 755 $u:$g 755 $u:$g 3770 $u:$g 3770 $u:$u 600 " \
    "root the user's, hot folders USER:GROUP 3770, the key 0600"
is "$(find "$R" ! -user $u | wc -l)" 0 "everything in the node is the user's"

# spoold as the user, the way the unit starts it (User=, SupplementaryGroups=)
SPOOLD_AS="setpriv --reuid=$u --regid=$u --init-groups $SPOOLD"
$SPOOLD_AS -c "$R/spoold.conf" --foreground 2>> "$T/low.log" &
pid=$!
_pids="$_pids $pid"
ok "spoold runs as the user" wait_for ready 20 grep -q event=ready "$T/low.log"
is "$(stat -c %U /proc/$pid)" $u "(its process is the user's)"
echo "from alice" > "$T/a.txt"
ok "a member drops a file (umask 027: readable by the group only)" \
    as $alice sh -c "umask 027; cp '$T/a.txt' '$R/in/files/.a.part' && mv '$R/in/files/.a.part' '$R/in/files/a.txt'"
ok "spoold takes it" wait_for accepted 20 grep -q event=accepted "$T/low.log"
like "$(grep event=accepted "$T/low.log")" "name=a\\.txt user=$alice " "as the member's"
fails 1 "a non-member cannot drop" as $bob cp "$T/a.txt" "$R/in/files/b.txt"
as $alice sh -c "echo x > '$R/in/files/.held.part'"
fails 1 "a member cannot remove another's file (sticky)" as $carol rm -f "$R/in/files/.held.part"
ok "its owner can" as $alice rm -f "$R/in/files/.held.part"
fails 1 "a member cannot read the node's key" as $alice cat "$R/keys/node.key"
ok "flush, run as the user, asks the daemon" as $u "$SPOOLCTL" --root "$R" flush
stop_low() { kill -TERM $pid; wait $pid; }
stop_low

find "$R" -printf '%p %U %G %m\n' | sort > "$T/perm1"
ok "spool-setup again" sh "$SETUP" --root "$R" --user $u --group $g
find "$R" -printf '%p %U %G %m\n' | sort > "$T/perm2"
is "$(diff "$T/perm1" "$T/perm2")" "" "changes nothing"
echo "[folder maps]" >> "$R/spoold.conf"
echo "type = transfer" >> "$R/spoold.conf"
sh "$SETUP" --root "$R" --user $u --group $g > /dev/null
is "$(stat -c '%U:%G %a' "$R/in/maps")" "$u:$g 3770" "a [folder] added later gets its hot folder"

# the USB helper: low's batch onto a stick, as the user; then into high
"$SPOOLCTL" init --root "$T/high" --name high --peer low > /dev/null
"$SPOOLCTL" --root "$T/high" key show > "$T/high.pub"
"$SPOOLCTL" --root "$R" key show > "$T/low.pub"
as $u "$SPOOLCTL" --root "$R" trust add high "$T/high.pub" > /dev/null
"$SPOOLCTL" --root "$T/high" trust add low "$T/low.pub" > /dev/null
mkdir "$T/stick"
printf 'SPOOL_ROOT=%s\nSPOOL_USER=%s\n' "$R" $u > "$T/usb-low"
printf 'SPOOL_ROOT=%s\nSPOOL_USER=root\nSPOOL_USB_MODE=import\n' "$T/high" > "$T/usb-high"
usb() { SPOOL_USB_DEFAULTS="$1" SPOOLCTL="$SPOOLCTL" sh "$USB" --mounted "$T/stick"; }
ok "spool-usb on low: import, flush, export" usb "$T/usb-low"
like "$(cat "$T/.err")" "exported to $T/stick/spool" "it says what it did"
is "$(ls "$T/stick/spool" | tr '\n' ' ')" \
    "low-high-0000000001.batch low-high-0000000001.batch.minisig " \
    "low's batch is on the stick, in spool/"
is "$(stat -c %U "$T/stick/spool")" $u "the folder on the stick is the user's"
is "$(ls "$R/out")" "" "and out/ is empty (in archive/sent/)"
ok "spool-usb on high (import only)" usb "$T/usb-high"
is "$(ls "$T/high/import" | tr '\n' ' ')" \
    "low-high-0000000001.batch low-high-0000000001.batch.minisig " \
    "the batch is in high's import/"
ok "high verifies it" "$SPOOLCTL" --root "$T/high" verify "$T/high/import/low-high-0000000001.batch"
printf 'SPOOL_ROOT=%s\nSPOOL_USB_MODE=sideways\n' "$T/high" > "$T/usb-bad"
fails 1 "a bad SPOOL_USB_MODE is refused" usb "$T/usb-bad"
fails 2 "no device: usage" sh "$USB"

# the udev rule: a labelled USB file system asks systemd for the unit
# template that runs the helper on that device
RULE="$SPOOL_TOP/contrib/90-spool-usb.rules"
like "$(grep -v '^#' "$RULE")" '^ACTION=="add", SUBSYSTEM=="block", ENV\{ID_BUS\}=="usb", .*ENV\{ID_FS_LABEL\}=="SPOOL", TAG\+="systemd", ENV\{SYSTEMD_WANTS\}\+="spool-usb@%k\.service"$' \
    "the udev rule matches a USB file system labelled SPOOL and wants spool-usb@%k.service"
is "$(sed -n 's/^ExecStart=//p; s/^BindsTo=//p' "$SPOOL_TOP/contrib/spool-usb@.service" | tr '\n' ' ')" \
    "dev-%i.device /usr/local/sbin/spool-usb /dev/%I " \
    "spool-usb@.service runs the helper on that device, and stops with it"

# the example configurations of a two-network installation
ok "contrib/examples/low.conf passes config check" \
    "$SPOOLCTL" config check "$SPOOL_TOP/contrib/examples/low.conf"
ok "contrib/examples/high.conf too" \
    "$SPOOLCTL" config check "$SPOOL_TOP/contrib/examples/high.conf"
