#!/bin/sh
# spoolctl's store commands - requests, show, lineage, batches, jobs,
# retry, cancel - over what spoolsim makes two nodes' stores hold (until
# spoold does it for real): f1 and f2 carried low -> high in ONE batch,
# processed, their results carried back, high's lineage merged into low.
# The whole suite runs twice: on SQLite, then with both nodes on
# PostgreSQL (a throwaway cluster; a missing server is a failure).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
SIM="$SPOOL_BUILD/spoolsim"
SUITE=120
plan $((1 + 2 * SUITE))

me=$(id -un)
TIME_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3})?Z$'

# j FILTER: jq -r FILTER over the last command's output
j() { jq -r "$@" "$T/.out" 2>&1; }
# refs DIR: every entity on the DIR (ancestors|descendants) edges
refs() { jq -r "[.$1[] | .from, .to] | unique | .[]" "$T/.out" 2>&1; }
# has LIST REF / hasnt LIST REF: REF is (not) a line of LIST
has() { printf '%s\n' "$1" | grep -qxF -- "$2"; }
hasnt() { ! has "$@"; }
# errline: the last command's stderr, when it is one line
errline() { [ "$(wc -l < "$T/.err")" -eq 1 ] && cat "$T/.err"; }
# check DESC SHELL-TEXT: a test of conditions on earlier output (ok
# would overwrite $T/.out)
check() {
	_d=$1
	if eval "$2"; then _report 0 "$_d"; else _report 1 "$_d"; diag "false: $2"; fi
}

suite() {
	b=$1 url_low=${2:-} url_high=${3:-}
	W="$T/$b"
	mkdir -p "$W"
	low="$W/low" high="$W/high"
	ctl_low() { "$SPOOLCTL" --root "$low" "$@"; }
	ctl_high() { "$SPOOLCTL" --root "$high" "$@"; }

	"$SPOOLCTL" init --root "$low" --name low --peer high > /dev/null &&
	"$SPOOLCTL" init --root "$high" --name high --peer low > /dev/null
	if [ -n "$url_low" ]; then
		sed -i "s|^#url = postgresql.*|url = $url_low|" "$low/spoold.conf"
		sed -i "s|^#url = postgresql.*|url = $url_high|" "$high/spoold.conf"
	fi
	printf 'first report\n' > "$W/f1.txt"
	printf 'second report, longer\n' > "$W/f2.txt"

	# ---- the simulation
	ok "[$b] spoolsim carries f1 and f2 low -> high -> low" \
		"$SIM" chain --low "$low/spoold.conf" --high "$high/spoold.conf" \
		"$W/f1.txt" "$W/f2.txt"
	. "$T/.out"
	if [ -n "$url_low" ]; then
		is "$(psql -XAt -d low -c 'select count(*) from request' 2>&1)$(
		    [ -e "$low/lineage.db" ] && echo ' and sqlite')" 2 \
			"[$b] the requests are in PostgreSQL, not SQLite"
	else
		check "[$b] the requests are in SQLite" '[ -s "$low/lineage.db" ]'
	fi
	is "$(ctl_low config check 2>&1 | tail -n 1)" "$low/spoold.conf: ok" \
		"[$b] the node's store url is valid configuration"

	# ---- requests
	ok "[$b] requests --json" ctl_low requests --json
	is "$(j '.requests | length')" 2 "[$b] low lists two requests"
	is "$(j --arg id "$req_1" '.requests[] | select(.id == $id) |
		[.type, .state, .name, .folder, .user, .side, .peer] | join(" ")')" \
		"transfer completed f1.txt files $me submit high" \
		"[$b] f1's request: id type state name folder user"
	is "$(j --arg id "$req_2" '.requests[] | select(.id == $id) | .name')" \
		f2.txt "[$b] f2's request"
	like "$(j '.requests[0].created')" "$TIME_RE" "[$b] times are RFC 3339 UTC"
	ok "[$b] requests --json on high" ctl_high requests --json
	is "$(j '[.requests[] | .id + " " + .state + " " + .side] | sort | join(",")')" \
		"$(printf '%s succeeded process\n%s succeeded process\n' "$req_1" "$req_2" | LC_ALL=C sort | paste -sd,)" \
		"[$b] high processed the same request ids"
	ok "[$b] requests --state completed" ctl_low requests --state completed --json
	is "$(j '.requests | length')" 2 "[$b] both completed"
	ok "[$b] requests --state accepted" ctl_low requests --state accepted --json
	is "$(j '.requests | length')" 0 "[$b] none still accepted"
	ok "[$b] requests (human)" ctl_low requests
	like "$(cat "$T/.out")" "^$req_1 +submit +high +transfer +completed +files +$me +[0-9T:-]+Z +f1.txt\$" \
		"[$b] requests prints aligned columns, ids in full"
	like "$(head -n 1 "$T/.out")" "^ID +SIDE +PEER +TYPE +STATE +FOLDER +USER +UPDATED +NAME\$" \
		"[$b] under a header"
	fails 2 "[$b] requests --state bogus is a usage error" ctl_low requests --state bogus

	# ---- show
	ok "[$b] show a request" ctl_low show "$req_1"
	is "$(sed -n '/^history:/,$p' "$T/.out" | awk 'NR > 1 { print $2 }' | paste -sd' ')" \
		"accepted batched exported acknowledged completed" \
		"[$b] with its history in order"
	like "$(cat "$T/.out")" "^  job +none on this node" "[$b] no job on the submitting node"
	ok "[$b] show --json a request on high" ctl_high show "$req_1" --json
	is "$(j '[.kind, .request.state, ([.history[].state] | join(" "))] | join("|")')" \
		"request|succeeded|imported queued running succeeded" \
		"[$b] the processing side's history"
	is "$(j '[.job.id, .job.state, ([.job.stages[].name] | join(" "))] | join("|")')" \
		"$job_1|succeeded|validate process" "[$b] a request shows its job and stages"
	is "$(j '.job.stages[1].tasks[0] | [.id, .result.output] | join(" ")')" \
		"$task_1_1 $out_1" "[$b] and the tasks with their results"
	ok "[$b] show a job" ctl_high show "$job_1"
	is "$(grep -E '^stage|^  0 ' "$T/.out" | awk '{ print $1 $2 $3 }' | paste -sd' ')" \
		"stage0validate: 0${task_1_0}done stage1process: 0${task_1_1}done" \
		"[$b] stages in order, each with its tasks"
	like "$(cat "$T/.out")" "result: +\\{\"output\":\"$out_1\"" "[$b] with results"
	ok "[$b] show --json a job" ctl_high show "$job_1" --json
	is "$(j '[.job.history[].event] | join(" ")')" "claimed completed claimed completed" \
		"[$b] a job's history is its tasks' events"
	ok "[$b] show --json a task" ctl_high show "$task_1_1" --json
	is "$(j '[.kind, .task.job, .task.state, .task.result.output, ([.task.history[].event] | join(" "))] | join("|")')" \
		"task|$job_1|done|$out_1|claimed completed" "[$b] a task, its result and history"
	ok "[$b] show a batch" ctl_low show "$batch"
	is "$(sed -n '/^history:/,/^carried:/p' "$T/.out" | awk 'NR > 1 && $2 != "" { print $2 }' | paste -sd' ')" \
		"planned written exported acknowledged" "[$b] a sent batch's history"
	is "$(sed -n '/^carried:/,$p' "$T/.out" | grep -c -e "request:$req_1 *\"f1.txt\"" -e "request:$req_2 *\"f2.txt\"")" \
		2 "[$b] and both files' requests it carried"
	ok "[$b] show --json a received batch" ctl_high show "$batch" --json
	is "$(j '[.batch.dir, .batch.state, .batch.seq, ([.batch.history[].state] | join(" ")), ([.batch.carried[].name] | sort | join(" "))] | join("|")')" \
		"in|received|1|received|f1.txt f2.txt" "[$b] received, with what it carried"
	ok "[$b] show takes a unique prefix" ctl_low show "${req_1%????????}"
	ok "[$b] show takes KIND:ID as lineage prints it" ctl_high show "job:$job_1"
	fails 1 "[$b] of that kind only" ctl_high show "request:$job_1"
	fails 1 "[$b] show of an unknown id fails" ctl_low show 00000000-0000-7000-8000-000000000000
	like "$(errline)" "^spoolctl: show: no request, job, task or batch '00000000-" "[$b] with one line naming it"
	fails 2 "[$b] show of a short prefix is a usage error" ctl_low show 01a2

	# ---- batches
	ok "[$b] batches --json" ctl_low batches --json
	is "$(j '.batches[] | select(.dir == "out") | [.id, .peer, .seq, .state, .items] | join(" ")')" \
		"$batch high 1 acknowledged 2" "[$b] the one batch sent, with both files"
	is "$(j '.batches[] | select(.dir == "in") | [.id, .peer, .seq, .state] | join(" ")')" \
		"$result_batch high $result_seq received" "[$b] the result batch received"
	is "$(j -c '.gaps')" '{"high":[]}' "[$b] no gaps yet"
	ok "[$b] a batch from high is lost" \
		"$SIM" lost --low "$low/spoold.conf" --high "$high/spoold.conf"
	. "$T/.out"
	ok "[$b] batches --json" ctl_low batches --json
	is "$(j -c '[.gaps.high, .peers.high.missing, .peers.high.received_high]')" \
		"[[$lost_seq],[$lost_seq],$heartbeat_seq]" "[$b] the gap is listed per peer"
	ok "[$b] batches (human)" ctl_low batches
	like "$(cat "$T/.out")" "^  missing from high: $lost_seq\$" "[$b] and named for people"
	like "$(sed -n '/^sent:/,/^received:/p' "$T/.out")" "^  high +1 +acknowledged +2 +[0-9]+ +[0-9T:-]+Z +$batch +low-high-0000000001.batch\$" \
		"[$b] sent batches in aligned columns"
	ok "[$b] batches on high" ctl_high batches
	like "$(cat "$T/.out")" "^  nothing missing from low\$" "[$b] high misses nothing"

	# ---- jobs
	ok "[$b] jobs --json" ctl_high jobs --json
	is "$(j '[.jobs[] | [.id, .request, .state, .tasks, .tasks_done] | join(" ")] | sort | join(",")')" \
		"$(printf '%s %s succeeded 2 2\n%s %s succeeded 2 2\n' "$job_1" "$req_1" "$job_2" "$req_2" | LC_ALL=C sort | paste -sd,)" \
		"[$b] a job per request, all done"
	ok "[$b] jobs (human)" ctl_high jobs
	like "$(cat "$T/.out")" "^$job_1 +transfer +succeeded +2/2 +2/2 +$req_1 +[0-9T:-]+Z\$" \
		"[$b] jobs in aligned columns"
	ok "[$b] no jobs on low" ctl_low jobs --json
	is "$(j -c '.jobs')" "[]" "[$b] an empty list"
	fails 2 "[$b] jobs --state bogus is a usage error" ctl_high jobs --state bogus

	# ---- retry and cancel
	"$SIM" job --node "$high/spoold.conf" --fail > "$W/failed" || diag "spoolsim job failed"
	fjob=$(sed -n 's/^job=//p' "$W/failed")
	freq=$(sed -n 's/^request=//p' "$W/failed")
	ftask=$(sed -n 's/^task=//p' "$W/failed")
	ok "[$b] jobs --state failed" ctl_high jobs --state failed --json
	is "$(j '.jobs[] | .id + " " + .error')" "$fjob stage 0 task 0: simulated failure" \
		"[$b] the failed job with its error"
	ok "[$b] retry a failed job by its task id" ctl_high retry "$ftask"
	ok "[$b] show it" ctl_high show "$fjob" --json
	is "$(j '.job.state + " " + .job.stages[0].tasks[0].state')" "running queued" \
		"[$b] it runs again"
	ok "[$b] show its request" ctl_high show "$freq" --json
	is "$(j '.request.state + " " + ([.history[].state] | join(" "))')" \
		"queued imported queued running failed queued" "[$b] and its request is queued again"
	"$SIM" job --node "$high/spoold.conf" > "$W/queued" || diag "spoolsim job failed"
	qjob=$(sed -n 's/^job=//p' "$W/queued")
	qreq=$(sed -n 's/^request=//p' "$W/queued")
	ok "[$b] cancel a job by a prefix of its request id" ctl_high cancel "${qreq%??????}"
	ok "[$b] show it" ctl_high show "$qjob" --json
	is "$(j '.job.state + " " + .job.error')" "cancelled cancelled by the operator" \
		"[$b] it is cancelled"
	fails 1 "[$b] cancelling it again fails" ctl_high cancel "$qjob"
	like "$(errline)" "^spoolctl: cancel: job $qjob is cancelled: only a running job can be cancelled" "[$b] saying why, on one line"
	fails 1 "[$b] cancel of a finished job fails" ctl_high cancel "$job_1"
	like "$(errline)" "^spoolctl: cancel: job $job_1 is succeeded: only a running job can be cancelled" "[$b] saying it has finished"
	fails 1 "[$b] retry of a succeeded job fails" ctl_high retry "$job_1"
	like "$(errline)" "^spoolctl: retry: job $job_1 is succeeded: only a failed, cancelled or expired job can be retried" "[$b] saying why"
	fails 1 "[$b] cancel of an unknown id fails" ctl_high cancel 00000000-0000-7000-8000-000000000000
	like "$(errline)" "^spoolctl: cancel: no job, task or request" "[$b] with one line"

	# ---- lineage, on low, where both nodes' lineage now is
	ok "[$b] lineage of f1 by PATH" ctl_low lineage "$W/f1.txt" --json
	is "$(j '.ref')" "file:$hash_1" "[$b] a path names the file by content"
	down=$(refs descendants)
	check "[$b] f1 became its request, job, task, output, delivered file" '
		has "$down" "request:$req_1" && has "$down" "job:$job_1" &&
		has "$down" "task:$task_1_1" && has "$down" "output:$out_1" &&
		has "$down" "file:$outhash_1"'
	check "[$b] and nothing of f2, though they shared a batch" '
		hasnt "$down" "request:$req_2" && hasnt "$down" "output:$out_2" &&
		hasnt "$down" "job:$job_2" && hasnt "$down" "file:$outhash_2" &&
		hasnt "$down" "file:$hash_2"'
	is "$(j '.ancestors | length')" 0 "[$b] f1 has no ancestors"
	by_path=$(j -c '.descendants')
	is "$(j '[.descendants[].node] | unique | join(" ")')" "high low" \
		"[$b] its descendants span both nodes"
	ok "[$b] lineage of f1 by HASH" ctl_low lineage "$hash_1" --json
	is "$(j -r '.ref') $(j -c '.descendants')" "file:$hash_1 $by_path" \
		"[$b] the same answer"
	ok "[$b] lineage of a request id" ctl_low lineage "$req_1" --json
	up=$(refs ancestors) down=$(refs descendants)
	check "[$b] up: the file and the batch it came in" '
		has "$up" "file:$hash_1" && has "$up" "batch:$batch" &&
		hasnt "$up" "request:$req_2"'
	check "[$b] down: its job and output only" '
		has "$down" "job:$job_1" && has "$down" "output:$out_1" &&
		hasnt "$down" "output:$out_2" && hasnt "$down" "request:$req_2"'
	ok "[$b] lineage of a job id" ctl_low lineage "$job_1" --json
	up=$(refs ancestors) down=$(refs descendants)
	check "[$b] up to the request and file, down to the delivered copy" '
		has "$up" "request:$req_1" && has "$up" "file:$hash_1" &&
		has "$down" "task:$task_1_1" && has "$down" "file:$outhash_1" &&
		hasnt "$down" "output:$out_2"'
	ok "[$b] lineage of an output id" ctl_low lineage "$out_1" --json
	up=$(refs ancestors) down=$(refs descendants)
	check "[$b] up through task, job, request to f1; down to the delivery" '
		has "$up" "task:$task_1_1" && has "$up" "job:$job_1" &&
		has "$up" "request:$req_1" && has "$up" "file:$hash_1" &&
		has "$up" "batch:$result_batch" && hasnt "$up" "request:$req_2" &&
		has "$down" "file:$outhash_1"'
	ok "[$b] lineage of the delivered copy by PATH" ctl_low lineage "$delivered_1" --json
	is "$(j '.ref')" "file:$outhash_1" "[$b] found by content"
	up=$(refs ancestors)
	check "[$b] goes back across both nodes to f1" '
		has "$up" "file:$hash_1" && has "$up" "output:$out_1" &&
		hasnt "$up" "file:$hash_2"'
	ok "[$b] lineage of the shared batch" ctl_low lineage "$batch" --json
	up=$(refs ancestors) down=$(refs descendants)
	check "[$b] starting at the batch shows both files" '
		has "$up" "file:$hash_1" && has "$up" "file:$hash_2" &&
		has "$down" "output:$out_1" && has "$down" "output:$out_2"'
	ok "[$b] lineage --up" ctl_low lineage "$req_1" --up --json
	is "$(j '[has("ancestors"), has("descendants")] | map(tostring) | join(" ")')" \
		"true false" "[$b] only ancestors"
	ok "[$b] lineage (human)" ctl_low lineage "$W/f1.txt"
	like "$(cat "$T/.out")" "^\\|-- received -> request:$req_1 \"f1.txt\" \\[to high, folder [^],]+, user $me\\]  \\(node low, user $me, [0-9T:-]+Z\\)\$" \
		"[$b] each edge: event, entity (a request with its folder and user), node, user, time"
	like "$(cat "$T/.out")" "derived -> output:$out_1 \"f1.txt.out\"  \\(node high, .*\\) \\(see above\\)\$" \
		"[$b] a repeated entity is printed once, then referred to"
	check "[$b] f2 is not in f1's lineage" '! grep -q -e "$req_2" -e "f2.txt" "$T/.out"'
	ok "[$b] lineage of the output (human)" ctl_low lineage "$out_1"
	like "$(cat "$T/.out")" "imported <- batch:$result_batch \"high-low-[0-9]{10}.batch\"  \\(node low, user $me, [0-9T:-]+Z, batch batch:$result_batch\\)" \
		"[$b] an edge names the batch that carried it"
	ok "[$b] lineage --dot" ctl_low lineage "$req_1" --dot
	is "$(head -n 1 "$T/.out") $(tail -n 1 "$T/.out")" "digraph lineage { }" "[$b] is a digraph"
	check "[$b] with the expected edges" '
		grep -qxF "	\"file:$hash_1\" -> \"request:$req_1\" [label=\"received\"];" "$T/.out" &&
		grep -qxF "	\"request:$req_1\" -> \"job:$job_1\" [label=\"started\"];" "$T/.out" &&
		grep -qxF "	\"request:$req_1\" -> \"batch:$batch\" [label=\"batched\"];" "$T/.out" &&
		grep -qF "	\"request:$req_1\" [label=\"request\\nf1.txt\"" "$T/.out" &&
		! grep -q "$req_2" "$T/.out"'
	fails 2 "[$b] --dot with --json is a usage error" ctl_low lineage "$req_1" --dot --json

	# ---- a cycle ends
	"$SIM" cycle --node "$low/spoold.conf" > "$W/cycle" || diag "spoolsim cycle failed"
	. "$W/cycle"
	ok "[$b] lineage of a cycle ends" timeout 30 "$SPOOLCTL" --root "$low" lineage "$cyc_job"
	is "$(grep -c '(see above)$' "$T/.out")" 2 "[$b] going round once each way"
	ok "[$b] lineage --json of a cycle" timeout 30 "$SPOOLCTL" --root "$low" lineage "$cyc_req" --json
	is "$(j '[(.ancestors | length), (.descendants | length)] | map(tostring) | join(" ")')" \
		"3 3" "[$b] three edges each way"

	# ---- not found
	fails 1 "[$b] lineage of an unknown id fails" ctl_low lineage 00000000-0000-7000-8000-000000000000
	like "$(errline)" "^spoolctl: lineage: '00000000-0000-7000-8000-000000000000' is not an id, hash or file in the lineage" "[$b] with one line"
	fails 1 "[$b] lineage of an unknown hash fails" ctl_low lineage "$(printf '%064d' 0)"
	like "$(errline)" "^spoolctl: lineage: no file with hash" "[$b] with one line"
}

ok "a throwaway PostgreSQL cluster starts" pg_start
suite sqlite
createdb low > /dev/null 2>&1 || diag "createdb low failed"
createdb high > /dev/null 2>&1 || diag "createdb high failed"
suite postgresql "postgresql://spool@/low?host=${PGHOST:-/nonexistent}" \
	"postgresql://spool@/high?host=${PGHOST:-/nonexistent}"
